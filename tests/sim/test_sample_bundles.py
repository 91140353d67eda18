"""The committed sample bundles: clean ones validate clean, flawed ones give exactly
their planted findings, and sample_data/ equals what the simulator produces now."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from efficacy.errors import InputError
from efficacy.io import read_trial
from efficacy.sim.samples import CLEAN_BUNDLES, build_samples
from efficacy.validation import validate
from tests.sim.flawed import ANALYSABLE

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
ISO_IDS = ("ISO-DUR", "ISO-ELAST", "ISO-HYD", "ISO-WRINKLE", "ISO-FACEQ", "ISO-SKINDEX", "ISO-RCT")

#: Notices the clean bundles are allowed to give (rule_id, table); none at present.
CLEAN_NOTICES: dict[str, set[tuple[str, str]]] = {"parallel_12wk": set(), "split_face_12wk": set()}


def _none(value):
    if value is None or (isinstance(value, str) and value == "") or pd.isna(value):
        return None
    return value


def _key(rule_id, severity, row, subject_id):
    row = _none(row)
    return (rule_id, severity, None if row is None else int(row), _none(subject_id))


@pytest.fixture(scope="module")
def reports(samples):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = validate(samples.trial(name))  # read_trial(SAMPLE_DATA / name)
        return cache[name]

    return get


# -- clean bundles ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CLEAN_BUNDLES))
def test_clean_bundle_has_no_errors_or_warnings(name, reports):
    report = reports(name)
    frame = report.to_frame()
    serious = frame[frame["severity"].isin(["error", "warning"])]
    assert serious.empty, serious[["rule_id", "row", "subject_id", "message"]].to_string()
    assert report.ok
    notices = set(zip(frame["rule_id"], frame["table"], strict=True))
    assert notices == CLEAN_NOTICES[name]


@pytest.mark.parametrize("name", sorted(CLEAN_BUNDLES))
def test_clean_bundle_passes_every_iso_requirement(name, reports):
    statuses = {rule_id: r.status for rule_id, r in reports(name).rules.items()}
    assert {i: statuses.get(i) for i in ISO_IDS} == dict.fromkeys(ISO_IDS, "passed")
    # no rule is left unrun on complete data
    assert not [rid for rid, s in statuses.items() if s == "could_not_run"]


@pytest.mark.parametrize("name", sorted(CLEAN_BUNDLES))
def test_clean_bundle_reads_without_issues(name, samples):
    trial = samples.trial(name)  # read_trial(SAMPLE_DATA / name)
    assert trial.issues.empty
    missing = {t: src.missing_columns for t, src in trial.sources.items() if src.missing_columns}
    # each design has only its own allocation column (arm / allocation); the samples
    # carry PP exclusion reasons, coded AE terms and a deviations table
    expected = {"parallel_12wk": ("allocation",), "split_face_12wk": ("arm",)}[name]
    assert missing == {"subjects": expected}
    assert trial.sources["deviations"].path is not None


@pytest.mark.parametrize("name", sorted(CLEAN_BUNDLES))
def test_clean_bundle_explains_every_per_protocol_exclusion(name, samples):
    """Each randomised person outside PP has a reason; a completer's is a major deviation."""
    trial = samples.trial(name)  # read_trial(SAMPLE_DATA / name)
    s = trial.subjects[trial.subjects["randomized"].astype(bool)]
    out = s[~s["per_protocol"].astype(bool)]
    assert out["pp_exclusion_reason"].fillna("").ne("").all()
    assert s.loc[s["per_protocol"].astype(bool), "pp_exclusion_reason"].fillna("").eq("").all()
    completers = set(out.loc[out["disposition"] == "completed", "subject_id"])
    dev = trial.deviations
    assert set(dev.loc[dev["major"].astype(bool), "subject_id"]) == completers
    # the sample trials: PP excludes 10 ACTIVE / 6 VEHICLE (2 and 4 completers)
    if name == "parallel_12wk":
        assert out.groupby("arm").size().to_dict() == {"ACTIVE": 10, "VEHICLE": 6}
        assert len(completers) == 6
    ae = trial.adverse_events
    assert ae["soc"].str.endswith("[SIM]").all()  # own vocabulary, not MedDRA
    assert not ae["fatal"].astype(bool).any()
    left = ae.loc[ae["led_to_discontinuation"].astype(bool), "subject_id"]
    reason = s.set_index("subject_id")["discontinuation_reason"]
    assert sorted(left) == sorted(reason[reason == "adverse event: contact dermatitis"].index)


