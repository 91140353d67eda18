"""`efficacy plan`: the planning report files, JSON on stdout, one-line input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from efficacy.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "sample_data" / "scenarios" / "elasticity_12wk.toml"


def test_plan_writes_html_json_svg_and_prints_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["plan", str(SCENARIO), "--trials", "3", "--seed", "11", "--out", str(tmp_path)]
    assert main([*argv, "--format", "json"]) == 0
    out = capsys.readouterr()
    assert out.err == ""  # piped: no progress bar
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "plan.html",
        "plan.json",
        "power_curve.svg",
    ]
    doc = json.loads((tmp_path / "plan.json").read_text())
    assert out.out == (tmp_path / "plan.json").read_text()
    assert doc["seed"] == 11 and doc["inputs"]["n_trials"] == 3
    assert doc["inputs"]["scenario"]["n_per_arm"] == {"VEHICLE": 40, "ACTIVE": 40}
    assert [p["n_per_arm"] for p in doc["curve"]["points"]] == [20, 30, 40, 50, 60]
    assert {r["population"] for r in doc["power"]["power"]} == {"itt", "per_protocol"}
    assert {"python", "efficacy", "numpy", "scipy"} <= set(doc["versions"])
    # the formula's power rises with n
    analytic = [p["analytic_power"] for p in doc["curve"]["points"]]
    assert analytic == sorted(analytic) and 0.5 < analytic[2] < 0.95
    page = (tmp_path / "plan.html").read_text()
    assert "<svg" in page and "Power at the scenario" in page
    assert (tmp_path / "power_curve.svg").read_text().lstrip().startswith("<?xml")


def test_plan_bad_scenario_is_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.read_text().replace("sd = 0.03", "sd = 'small'"))
    assert main(["plan", str(bad), "--trials", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "endpoints.cutometer_r2.sd = 'small': give a number" in err
    assert not (tmp_path / "o" / "plan.json").exists()
