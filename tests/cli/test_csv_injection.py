"""Issue 11: no CSV the package writes holds a cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from efficacy._tabular import FORMULA_TRIGGERS, neutralise, safe_frame, to_csv_bytes
from efficacy.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
HOSTILE_ID = '=HYPERLINK("http://x","y")'
HOSTILE_ARM = "@SUM(A1)"


def _hostile_bundle(tmp_path: Path) -> Path:
    """sample_data/parallel_12wk with S0001 -> HOSTILE_ID and arm ACTIVE -> HOSTILE_ARM."""
    bundle = tmp_path / "hostile"
    shutil.copytree(SAMPLES / "parallel_12wk", bundle)
    for name in ("subjects.csv", "measurements.csv", "pro_responses.csv", "adverse_events.csv"):
        path = bundle / name
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert (table["subject_id"] == "S0001").any(), name
        table["subject_id"] = table["subject_id"].replace("S0001", HOSTILE_ID)
        if "arm" in table:
            table["arm"] = table["arm"].replace("ACTIVE", HOSTILE_ARM)
        table.to_csv(path, index=False, lineterminator="\n")
    toml = bundle / "trial.toml"
    toml.write_text(toml.read_text().replace('id = "ACTIVE"', f'id = "{HOSTILE_ARM}"'))
    return bundle


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _assert_safe(folder: Path) -> list[str]:
    cells: list[str] = []
    for path in sorted(folder.glob("*.csv")):
        for cell in _cells(path):
            if cell.startswith(FORMULA_TRIGGERS):
                assert cell[0] in "+-" and _is_number(cell), (path.name, cell)
            cells.append(cell)
    return cells


def _plan(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = ["corneometer"]\n'
        'secondary = []\npopulations = ["itt"]\n[analysis.sensitivity]\nimputations = 2\n',
        encoding="utf-8",
    )
    return path


def test_score_and_analyze_write_no_formula(tmp_path: Path, capsys) -> None:
    bundle = _hostile_bundle(tmp_path)
    scores, tables = tmp_path / "scores", tmp_path / "tables"
    assert main(["score", str(bundle), "--out", str(scores)]) == 0
    argv = ["analyze", str(bundle), "--protocol", str(_plan(tmp_path)), "--format", "csv"]
    assert main([*argv, "--out", str(tables)]) == 0
    capsys.readouterr()
    assert main(argv) == 0  # the estimates table on standard output
    (tmp_path / "stdout").mkdir()
    (tmp_path / "stdout" / "estimates.csv").write_text(capsys.readouterr().out, encoding="utf-8")

    score_cells = _assert_safe(scores)
    assert f"'{HOSTILE_ID}" in score_cells and HOSTILE_ID not in score_cells
    for folder in (tables, tmp_path / "stdout"):
        cells = _assert_safe(folder)
        assert f"'{HOSTILE_ARM} vs VEHICLE" in cells
    # negative numbers stay numbers, in the score and the analysis tables alike
    ends = pd.read_csv(scores / "endpoints.csv")
    assert ends["change"].dtype == float and (ends["change"] < 0).any()
    est = pd.read_csv(tables / "estimates.csv")
    assert est["conf_low"].dtype == float
    lsm = pd.read_csv(tables / "lsmeans.csv")
    assert lsm.select_dtypes("number").lt(0).any().any()
    # the quote is the only change: read back, the id is the planted text after it
    pro = pd.read_csv(scores / "pro_scores.csv", dtype=str)
    assert set(pro["subject_id"].str.removeprefix("'")) >= {HOSTILE_ID, "S0002"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-x", "'-x"),
        ("@cmd", "'@cmd"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-1.5", "-1.5"),
        ("+2e3", "+2e3"),
        ("-inf", "-inf"),
        ("S-01", "S-01"),
        ("", ""),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_neutralise(value: object, expected: object) -> None:
    assert neutralise(value) == expected


def test_safe_frame_keeps_numbers_and_categories() -> None:
    frame = pd.DataFrame(
        {
            "=id": ["=A", "B"],
            "arm": pd.Categorical(["@x", "y"]),
            "value": [-1.5, 2.0],
            "n": [-3, 4],
            "flag": [True, False],
        }
    )
    out = safe_frame(frame)
    assert list(out.columns) == ["'=id", "arm", "value", "n", "flag"]
    assert list(out["'=id"]) == ["'=A", "B"] and list(out["arm"]) == ["'@x", "y"]
    assert out["value"].tolist() == [-1.5, 2.0] and out["n"].dtype == frame["n"].dtype
    assert list(frame["=id"]) == ["=A", "B"]  # the input is not modified
    assert to_csv_bytes(frame) == (
        b"'=id,arm,value,n,flag\n'=A,'@x,-1.5,-3,True\nB,y,2.0,4,False\n"
    )
