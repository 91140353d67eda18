"""PRO-006 and the bundle's FACE-Q conversion table ([tables] faceq_conversion).

The table in the sample bundles is the simulator's synthetic straight line (raw sum 10
-> 0, 40 -> 100 for a 10-item scale), never a licensed one (FACTS.md 6).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from efficacy.errors import InputError
from efficacy.instruments.pipeline import score_trial
from efficacy.io import read_trial
from efficacy.validation import validate

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "split_face_12wk"
TABLE = "faceq_conversion_SYNTHETIC.csv"


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "b"))


def _pro006(folder: Path):
    return _pro006_and_status(folder)[0]


def _pro006_and_status(folder: Path):
    """PRO-006's findings and its status, from one validation of the bundle read anew."""
    report = validate(read_trial(folder))
    frame = report.to_frame()
    return frame[frame["rule_id"] == "PRO-006"], report.rules["PRO-006"].status


def _set_table_line(folder: Path, line: str | None) -> None:
    toml = folder / "trial.toml"
    text = toml.read_text(encoding="utf-8").replace(f'faceq_conversion = "{TABLE}"\n', "")
    if line is not None:
        text = text.replace("[tables]\n", f"[tables]\n{line}\n")
    toml.write_text(text, encoding="utf-8")


def test_declared_valid_table_passes_and_scores_on_0_100(bundle: Path) -> None:
    assert _pro006(bundle).empty
    pro = score_trial(read_trial(bundle)).pro
    faceq = pro[pro["instrument"] == "faceq"]
    assert set(faceq["metric"]) == {"rasch_0_100"}
    # synthetic line: score = 100 * (raw - 10) / 30 for the 10-item scales
    row = faceq.dropna(subset=["raw_sum"]).iloc[0]
    assert row["score"] == pytest.approx(round(100 * (row["raw_sum"] - 10) / 30, 4), abs=1e-9)


def test_no_table_is_a_warning_naming_the_scales(bundle: Path) -> None:
    _set_table_line(bundle, None)
    found = _pro006(bundle)
    assert found["severity"].tolist() == ["warning"]
    assert found["value"].iloc[0] == "psychological_function, satisfaction_facial_appearance"
    assert "raw sums, not the validated Rasch 0-100 metric" in found["message"].iloc[0]


def test_invalid_table_lists_every_problem_as_errors(bundle: Path) -> None:
    path = bundle / TABLE
    lines = path.read_text(encoding="utf-8").splitlines()
    del lines[5]  # a missing raw sum (gap)
    lines[2] = lines[2].rsplit(",", 1)[0] + ",150"  # out of 0-100 and non-monotone
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = _pro006(bundle)
    assert set(found["severity"]) == {"error"}
    assert set(found["table"]) == {"faceq_conversion"}
    assert len(found) >= 2


def test_scale_missing_from_table_is_a_warning(bundle: Path) -> None:
    path = bundle / TABLE
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if not ln.startswith("psychological_function,")]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    found = _pro006(bundle)
    assert found["severity"].tolist() == ["warning"]
    assert found["value"].tolist() == ["psychological_function"]


def test_table_path_leaving_the_bundle_is_unusable_input(bundle: Path, tmp_path: Path) -> None:
    shutil.copy(bundle / TABLE, tmp_path / "outside.csv")
    _set_table_line(bundle, 'faceq_conversion = "../outside.csv"')
    with pytest.raises(InputError, match="leaves the bundle folder"):
        read_trial(bundle)


def test_missing_table_file_is_unusable_input(bundle: Path) -> None:
    (bundle / TABLE).unlink()
    with pytest.raises(InputError, match="not found"):
        read_trial(bundle)


def _status(folder: Path, trial=None) -> str:
    report = validate(trial if trial is not None else read_trial(folder))
    return report.rules["PRO-006"].status


@pytest.mark.parametrize("raw", ["inf", "-inf"])
def test_non_finite_raw_sum_is_an_error_finding_naming_the_row(bundle: Path, raw: str) -> None:
    """Was 'could_not_run: rule crashed: IntCastingNaNError' (and score crashed)."""
    path = bundle / TABLE
    lines = path.read_text(encoding="utf-8").splitlines()
    scale, _, score = lines[3].split(",")
    lines[3] = f"{scale},{raw},{score}"  # data row 3
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found, status = _pro006_and_status(bundle)
    assert found["message"].tolist()[0] == (
        f"{TABLE}: row 3: raw_sum '{raw}' is not a whole number; fix it"
    )
    assert set(found["severity"]) == {"error"}
    assert status == "failed"
    with pytest.raises(InputError, match=f"row 3: raw_sum '{raw}' is not a whole number"):
        score_trial(read_trial(bundle))


def test_unreadable_table_is_an_error_finding(bundle: Path) -> None:
    path = bundle / TABLE
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le"))
    found, status = _pro006_and_status(bundle)
    assert found["severity"].tolist() == ["error"]
    assert found["table"].tolist() == ["faceq_conversion"]
    assert found["message"].iloc[0] == (
        f"{path}: the file looks like UTF-16 text without a byte-order mark (NUL bytes "
        "between the letters); re-save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"
    )
    assert status == "failed"


def test_table_gone_after_reading_is_an_error_finding(bundle: Path) -> None:
    trial = read_trial(bundle)
    (bundle / TABLE).unlink()
    report = validate(trial)
    frame = report.to_frame()
    found = frame[frame["rule_id"] == "PRO-006"]
    assert found["severity"].tolist() == ["error"]
    assert found["message"].iloc[0] == (
        f"{bundle / TABLE}: no such file; give the FACE-Q conversion table CSV"
    )
    assert _status(bundle, trial) == "failed"


def test_non_finite_table_through_the_cli(bundle: Path, tmp_path: Path, capsys) -> None:
    """validate: exit 1 with the finding; score: exit 2, one line on stderr, no traceback."""
    from efficacy.cli import main

    path = bundle / TABLE
    lines = path.read_text(encoding="utf-8").splitlines()
    scale, _, score = lines[3].split(",")
    lines[3] = f"{scale},inf,{score}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["validate", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert f"{TABLE}: row 3: raw_sum 'inf' is not a whole number; fix it" in out
    assert "could_not_run" not in out and "crashed" not in out
    assert main(["score", str(bundle), "--out", str(tmp_path / "scores")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "row 3: raw_sum 'inf' is not a whole number" in err
