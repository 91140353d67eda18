"""Rule results stored on the trial (efficacy/validation/_cache.py) are reused only when exact.

A validation reuses a rule's stored result when the trial and every protocol part or
file the rule read are the same. These tests pin the three ways it could go wrong: a
stale reuse (a changed threshold, requirement, severity or reference file must change
the finding), a report that differs from a validation without stored results, and a
caller's change to a returned frame leaking into the next report.
"""

from __future__ import annotations

import dataclasses
import gc
import shutil
import weakref
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path

import pandas as pd
import pytest

from efficacy import validate
from efficacy.instruments.faceq_tables import load_faceq_conversion
from efficacy.protocol import Protocol, load_protocol
from efficacy.trial import Trial
from efficacy.validation import ValidationReport, engine
from efficacy.validation._cache import (
    Reads,
    file_stamp,
    fingerprint,
    kept_fingerprint,
    rule_cache,
    value_of,
)
from efficacy.validation.context import Context, arm_members
from efficacy.validation.findings import Part, at_trial
from efficacy.validation.registry import Rule, rules_for
from tests.validation.trial_factory import FACEQ_FIXTURES, make_manifest, make_trial

ISO = load_protocol("iso-efficacy-2025")


def _same(a: ValidationReport, b: ValidationReport) -> None:
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.rules == b.rules
    assert a.to_dict() == b.to_dict()


def _fresh(trial: Trial) -> Trial:
    """The same tables in a new Trial: nothing stored on it."""
    return dataclasses.replace(trial)


def _ran(trial: Trial, before: list[str]) -> list[str]:
    """Ids of the rules run (and stored) since the trial's cache held `before`."""
    left = rule_cache(trial).rule_ids()
    for rule_id in before:
        left.remove(rule_id)
    return sorted(left)


def _with_parameters(**changes: object) -> Protocol:
    return dataclasses.replace(ISO, parameters={**ISO.parameters, **changes})


def _with_requirement(rule_id: str, **changes: object) -> Protocol:
    reqs = tuple(
        dataclasses.replace(r, **changes) if r.id == rule_id else r for r in ISO.requirements
    )
    return dataclasses.replace(ISO, requirements=reqs)


def test_second_validation_reuses_every_rule_and_changes_to_the_first_do_not_leak(
    samples,
) -> None:
    trial = _fresh(samples.trial("flawed_integrity"))
    first = validate(trial)  # nothing stored yet: every rule runs
    stored = len(rule_cache(trial))
    assert stored == len(rules_for(ISO))  # every rule ran once and was kept
    expected_frame, expected = first.frame.copy(deep=True), first.to_dict()
    # a caller changing the report it got (in place) changes no later report
    first.frame.loc[0, "message"] = "changed"
    first.frame["severity"] = "error"
    frame = first.to_frame()
    frame.loc[0, "rule_id"] = "XXX-000"
    second = validate(trial)
    assert len(rule_cache(trial)) == stored  # nothing ran again
    assert second.frame is not first.frame
    pd.testing.assert_frame_equal(second.frame, expected_frame)
    assert second.to_dict() == expected
    # the cap is applied to the stored (complete) results: as if validated capped at once
    _same(
        validate(trial, max_findings_per_rule=1), validate(_fresh(trial), max_findings_per_rule=1)
    )


def test_a_changed_threshold_changes_the_finding_and_only_its_rule_runs_again() -> None:
    trial = make_trial()  # every room at 21.0 °C
    assert validate(trial).rules["INT-011"].status == "passed"
    stored = rule_cache(trial).rule_ids()
    tight = validate(trial, _with_parameters(temperature_c=(21.5, 22.0)))
    assert tight.rules["INT-011"].status == "failed"
    messages = set(tight.to_frame().query("rule_id == 'INT-011'")["message"])
    assert messages == {
        "temperature_c 21 °C is outside 21.5-22 °C; measure in a conditioned room "
        "(or tighten/loosen [validation] temperature_c)"
    }
    # the other rules read nothing the change touches: only INT-011 ran again, and
    # CON-001, which reads the whole protocol (its primary endpoint counts the flow)
    assert _ran(trial, stored) == ["CON-001", "INT-011"]
    _same(tight, validate(_fresh(trial), _with_parameters(temperature_c=(21.5, 22.0))))
    assert validate(trial).rules["INT-011"].status == "passed"  # the first result again


