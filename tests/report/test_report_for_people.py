"""Issue 12, small report items: inputs hashed, FACE-Q baseline, checklist vs verdict,
wording for people, ``efficacy report --force``, progress hooks, summaries."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from efficacy.analysis import AnalysisResult, analyze
from efficacy.cli import main
from efficacy.cli.report import add_arguments
from efficacy.protocol import load_protocol
from efficacy.report.sections import verdict
from efficacy.sim import simulate_parallel, write_bundle
from efficacy.validation import validate

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
PARALLEL = SAMPLES / "parallel_12wk"
MISSING = ["1b", "6", "7", "8", "10", "12a", "12b", "16a", "16b", "19", "23b", "24a", "24b"]
MISSING += ["29", "30"]
PARTIAL = ["9", "11", "13", "15", "21d", "23a"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_input_file_is_listed_with_its_sha256(samples) -> None:
    inputs = samples.report("parallel_12wk").data["title_block"]["inputs"]
    expected = [
        ("manifest", "Manifest (trial.toml)", "trial.toml"),
        ("adverse_events", "Adverse events table", "adverse_events.csv"),
        ("deviations", "Protocol deviations table", "deviations.csv"),
        ("measurements", "Measurements table", "measurements.csv"),
        ("pro_responses", "PRO responses table", "pro_responses.csv"),
        ("subjects", "Subjects table", "subjects.csv"),
        ("faceq_conversion", "FACE-Q conversion table", "faceq_conversion_SYNTHETIC.csv"),
    ]
    assert inputs == [
        {"role": r, "label": label, "file": f, "sha256": _sha(PARALLEL / f)}
        for r, label, f in expected
    ]
    html = samples.html("parallel_12wk")
    table = html[html.index("Input files (SHA-256)") : html.index('<h2 id="s2">')]
    sha = _sha(PARALLEL / "faceq_conversion_SYNTHETIC.csv")
    assert "<td>FACE-Q conversion table</td><td>faceq_conversion_SYNTHETIC.csv</td>" in table
    assert sha in table


def test_section5_shows_faceq_baseline_from_the_conversion_table(samples) -> None:
    # the independent computation: raw sums at W0 of the randomised, converted by the CSV
    subjects = pd.read_csv(PARALLEL / "subjects.csv")
    randomised = set(
        subjects.loc[subjects["randomized"].astype(str).str.lower() == "true", "subject_id"]
    )
    pro = pd.read_csv(PARALLEL / "pro_responses.csv")
    pro = pro[(pro["instrument"] == "faceq") & (pro["visit"] == "W0")]
    pro = pro[pro["subject_id"].isin(randomised) & (pro["scale"] == "psychological_function")]
    raw = pro.groupby("subject_id")["response"].sum()
    table = pd.read_csv(PARALLEL / "faceq_conversion_SYNTHETIC.csv")
    table = table[table["scale"] == "psychological_function"].set_index("raw_sum")
    rasch = raw.map(table["rasch_score"])
    report = samples.report("parallel_12wk")
    rows = report.data["baseline"]["tables"][0]["rows"]
    at = next(i for i, r in enumerate(rows) if r["label"].startswith("FACE-Q psychological"))
    assert rows[at]["label"] == "FACE-Q psychological function (Rasch 0-100, higher = better)"
    assert rows[at + 1]["cells"]["TOTAL"]["n"] == len(rasch) == 120
    assert rows[at + 2]["cells"]["TOTAL"]["mean"] == pytest.approx(rasch.mean(), abs=1e-6)
    assert report.data["baseline"]["notes"][0] == (
        "FACE-Q scale scores: raw sums converted to the Rasch 0-100 metric with the conversion "
        "table faceq_conversion_SYNTHETIC.csv (listed with its SHA-256 in section 1)."
    )


def test_verdict_lists_missing_checklist_items_and_what_it_covers(samples) -> None:
    report = samples.report("parallel_12wk")
    entries = report.data["checklist"]["entries"]
    gaps = report.data["verdict"]["checklist"]
    assert gaps == {"missing": MISSING, "partial": PARTIAL, "required": False}
    assert gaps["missing"] == [
        e["id"] for e in entries if e["checklist"] == "CONSORT 2025" and e["status"] == "missing"
    ]
    assert report.data["verdict"]["overall"] == "conforms"
    html = samples.html("parallel_12wk")
    assert (
        "CONSORT 2025 checklist (section 4): 15 item(s) missing (" + ", ".join(MISSING) + ") "
        "and 6 reported in part (" + ", ".join(PARTIAL) + "). The verdict covers the "
        "requirements of iso-efficacy-2025 listed above, not the completeness of the CONSORT "
        "checklist; a protocol can make completeness a requirement."
    ) in html


def _checklist_protocol(tmp_path: Path, allow_partial: bool) -> object:
    path = tmp_path / f"p{int(allow_partial)}.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n\n[protocol]\nid = "checklist-required"\n'
        'version = "1"\ntitle = "ISO plus a complete checklist"\n\n'
        "[requirements.CONSORT-CHECKLIST]\n"
        'title = "CONSORT checklist complete"\ntext = "Every CONSORT 2025 item is reported."\n'
        'check = "consort_checklist"\nseverity = "error"\nsource = "sponsor SOP"\n\n'
        "[requirements.CONSORT-CHECKLIST.parameters]\n"
        f"allow_partial = {str(allow_partial).lower()}\n",
        encoding="utf-8",
    )
    return load_protocol(path)


def test_a_protocol_can_require_a_complete_checklist(samples, tmp_path: Path) -> None:
    trial = samples.trial("parallel_12wk")
    checklist = samples.report("parallel_12wk").data["checklist"]
    strict = _checklist_protocol(tmp_path, allow_partial=False)
    report = validate(trial, strict)
    status = report.rules["CONSORT-CHECKLIST"]
    assert (status.status, status.reason) == (
        "not_applicable",
        "judged by the conformance report (efficacy report) on its CONSORT 2025 checklist, "
        "which needs the analysis results",
    )
    v = verdict(trial, strict, report, checklist)
    row = v["requirements"][-1]
    assert (row["id"], row["verdict"], row["n_findings"]) == ("CONSORT-CHECKLIST", "not met", 21)
    assert row["reason"] == (
        f"21 CONSORT 2025 item(s) not fully reported: {', '.join(MISSING + PARTIAL)}"
    )
    assert row["findings"][0] == (
        "item 1b (Title and structured abstract) missing: state in trial.toml, [consort] "
        "section: abstract"
    )
    assert v["overall"] == "does not conform" and v["checklist"]["required"] is True
    loose = verdict(trial, _checklist_protocol(tmp_path, True), report, checklist)
    assert loose["requirements"][-1]["reason"].startswith("15 CONSORT 2025 item(s)")


@pytest.mark.parametrize("name", ["parallel_12wk", "split_face_12wk"])
def test_no_python_names_or_ascii_units_in_sample_reports(samples, name: str) -> None:
    html = samples.html(name)
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    for bad in ("force=True", "delta_max_sd", '[consort.items] "', "paired_analysed"):
        assert bad not in text, bad
    assert not re.search(r"\bum\b|\bmm3\b|g/m2/h", text)
    assert "µm" in text and "mm³" in text
    definitions = text[text.index("Definitions") : text.index("4. CONSORT 2025 checklist")]
    split = name == "split_face_12wk"
    assert ("split-face" in definitions) is split
    assert ("Paired analysed" in definitions) is split


def test_report_force_reaches_the_analysis(monkeypatch, tmp_path: Path, capsys) -> None:
    import efficacy.report.outcomes as outcomes

    calls: list[dict[str, object]] = []

    def fake(trial, protocol, validation=None, *, force=False, progress=None):
        calls.append({"force": force, "progress": progress})
        progress("fitting nothing")  # the CLI's hook is quiet when stderr is not a terminal
        return None

    monkeypatch.setattr(outcomes, "run_analysis", fake)
    bundle = str(SAMPLES / "flawed_consort")
    out = tmp_path / "r"
    args = ["report", bundle, "--out", str(out), "--format", "json", "--fail-on", "never"]
    assert main([*args, "--force"]) == 0
    assert [c["force"] for c in calls] == [True] and callable(calls[0]["progress"])
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([bundle, "--out", str(out)]).force is False
    captured = capsys.readouterr()
    assert captured.err == ""  # no spinner and no progress text when not a terminal
    assert captured.out.splitlines()[0] == f"json: {out / 'report.json'}"


def test_analysis_progress_hook_says_what_runs(tmp_path: Path) -> None:
    trial_dir = write_bundle(simulate_parallel(11, 8), tmp_path / "b")
    from efficacy import read_trial

    steps: list[str] = []

    class StopError(Exception):
        pass

    def hook(text: str) -> None:
        steps.append(text)
        if len(steps) == 3:
            raise StopError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(StopError):
            analyze(read_trial(trial_dir), progress=hook)
    assert steps == [
        "scoring the PROs and deriving the endpoints",
        "fitting cutometer_r2 (itt), model 1 of 26",
        "fitting corneometer (itt), model 2 of 26",
    ]


def test_summaries_and_notebook_views(samples) -> None:
    trial = samples.trial("parallel_12wk")
    lines = trial.summary().splitlines()
    assert lines[0].startswith("Trial SIM-PARALLEL-12W: Simulated randomised")
    assert lines[3] == (
        "  visits          W0 baseline (day 0), W2 (day 14), W4 (day 28), W8 (day 56), "
        "W12 final (day 84)"
    )
    assert lines[4] == "  participants    150 listed, 120 randomised"
    assert lines[6] == "  measurements    9860 rows (measurements.csv)"
    assert repr(trial) == (
        "<Trial SIM-PARALLEL-12W: parallel, 150 subjects, 9860 measurements, "
        "12492 pro_responses, 40 adverse_events>"
    )
    assert repr(samples.protocol) == (
        "<Protocol iso-efficacy-2025 1.0: ISO-DUR, ISO-ELAST, ISO-HYD, ISO-WRINKLE, "
        "ISO-FACEQ, ISO-SKINDEX, ISO-RCT; analysis plan>"
    )
    hostile = dataclasses.replace(
        trial, manifest=dataclasses.replace(trial.manifest, title="<script>&")
    )
    assert "&lt;script&gt;&amp;" in hostile._repr_html_() and "<script>" not in (
        hostile._repr_html_()
    )
    protocol = samples.protocol
    assert protocol.summary().splitlines()[-2:] == [
        "  primary endpoint  cutometer_r2",
        "  key secondary     corneometer, wrinkle_rz, faceq_satisfaction_facial_appearance",
    ]
    assert protocol._repr_html_().count("<tr>") == len(protocol.summary().splitlines()) - 1
    report = samples.report("parallel_12wk")
    text = report.summary().splitlines()
    assert text[:2] == [
        "Conformance report SIM-PARALLEL-12W against iso-efficacy-2025 1.0",
        "  verdict                conforms",
    ]
    assert (
        "  primary, ITT           Cutometer R2 (gross elasticity, Ua/Uf) at W12: 0.05275 "
        "(0.04552 to 0.05999), p = 2.93e-27"
    ) in text
    assert "<b>Conformance report SIM-PARALLEL-12W" in report._repr_html_()
    result = samples.analysis("parallel_12wk")
    assert "<th>visit</th>" in result._repr_html_()
    assert " W12 ACTIVE vs VEHICLE: " in result.summary().splitlines()[1]


def test_forced_run_without_estimates_says_so() -> None:
    empty = AnalysisResult.not_analysed("T1", "p@1", "parallel", ("forced",))
    forced = dataclasses.replace(empty, status="analysed despite validation errors")
    assert forced.summary().splitlines()[0] == (
        "T1: no estimates (analysed despite validation errors) (p@1, parallel)"
    )
    assert "No estimates." in forced._repr_html_()
    assert "T1: no estimates" in forced._repr_html_()