# -- flawed bundles -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ANALYSABLE)
def test_flawed_bundle_gives_exactly_the_planted_findings(name, reports, flawed):
    fb = flawed[name]
    frame = reports(name).to_frame()
    got = Counter(
        _key(r.rule_id, r.severity, r.row, r.subject_id)
        for r in frame.itertuples()
        if r.severity in ("error", "warning")
    )
    want = Counter(
        _key(f.rule_id, f.severity, f.row, f.subject_id)
        for f in fb.expected
        if f.severity in ("error", "warning")
    )
    assert got == want, f"missing: {sorted(want - got)}\nunexpected: {sorted(got - want)}"
    notices = Counter(
        _key(r.rule_id, r.severity, r.row, r.subject_id)
        for r in frame.itertuples()
        if r.severity == "notice"
    )
    planted = Counter(
        _key(f.rule_id, f.severity, f.row, f.subject_id)
        for f in fb.expected
        if f.severity == "notice"
    )
    assert not planted - notices


@pytest.mark.parametrize("name", ANALYSABLE)
def test_flawed_bundle_findings_carry_table_and_visit(name, reports, flawed):
    frame = reports(name).to_frame()
    for f in flawed[name].expected:
        if f.row is None or f.severity == "none":
            continue
        hit = frame[(frame["rule_id"] == f.rule_id) & (frame["row"] == f.row)]
        assert len(hit) == 1, (f.rule_id, f.row)
        assert hit["table"].iloc[0] == f.table
        if f.visit is not None:
            assert hit["visit"].iloc[0] == f.visit


@pytest.mark.parametrize("name", ANALYSABLE)
def test_decoys_are_not_reported(name, reports, flawed):
    frame = reports(name).to_frame()
    for f in flawed[name].expected:
        if f.severity == "none":
            hits = frame[(frame["table"] == f.table) & (frame["row"] == f.row)]
            assert hits.empty, hits[["rule_id", "message"]].to_string()


def test_flawed_manifest_is_unusable_input(flawed):
    fb = flawed["flawed_manifest"]
    assert fb.raises == "InputError"
    with pytest.raises(InputError, match="leaves the bundle"):
        read_trial(SAMPLE_DATA / "flawed_manifest")


def test_every_flawed_readme_lists_every_expected_finding(flawed):
    for name, fb in flawed.items():
        text = (SAMPLE_DATA / name / "README.md").read_text(encoding="utf-8")
        for f in fb.expected:
            if f.severity == "none":
                assert f"| {f.table} | {f.row} | {f.subject_id} |" in text
            else:
                assert f"| {f.rule_id} | {f.severity} | {f.table} | {f.row or ''} |" in text


# -- reproducibility ----------------------------------------------------------------------
def test_sample_data_equals_simulator_output(tmp_path):
    build_samples(tmp_path)
    made = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    hand_written = ("products", "scenarios")  # example inputs of other commands
    committed = {
        p.relative_to(SAMPLE_DATA): p.read_bytes()
        for p in SAMPLE_DATA.rglob("*")
        if p.is_file() and p.relative_to(SAMPLE_DATA).parts[0] not in hand_written
    }
    assert sorted(made) == sorted(committed)
    differing = [str(k) for k in made if made[k] != committed[k]]
    assert not differing, f"regenerate with `python -m efficacy.sim sample_data`: {differing}"