def test_a_changed_requirement_parameter_or_severity_changes_the_result() -> None:
    trial = make_trial()  # W0 to W12: 12 weeks
    assert validate(trial).rules["ISO-DUR"].status == "passed"
    req = ISO.requirement("ISO-DUR")
    longer = _with_requirement("ISO-DUR", parameters={**req.parameters, "min_weeks": 16})
    report = validate(trial, longer)
    assert report.rules["ISO-DUR"].status == "failed"
    assert report.rules["ISO-DUR"].n_error == 1
    milder = _with_requirement(
        "ISO-DUR", parameters={**req.parameters, "min_weeks": 16}, severity="warning"
    )
    status = validate(trial, milder).rules["ISO-DUR"]
    assert (status.status, status.severity, status.n_error, status.n_warning) == (
        "failed",
        "warning",
        0,
        1,
    )
    assert validate(trial).rules["ISO-DUR"].status == "passed"


@pytest.mark.parametrize("pack", ["cn-nmpa-2021", "kr-mfds", "eu-655-2013", "us-fda"])
def test_a_pack_reuses_the_data_rules_and_equals_an_unstored_validation(samples, pack: str) -> None:
    trial = _fresh(samples.trial("flawed_design"))
    validate(trial)  # the default protocol first, as analyze() and the report do
    stored = rule_cache(trial).rule_ids()
    report = validate(trial, pack)
    # its requirements run; of the data rules, only CON-001 (it reads the whole protocol)
    assert _ran(trial, stored) == sorted(["CON-001", *load_protocol(pack).requirement_ids])
    _same(report, validate(_fresh(trial), pack))


def test_a_changed_reference_file_changes_pro_006(tmp_path: Path) -> None:
    table = tmp_path / "synthetic_linear_conversion.csv"
    shutil.copy(FACEQ_FIXTURES / "synthetic_linear_conversion.csv", table)
    trial = make_trial(manifest=make_manifest(path=tmp_path / "trial.toml"))
    assert validate(trial).rules["PRO-006"].status == "passed"
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("satisfaction_facial_appearance,11,3.3333", ""), "utf-8")
    report = validate(trial)
    assert report.rules["PRO-006"].n_error == 1
    assert list(report.to_frame().query("rule_id == 'PRO-006'")["message"]) == [
        "synthetic_linear_conversion.csv: satisfaction_facial_appearance: raw sum 11 is "
        "missing (every raw sum 10-40 needs a rasch_score); add them from your user guide"
    ]
    table.write_text(text, "utf-8")
    assert validate(trial).rules["PRO-006"].status == "passed"


def test_a_crashed_rule_runs_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def flaky(ctx: Context) -> Iterable[Part]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first time")
        yield at_trial(table="manifest", message="ran")

    rule = Rule("TST-001", "t", "d", "schema", "notice", "test", flaky)
    monkeypatch.setattr(engine, "rules_for", lambda proto: (rule,))
    trial = make_trial()
    status = validate(trial).rules["TST-001"]
    assert (status.status, status.reason) == (
        "could_not_run",
        "rule crashed: RuntimeError: first time",
    )
    assert validate(trial).rules["TST-001"].status == "failed"
    assert validate(trial).rules["TST-001"].status == "failed"
    assert len(calls) == 2  # crashed, ran, then reused


def _views(ctx: Context) -> Iterator[str]:
    for name, attr in vars(Context).items():
        if isinstance(attr, cached_property | property) and name != "protocol":
            getattr(ctx, name)
            yield name


@pytest.mark.parametrize("design", ["parallel", "split_face"])
def test_the_context_views_read_no_protocol_and_reads_are_recorded(design: str) -> None:
    trial = make_trial(design=design)
    ctx = Context(trial, ISO)
    reads = Reads(value_of(ISO, trial))
    ctx.track(reads)
    names = list(_views(ctx))
    assert {"meas", "subjects_first", "allocation", "visits", "issues"} <= set(names)
    ctx.codes("measurements", "endpoint")
    ctx.blank("subjects", "arm")
    ctx.isin("pro_responses", "instrument", ["faceq"])
    arm_members(ctx)
    assert reads.seen == {}  # two rules may share these: they depend on the trial alone
    assert ctx.params["cutometer_rel_tol"] == 0.01
    assert "no_such_parameter" not in ctx.params
    assert ctx.protocol is ISO
    assert ctx.reference_file("faceq_conversion") is not None
    assert set(reads.seen) == {
        ("params", "cutometer_rel_tol"),
        ("params", "no_such_parameter"),
        ("protocol",),
        ("file", "faceq_conversion"),
    }
    assert reads.seen[("params", "cutometer_rel_tol")] == fingerprint(0.01)
    assert reads.seen[("protocol",)] == fingerprint(ISO)
    path = trial.reference_file("faceq_conversion")
    assert reads.seen[("file", "faceq_conversion")] == file_stamp(path)


