"""One CONSORT flow: the manifest reader, validation (CON-001) and the diagram agree.

Reproduces design-review-2026-12.md improvement 3: attest ``analysed = {ACTIVE = 60,
VEHICLE = 60}`` on the parallel sample bundle and give one ITT subject no post-baseline
data. Before, the reader raised SCH-001 ("must be a count"), all CON rules passed and the
diagram alone showed 60 != 59.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from efficacy.consort import consort_flow
from efficacy.io import read_trial
from efficacy.protocol import load_protocol
from efficacy.trial import Trial
from efficacy.validation import validate

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = load_protocol("iso-efficacy-2025")  # [analysis] primary = cutometer_r2
ATTESTED = """
allocated = {ACTIVE = 60, VEHICLE = 60}
lost_to_follow_up = {ACTIVE = 3, VEHICLE = 2}
discontinued = {ACTIVE = 5, VEHICLE = 0}
analysed = {ACTIVE = 60, VEHICLE = 60}

[consort.flow.excluded_reasons]
"not eligible" = 20
"declined to participate" = 10
"""


def _bundle(tmp_path: Path, flow_lines: str, drop_post_baseline_of: str | None) -> Path:
    """Copy parallel_12wk, append `flow_lines` to [consort.flow] (the last section)."""
    folder = tmp_path / "bundle"
    shutil.copytree(ROOT / "sample_data" / "parallel_12wk", folder)
    toml = folder / "trial.toml"
    text = toml.read_text(encoding="utf-8")
    assert text.rstrip().splitlines()[-1].startswith("randomised = ")  # [consort.flow] last
    toml.write_text(text.rstrip() + "\n" + flow_lines, encoding="utf-8")
    if drop_post_baseline_of is not None:
        path = folder / "measurements.csv"
        m = pd.read_csv(path, dtype=str, keep_default_na=False)
        keep = (m["subject_id"] != drop_post_baseline_of) | (m["visit"] == "W0")
        assert (~keep).sum() > 0
        m[keep].to_csv(path, index=False)
    return folder


def _first_completer(trial: Trial, arm: str) -> str:
    s = trial.subjects
    pick = s[(s["arm"] == arm) & (s["itt"] == True) & (s["disposition"] == "completed")]  # noqa: E712
    return str(pick["subject_id"].iloc[0])


def test_review_reproduction_same_numbers_in_reader_validation_and_diagram(
    tmp_path: Path, samples
) -> None:
    # samples.trial: read_trial(sample_data/parallel_12wk)
    subject = _first_completer(samples.trial("parallel_12wk"), "VEHICLE")
    folder = _bundle(tmp_path, ATTESTED, drop_post_baseline_of=subject)
    trial = read_trial(folder)
    # 1. the reader accepts the per-arm tables and excluded_reasons: no manifest problem
    assert not (trial.issues["table"] == "manifest").any()
    assert trial.manifest.attested_flow.per_arm["analysed"] == {"ACTIVE": 60, "VEHICLE": 60}
    assert trial.manifest.attested_flow.excluded_reasons == {
        "not eligible": 20,
        "declined to participate": 10,
    }
    # 2. the diagram's flow: exactly one attested mismatch, VEHICLE analysed 60 != 59
    flow = consort_flow(trial, PROTOCOL)
    assert [(c.id, c.key, c.arm, c.left, c.right) for c in flow.mismatches] == [
        ("attested:analysed[VEHICLE]", "analysed", "VEHICLE", 60, 59)
    ]
    assert flow.mismatches[0].detail == "60 != 59 (difference 1)"
    vehicle = next(a for a in flow.arms if a.arm == "VEHICLE")
    assert (vehicle.allocated.n, vehicle.analysed.n) == (60, 59)
    assert vehicle.excluded_from_analysis.reasons == (
        ("no post-baseline primary-endpoint measurement", 1),
    )
    # 3. validation reports the same disagreement, naming the count, the arm and numbers
    report = validate(trial, PROTOCOL)
    assert report.rules["SCH-001"].status == "passed"
    assert report.rules["CON-001"].status == "failed"
    (f,) = [f for f in report.findings if f.rule_id == "CON-001"]
    assert (f.severity, f.table, f.column, f.value) == ("error", "manifest", "analysed", "60")
    assert f.message == (
        "[consort.flow.analysed] VEHICLE is 60 but the data have 59 ITT subjects with a "
        "post-baseline measurement of the primary endpoint cutometer_r2; correct the "
        "attested count or the data"
    )


def test_attested_counts_that_match_give_no_finding(tmp_path: Path) -> None:
    trial = read_trial(_bundle(tmp_path, ATTESTED, drop_post_baseline_of=None))
    flow = consort_flow(trial, PROTOCOL)
    attested = [c for c in flow.checks if c.key]
    # 3 totals + 4 per-arm tables x 2 arms + excluded_reasons, all holding
    assert len(attested) == 12 and all(c.ok for c in attested)
    report = validate(trial, PROTOCOL)
    assert report.rules["CON-001"].status == "passed"
    assert report.rules["SCH-001"].status == "passed"


def test_excluded_reasons_that_do_not_add_up(tmp_path: Path) -> None:
    lines = '[consort.flow.excluded_reasons]\n"not eligible" = 20\n"declined" = 9\n'
    trial = read_trial(_bundle(tmp_path, lines, drop_post_baseline_of=None))
    flow = consort_flow(trial, PROTOCOL)
    assert [(c.id, c.left, c.right) for c in flow.mismatches] == [
        ("attested:excluded_reasons", 29, 30)
    ]
    (f,) = [f for f in validate(trial, PROTOCOL).findings if f.rule_id == "CON-001"]
    assert f.column == "excluded_reasons"
    assert f.message.startswith(
        "[consort.flow.excluded_reasons] add up to 29 but the data have 30 excluded"
    )


#: Wrong types and shapes: (TOML line, key path of the problem, text the message has).
WRONG = [
    ('randomised = "120"', "consort.flow.randomised", "got text ('120'"),
    ("randomised = 120.0", "consort.flow.randomised", "got a decimal number (120.0)"),
    ("randomised = -1", "consort.flow.randomised", "got a negative number (-1)"),
    ("randomised = true", "consort.flow.randomised", "got true/false (true)"),
    ("randomised = {ACTIVE = 60}", "consort.flow.randomised", "got a table"),
    ("randomised = [60, 60]", "consort.flow.randomised", "got an array"),
    ("analysed = 120", "consort.flow.analysed", "must be a table of arm id = whole number"),
    ("analysed = {ACTIVE = 60, VEHICLE = 59.5}", "consort.flow.analysed.VEHICLE", "decimal"),
    ("analysed = {ACTIVE = 60, VEHICLE = {n = 60}}", "consort.flow.analysed.VEHICLE", "table"),
    (
        "analysed = {ACTIVE = 60, VEHICLE = 60, PLACEBO = 60}",
        "consort.flow.analysed.PLACEBO",
        "not declared in [[arms]]; use the arm ids ACTIVE, VEHICLE",
    ),
    ("analysed = {ACTIVE = 60}", "consort.flow.analysed", "no count for arm(s) VEHICLE"),
    ("excluded_reasons = 30", "consort.flow.excluded_reasons", "table of reason"),
    ("excluded_reasons = {declined = false}", "consort.flow.excluded_reasons.declined", "true"),
    ("screened = 200", "consort.flow.screened", "not a [consort.flow] count"),
]


@pytest.mark.parametrize(("line", "path", "text"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_type_is_a_manifest_problem_naming_key_and_fix(
    tmp_path: Path, line: str, path: str, text: str
) -> None:
    folder = _bundle(tmp_path, "", drop_post_baseline_of=None)
    toml = folder / "trial.toml"
    body = toml.read_text(encoding="utf-8")
    if line.startswith("randomised"):  # attested already: replace it, not repeat the key
        body = body.replace("randomised = 120", line)
    else:
        body = body.rstrip() + "\n" + line + "\n"
    toml.write_text(body, encoding="utf-8")
    trial = read_trial(folder)
    issues = trial.issues[trial.issues["table"] == "manifest"]
    assert list(issues["column"]) == [path]
    problem = str(issues["problem"].iloc[0])
    assert text in problem
    assert "\n" not in problem
    report = validate(trial, PROTOCOL)
    # never a crashed rule: SCH-001 names the key, CON-001 checks what is well formed
    assert {r for r, s in report.rules.items() if s.status == "could_not_run"} <= {"PRO-006"}
    sch = [f for f in report.findings if f.rule_id == "SCH-001"]
    assert [(f.column, f.severity) for f in sch] == [(path, "error")]
    assert sch[0].message == f"trial.toml: {problem}"
    assert report.rules["CON-001"].status in ("passed", "not_applicable")


def test_in_memory_manifest_problems_reach_sch001() -> None:
    from tests.validation.trial_factory import CONSORT, make_manifest, make_trial

    consort = {**CONSORT, "flow": {"randomised": "4", "analysed": {"ACTIVE": -1}}}
    report = validate(make_trial(manifest=make_manifest(consort=consort)))
    sch = {f.column for f in report.findings if f.rule_id == "SCH-001"}
    assert sch == {
        "consort.flow.randomised",
        "consort.flow.analysed.ACTIVE",
        "consort.flow.analysed",
    }
    assert report.rules["CON-001"].status == "not_applicable"  # nothing valid attested
