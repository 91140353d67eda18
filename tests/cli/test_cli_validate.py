from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from efficacy import __version__
from efficacy.cli import main
from efficacy.sim import simulate_parallel, write_bundle


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    clean = write_bundle(simulate_parallel(11, 8), root / "clean")
    out = {"clean": clean}
    for name, (column, value) in {
        "error": ("value", "142"),  # corneometer beyond the physical 130: INT-006 error
        "warning": ("value", "115"),  # beyond the plausible 110: INT-007 warning
    }.items():
        folder = root / name
        folder.mkdir()
        for f in clean.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        m = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
        row = m.index[(m["endpoint"] == "corneometer") & (m["visit"] == "W4")][0]
        m.loc[row, column] = value
        m.to_csv(folder / "measurements.csv", index=False)
        out[name] = folder
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_exit_0_on_clean_bundle_plain_text_when_piped(bundles, capsys) -> None:
    code, out, err = run(["validate", str(bundles["clean"])], capsys)
    assert code == 0
    assert out.splitlines()[0].endswith(": PASSED (0 errors, 0 warnings, 0 notices)")
    assert "\x1b" not in out  # no ANSI codes when not a terminal
    assert err == ""


def test_exit_1_on_error_and_fail_on(bundles, capsys) -> None:
    code, out, _ = run(["validate", str(bundles["error"])], capsys)
    assert code == 1
    assert "INT-006" in out and "FAILED (1 error" in out
    # a warning only fails with --fail-on warning
    assert run(["validate", str(bundles["warning"])], capsys)[0] == 0
    assert run(["validate", str(bundles["warning"]), "--fail-on", "warning"], capsys)[0] == 1


def test_json_shape(bundles, capsys) -> None:
    code, out, _ = run(["validate", str(bundles["error"]), "--format", "json"], capsys)
    assert code == 1
    data = json.loads(out)
    assert {"ok", "findings", "rules", "trial_id", "protocol", "counts"} <= set(data)
    assert data["ok"] is False
    assert data["protocol"] == {"id": "iso-efficacy-2025", "version": "1.0"}
    assert data["counts"] == {"error": 1, "warning": 0, "notice": 0}
    (finding,) = data["findings"]
    assert finding["rule_id"] == "INT-006" and isinstance(finding["row"], int)
    assert data["rules"]["INT-006"]["status"] == "failed"
    assert data["rules"]["DES-003"]["status"] == "not_applicable"


def test_protocol_option_tightens(bundles, capsys, tmp_path: Path) -> None:
    path = tmp_path / "p16.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[requirements.ISO-DUR.parameters]\nmin_weeks = 16\n'
    )
    code, out, _ = run(
        ["validate", str(bundles["clean"]), "--protocol", str(path), "--format", "json"], capsys
    )
    data = json.loads(out)
    assert code == 1
    assert [f["rule_id"] for f in data["findings"]] == ["ISO-DUR"]
    assert data["protocol"]["id"] == "p16"


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "does/not/exist"],
        ["validate", "BUNDLE", "--protocol", "no-such-protocol"],
        ["validate"],
        ["validate", "x", "--format", "yaml"],
        ["frobnicate"],
        [],
        ["validate", "BUNDLE", "--max-findings", "0"],
    ],
)
def test_exit_2_one_line_no_traceback(argv, bundles, capsys) -> None:
    argv = [str(bundles["clean"]) if a == "BUNDLE" else a for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("efficacy")
    assert "Traceback" not in err


def test_unusable_bundle_is_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "trial.toml").write_text("[trial\n")
    code, _, err = run(["validate", str(tmp_path)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "trial.toml" in err


def test_max_findings_caps_json(bundles, capsys) -> None:
    code, out, _ = run(
        ["validate", str(bundles["clean"]), "--format", "json", "--max-findings", "1"], capsys
    )
    assert code == 0
    assert json.loads(out)["max_findings_per_rule"] == 1


def test_version(capsys) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"efficacy {__version__}"


def test_protocols_list_and_show(capsys, tmp_path: Path) -> None:
    code, out, _ = run(["protocols", "list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "version", "requirements", "title"]
    assert [line.split()[0] for line in lines[1:]] == [
        "cn-nmpa-2021",
        "eu-655-2013",
        "iso-efficacy-2025",
        "kr-mfds",
        "us-fda",
    ]
    assert lines[3].startswith("iso-efficacy-2025  1.0")
    code, out, _ = run(["protocols", "list", "--format", "json"], capsys)
    entry = json.loads(out)[2]
    assert entry["id"] == "iso-efficacy-2025" and len(entry["requirements"]) == 7
    code, out, _ = run(["protocols", "show", "iso-efficacy-2025"], capsys)
    assert code == 0
    assert "ISO-DUR" in out and "min_weeks = 12" in out
    assert "pro_min_answered_fraction = 0.5" in out
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[requirements.ISO-DUR.parameters]\nmin_weeks = 16\n'
    )
    code, out, _ = run(["protocols", "show", str(path), "--format", "json"], capsys)
    data = json.loads(out)
    assert data["extends"] == "iso-efficacy-2025@1.0"
    assert data["requirements"][0]["parameters"]["min_weeks"] == 16
    code, _, err = run(["protocols", "show", "nope"], capsys)
    assert code == 2 and "nope" in err
    code, _, err = run(["protocols"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_protocols_list_from_another_folder(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped protocols are found from any folder
    result = cli("protocols", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert [p["id"] for p in json.loads(result.stdout)] == [
        "cn-nmpa-2021",
        "eu-655-2013",
        "iso-efficacy-2025",
        "kr-mfds",
        "us-fda",
    ]


def test_validate_exit_codes_from_another_folder(
    bundles, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # in-process (the `cli` fixture); the exit code of a real `python -m efficacy.cli`
    # process: tests/sim/test_sample_cli.py::test_console_exit_code_and_one_line_error
    monkeypatch.chdir(tmp_path)
    ok = cli("validate", str(bundles["clean"]))
    assert ok.returncode == 0, ok.stderr
    bad = cli("validate", "missing")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_protocols_show_lists_the_estimands(capsys, tmp_path: Path) -> None:
    code, out, _ = run(["protocols", "show", "iso-efficacy-2025"], capsys)
    assert code == 0
    at = out.index("[analysis] estimands (defaults: none declared)")
    rows = out[at:].splitlines()
    assert rows[1].split()[:3] == ["id", "variable", "visit"]
    assert rows[2].split() == [
        "primary", "cutometer_r2", "final", "itt", "every", "active", "arm",
        "discontinued_product:", "hypothetical",
        "difference", "in", "LS", "mean", "change", "from", "baseline",
    ]  # fmt: skip
    assert len(rows) == 2 + 4
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = []\n'
        '[[analysis.estimands]]\nid = "E1"\nvariableOfInterestId = "cutometer_r2"\n'
        '[[analysis.estimands.intercurrentEvents]]\nname = "rescue_treatment"\n'
        'strategy = "treatment_policy"\n'
    )
    code, out, _ = run(["protocols", "show", str(path), "--format", "json"], capsys)
    data = json.loads(out)
    assert [(e["id"], e["declared"]) for e in data["estimands"]] == [("E1", True)]
    assert data["analysis"]["estimands"][0]["intercurrentEvents"][0] == {
        "name": "rescue_treatment",
        "text": "values after the event are used as observed; missing values are modelled by "
        "the MMRM under missing at random (MAR), as is conventional",
        "strategy": "treatment_policy",
    }
