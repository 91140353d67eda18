"""read_trial + validate on small bundles written to tmp_path (CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from efficacy.io import read_trial
from efficacy.sim import simulate_parallel, simulate_split_face, write_bundle
from efficacy.validation import validate


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e") / "trial"
    write_bundle(simulate_parallel(7, 12), folder)
    return folder


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_clean_bundles_validate_clean(tmp_path: Path, fmt: str) -> None:
    for sim in (simulate_parallel(3, 12), simulate_split_face(3, 8)):
        folder = write_bundle(sim, tmp_path / f"{sim.manifest['trial']['design']}_{fmt}", fmt)
        report = validate(read_trial(folder))
        assert report.findings == (), report.summary()
        assert all(s.status in ("passed", "not_applicable") for s in report.rules.values())


def test_edited_csv_cell_is_found_at_its_file_row(bundle_dir: Path, tmp_path: Path) -> None:
    measurements = pd.read_csv(bundle_dir / "measurements.csv", dtype=str, keep_default_na=False)
    target = measurements.index[
        (measurements["endpoint"] == "corneometer") & (measurements["visit"] == "W4")
    ][0]
    measurements.loc[target, "value"] = "142"
    measurements.loc[target + 1, "unit"] = "furlong"
    folder = tmp_path / "edited"
    folder.mkdir()
    for f in bundle_dir.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    measurements.to_csv(folder / "measurements.csv", index=False)
    report = validate(read_trial(folder))
    found = {(f.rule_id, f.row, f.column) for f in report.findings}
    file_row = int(target) + 1  # 1-based data row: header not counted
    assert found == {("INT-006", file_row, "value"), ("SCH-006", file_row + 1, "unit")}
    f = next(f for f in report.findings if f.rule_id == "INT-006")
    assert f.subject_id == measurements.loc[target, "subject_id"]
    assert f.visit == "W4"
