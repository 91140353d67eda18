"""The `efficacy score` command (efficacy.cli.score), run in-process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from efficacy.cli import COMMANDS, build_parser, main
from efficacy.cli.score import HELP, run_score
from efficacy.instruments import DERIVED_COLUMNS
from efficacy.instruments._pro_common import PRO_COLUMNS

ROOT = Path(__file__).parents[2]
TABLE = ROOT / "tests" / "reference" / "faceq" / "synthetic_linear_conversion.csv"

MANIFEST = """\
[trial]
id = "T-SCORE"
title = "score command test"
design = "parallel"
baseline_visit = "W0"

[[arms]]
id = "A"
label = "active"
control = false

[[arms]]
id = "V"
label = "vehicle"
control = true

[[visits]]
id = "W0"
week = 0
day = 0
window_days = 0

[[visits]]
id = "W12"
week = 12
day = 84
window_days = 7

[tables]
subjects = "subjects.csv"
measurements = "measurements.csv"
pro_responses = "pro_responses.csv"
"""

SUBJECTS = """\
subject_id,arm,randomized,itt,disposition
S1,A,true,true,completed
S2,V,true,true,completed
"""

MEAS = """\
subject_id,visit,day,endpoint,value,unit,body_site,device,device_settings
S1,W0,0,corneometer,50,a.u.,left_cheek,Corneometer CM 825,readings=3
S1,W12,84,corneometer,60,a.u.,left_cheek,Corneometer CM 825,readings=3
S2,W0,0,corneometer,40,a.u.,left_cheek,Corneometer CM 825,readings=3
S2,W12,85,corneometer,41,a.u.,left_cheek,Corneometer CM 825,readings=3
S1,W0,0,cutometer_r2,0.70,ratio,left_cheek,Cutometer,{p1}
S1,W12,84,cutometer_r2,0.77,ratio,left_cheek,Cutometer,{p2}
"""


def _pro() -> str:
    lines = ["subject_id,visit,day,instrument,scale,item,response"]
    for sid, visit, day, r in (("S1", "W0", 0, 2), ("S1", "W12", 84, 4)):
        lines += [f"{sid},{visit},{day},skindex16,x,{i},{r}" for i in range(1, 17)]
        lines += [
            f"{sid},{visit},{day},faceq,satisfaction_facial_appearance,{i},{r}"
            for i in range(1, 11)
        ]
    return "\n".join(lines) + "\n"


def _bundle(tmp_path: Path, p1: str = "probe=2mm", p2: str = "probe=2mm") -> Path:
    b = tmp_path / "bundle"
    b.mkdir()
    (b / "trial.toml").write_text(MANIFEST)
    (b / "subjects.csv").write_text(SUBJECTS)
    (b / "measurements.csv").write_text(MEAS.format(p1=p1, p2=p2))
    (b / "pro_responses.csv").write_text(_pro())
    return b


def test_csv_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores"
    code = main(
        [
            "score",
            str(_bundle(tmp_path)),
            "--out",
            str(out),
            "--faceq-table",
            str(TABLE),
            "--responder",
            "corneometer:percent:10",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["endpoints.csv", "pro_scores.csv"]
    pro = pd.read_csv(out / "pro_scores.csv")
    ends = pd.read_csv(out / "endpoints.csv")
    assert list(pro.columns) == list(PRO_COLUMNS) and list(ends.columns) == list(DERIVED_COLUMNS)
    # FACE-Q all 4 at W12: raw 40 -> 100 on the synthetic table; all 2 at W0: raw 20 -> 33.3333
    faceq = pro[pro.instrument == "faceq"].set_index("visit")["score"]
    assert faceq.to_dict() == {"W0": 33.3333, "W12": 100.0}
    c = ends[(ends.endpoint == "corneometer") & (ends.visit == "W12")].set_index("subject_id")
    assert c.loc["S1", "change"] == 10.0 and bool(c.loc["S1", "responder"])  # +20%
    assert c.loc["S2", "percent_change"] == pytest.approx(2.5) and not bool(
        c.loc["S2", "responder"]
    )
    s = ends[(ends.endpoint == "skindex16_symptoms") & (ends.visit == "W12")].iloc[0]
    assert s.change == pytest.approx(100 * 4 / 6 - 100 * 2 / 6, rel=1e-12)
    assert capsys.readouterr().out.startswith("wrote 8 PRO scores and 14 endpoint rows to ")


def test_json_stdout_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(tmp_path)
    assert main(["score", str(bundle), "--format", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert set(doc) == {
        "trial_id",
        "options",
        "faceq_conversion",
        "warnings",
        "pro_scores",
        "endpoints",
    }
    assert doc["trial_id"] == "T-SCORE" and doc["faceq_conversion"] is None
    assert "raw sums" in doc["warnings"][0] and captured.err.startswith(
        "efficacy: warning: FACE-Q scales"
    )
    first = doc["endpoints"][0]
    assert first["change"] is None and first["responder"] is None  # baseline row: NaN/NA -> null
    w12 = next(r for r in doc["pro_scores"] if r["visit"] == "W12" and r["scale"] == "symptoms")
    assert w12["score"] == 100 * 4 / 6  # full float precision
    path = tmp_path / "out.json"
    assert main(["score", str(bundle), "--format", "json", "--out", str(path)]) == 0
    assert json.loads(path.read_text())["pro_scores"] == doc["pro_scores"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_invalid_table_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "table.csv"
    text = TABLE.read_text().replace("satisfaction_facial_appearance,25,50\n", "")
    bad.write_text(text)
    out = tmp_path / "scores"
    assert (
        main(["score", str(_bundle(tmp_path)), "--faceq-table", str(bad), "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err == (
        f"efficacy: error: {bad}: invalid FACE-Q conversion table, 1 problem: "
        "satisfaction_facial_appearance: raw sum 25 is missing (every raw sum 10-40 needs a "
        "rasch_score); add them from your user guide\n"
    )
    assert not out.exists()


def test_mixed_apertures_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(tmp_path, p2="probe=8mm")
    assert main(["score", str(bundle), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "efficacy: error: measurements: cutometer_r2 mixes probe apertures 2 mm "
        "(1 readings; rows 5) and 8 mm (1 readings; rows 6)"
    )
    assert err.count("\n") == 1


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["score", str(bundle), "--out", str(afile)]) == 2
    assert "is a file, not a folder; give a folder path" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["score", str(bundle), "--responder", "corneometer:mcid:3"]) == 2
    assert "kind='mcid' must be one of" in capsys.readouterr().err
    assert (
        main(["score", str(bundle), "--responder", "tewl:absolute:1", "--out", str(tmp_path / "o")])
        == 2
    )
    assert "responder rule endpoint 'tewl' has no values" in capsys.readouterr().err


def test_registered_in_the_one_cli() -> None:
    assert COMMANDS["score"].run is run_score and COMMANDS["score"].help == HELP


def test_subcommand_wiring() -> None:
    args = build_parser().parse_args(
        ["score", "b", "--cutometer-curves", "2,3,4", "--skindex-overall"]
    )
    assert args.command == "score" and args.cutometer_curves == (2, 3, 4)
    assert args.skindex_overall and args.format == "csv"


def test_sample_bundle_csv(tmp_path: Path) -> None:
    bundle = tmp_path / "parallel"
    shutil.copytree(ROOT / "sample_data" / "parallel_12wk", bundle)
    assert (
        main(["score", str(bundle), "--out", str(tmp_path / "s"), "--faceq-table", str(TABLE)]) == 0
    )
    ends = pd.read_csv(tmp_path / "s" / "endpoints.csv")
    assert len(ends) == 9860 + len(pd.read_csv(tmp_path / "s" / "pro_scores.csv"))