def test_fingerprints_are_type_exact() -> None:
    assert fingerprint({"a": [1, 2.0]}) == fingerprint({"a": [1, 2.0]})
    different = [1, 1.0, True, "1", (1,), [1], 0.0, -0.0, None]
    prints = [fingerprint(v) for v in different]
    assert all(prints[i] != prints[j] for i in range(len(prints)) for j in range(i))
    assert fingerprint({"a": 1, "b": 2}) != fingerprint({"b": 2, "a": 1})  # order is read
    assert fingerprint(float("nan")) == fingerprint(float("nan"))
    assert fingerprint(ISO) == fingerprint(load_protocol("iso-efficacy-2025"))
    assert fingerprint(ISO) != fingerprint(_with_parameters(cutometer_rel_tol=0.02))
    opaque = object()
    assert fingerprint(opaque) != fingerprint(opaque)  # never reused


def test_a_fingerprint_is_kept_only_for_what_cannot_change() -> None:
    kept = kept_fingerprint(ISO)
    assert kept == fingerprint(ISO) and kept_fingerprint(ISO) is kept  # built-ins: frozen
    req = ISO.requirement("ISO-DUR")
    assert kept_fingerprint(req) is kept_fingerprint(req)
    changing = (1, [2])  # a tuple holding a list: its fingerprint follows the list
    before = kept_fingerprint(changing)
    changing[1].append(3)
    assert kept_fingerprint(changing) != before
    assert kept_fingerprint(changing) == fingerprint((1, [2, 3]))
    mapping = {"a": 1}
    assert kept_fingerprint(mapping) is not kept_fingerprint(mapping)  # a dict is never kept


def test_kept_faceq_tables_are_copies_and_follow_the_file(tmp_path: Path) -> None:
    path = tmp_path / "conversion.csv"
    shutil.copy(FACEQ_FIXTURES / "synthetic_linear_conversion.csv", path)
    first = load_faceq_conversion(path)
    expected = first.table.copy()
    first.table.loc[0, "rasch_score"] = 99.0
    second = load_faceq_conversion(path)
    pd.testing.assert_frame_equal(second.table, expected)
    assert second.source == str(path)
    path.write_text(
        path.read_text("utf-8").replace(
            "satisfaction_facial_appearance,11,3.3333", "satisfaction_facial_appearance,11,4"
        ),
        "utf-8",
    )
    third = load_faceq_conversion(path)
    assert third.lookup("satisfaction_facial_appearance", [11])[0] == 4.0


def test_validations_of_one_trial_share_its_derived_views() -> None:
    trial = make_trial()
    validate(trial)
    views = rule_cache(trial).views
    meas, first = views["meas"], views["subjects_first"]
    report = validate(trial, "kr-mfds")  # its requirements read the measurements again
    assert list(report.to_frame().query("rule_id == 'KR-N'")["message"]) == [
        "n = 3 valid < 20 for any endpoint (all arms): KR-N needs at least 20 valid subjects "
        "(randomised, measured at baseline W0 and at the final visit W12)"
    ]
    assert rule_cache(trial).views["meas"] is meas
    assert rule_cache(trial).views["subjects_first"] is first
    with pytest.raises(ValueError, match="another trial"):
        Context(make_trial(), ISO, views)


def test_what_is_kept_on_a_trial_does_not_keep_it_alive() -> None:
    trial = make_trial()
    validate(trial)
    validate(trial, "kr-mfds")
    ref = weakref.ref(trial)
    enabled = gc.isenabled()
    gc.disable()  # freed by reference counting alone: no cycle through the kept views
    try:
        del trial
        assert ref() is None
    finally:
        if enabled:
            gc.enable()
