from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from efficacy.errors import EfficacyError, ProtocolError
from efficacy.protocol import load_protocol
from efficacy.validation import (
    FINDING_COLUMNS,
    RULES,
    Finding,
    Rule,
    ValidationFailedError,
    rules_for,
    validate,
)
from efficacy.validation import registry as registry_module
from tests.validation.trial_factory import clean_tables, make_trial, one, row_of, with_cell

M = "measurements"

CONTRACT_IDS = {
    *(f"SCH-{i:03d}" for i in range(1, 11)),
    *(f"INT-{i:03d}" for i in range(1, 12)),
    "DES-001",
    "DES-002",
    "DES-003",
    *(f"PRO-{i:03d}" for i in range(1, 6)),
    *(f"CON-{i:03d}" for i in range(1, 7)),
}
ISO_IDS = ("ISO-DUR", "ISO-ELAST", "ISO-HYD", "ISO-WRINKLE", "ISO-FACEQ", "ISO-SKINDEX", "ISO-RCT")


def flawed_trial():
    tables = clean_tables()
    r_phys = row_of(tables[M], subject_id="S01", visit="W4", endpoint="corneometer")
    r_temp = row_of(tables[M], subject_id="S02", visit="W4", endpoint="corneometer")
    m = with_cell(tables[M], r_phys, "value", 142.0)
    m = with_cell(m, r_temp, "temperature_c", 30.0)
    tables[M] = with_cell(m, r_phys + 1, "value", 115.0)  # tewl 115: beyond plausible 80
    return make_trial(tables), r_phys


def test_registry_has_every_contract_rule_with_metadata() -> None:
    assert set(RULES) >= CONTRACT_IDS
    for rule in RULES.values():
        assert rule.title and rule.description and rule.source
        assert rule.category in ("schema", "integrity", "design", "pro", "consort")
        assert rule.severity in ("error", "warning", "notice")
    ids = [r.id for r in rules_for(load_protocol("iso-efficacy-2025"))]
    assert ids[-7:] == list(ISO_IDS)
    assert len(ids) == len(set(ids))


def test_report_api() -> None:
    trial, r_phys = flawed_trial()
    report = validate(trial)
    assert report.counts == {"error": 1, "warning": 1, "notice": 1}
    assert not report.ok
    assert report.worst() == "error"
    assert (report.trial_id, report.protocol_id, report.protocol_version) == (
        "EFF-TEST",
        "iso-efficacy-2025",
        "1.0",
    )
    frame = report.to_frame()
    assert tuple(frame.columns) == FINDING_COLUMNS
    assert list(frame["rule_id"]) == ["INT-006", "INT-007", "INT-011"]
    assert str(frame["row"].dtype) == "Int64"
    assert frame.loc[0, "row"] == r_phys
    assert all(isinstance(f, Finding) for f in report.findings)
    f = report.findings[0]
    assert f.to_dict()["row"] == r_phys and isinstance(f.row, int)
    status = report.rules["INT-006"]
    assert (status.status, status.n_error, status.n_findings, status.n_listed) == (
        "failed",
        1,
        1,
        1,
    )
    assert report.rules["INT-001"].status == "passed"
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False
    assert data["counts"] == {"error": 1, "warning": 1, "notice": 1}
    assert data["rules"]["INT-006"]["status"] == "failed"
    assert data["rules"]["DES-003"]["status"] == "not_applicable"
    assert data["findings"][0]["row"] == r_phys
    assert set(data["findings"][0]) == set(FINDING_COLUMNS)
    text = report.summary()
    assert text.splitlines()[0] == (
        "Trial EFF-TEST against iso-efficacy-2025 1.0: FAILED (1 error, 1 warning, 1 notice)"
    )
    assert f"ERROR   INT-006     measurements, row {r_phys}, column value" in text
    with pytest.raises(ValidationFailedError, match="1 error finding"):
        report.raise_for_errors()


def test_clean_report_json_and_raise() -> None:
    report = validate(make_trial())
    report.raise_for_errors()
    data = report.to_dict()
    assert data["ok"] is True and data["findings"] == []
    assert tuple(report.to_frame().columns) == FINDING_COLUMNS
    assert len(report.to_frame()) == 0


def test_inputs_are_not_modified() -> None:
    trial, _ = flawed_trial()
    before = {n: trial.table(n).copy(deep=True) for n in ("subjects", M)}
    consort = copy.deepcopy(dict(trial.manifest.consort))
    validate(trial)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(trial.table(name), frame)
    assert dict(trial.manifest.consort) == consort


def test_cap_keeps_counts_and_adds_summary() -> None:
    tables = clean_tables()
    tables[M] = tables[M].assign(temperature_c=30.0)
    report = validate(make_trial(tables), max_findings_per_rule=5)
    status = report.rules["INT-011"]
    n = len(tables[M])
    assert (status.n_notice, status.n_listed) == (n, 6)
    assert report.counts["notice"] == n
    frame = report.to_frame()
    last = frame[frame["rule_id"] == "INT-011"].iloc[-1]
    assert pd.isna(last["row"])
    assert last["message"].startswith(f"... and {n - 5} more INT-011 findings not listed")
    assert len(validate(make_trial(tables)).findings) == n


def test_crashing_rule_is_could_not_run_and_others_still_run(monkeypatch) -> None:
    def boom(ctx):
        raise ZeroDivisionError("division by zero in a check")

    broken = Rule("INT-007", "t", "d", "integrity", "warning", "s", boom)
    monkeypatch.setitem(registry_module._RULES, "INT-007", broken)
    trial, _ = flawed_trial()
    report = validate(trial)
    status = report.rules["INT-007"]
    assert status.status == "could_not_run"
    assert status.reason == "rule crashed: ZeroDivisionError: division by zero in a check"
    assert report.rules["INT-006"].status == "failed"
    assert report.rules["INT-011"].status == "failed"


def test_could_not_run_for_missing_column() -> None:
    report = validate(make_trial(missing={M: ["day"]}))
    assert report.rules["INT-004"].status == "could_not_run"
    assert report.rules["INT-004"].reason == "measurements lacks column(s) day"
    assert one(report, "SCH-002").column == "day"


def test_protocol_forms(tmp_path: Path) -> None:
    trial = make_trial()
    proto = load_protocol("iso-efficacy-2025")
    assert validate(trial, proto).ok
    assert validate(trial, "iso-efficacy-2025").ok
    path = tmp_path / "p.toml"
    path.write_text('extends = "iso-efficacy-2025"\n')
    assert validate(trial, str(path)).protocol_id == "p"
    with pytest.raises(ProtocolError):
        validate(trial, "no-such-protocol")


def test_misuse_raises() -> None:
    with pytest.raises(EfficacyError, match="trial= must be an efficacy Trial"):
        validate(pd.DataFrame())  # type: ignore[arg-type]
    with pytest.raises(EfficacyError, match="max_findings_per_rule"):
        validate(make_trial(), max_findings_per_rule=0)


def test_requirement_id_clash_with_data_rule_is_misuse(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[requirements.INT-001]\ntitle = "x"\ntext = "y"\n'
        'check = "controlled"\nsource = "z"\n'
    )
    with pytest.raises(EfficacyError, match="collide with data rule ids"):
        validate(make_trial(), path)


def test_repr_html_escapes_and_lists_findings() -> None:
    trial, _ = flawed_trial()
    html = validate(trial)._repr_html_()
    assert html.startswith("<p><b>Trial EFF-TEST against iso-efficacy-2025 1.0: FAILED")
    assert html.count("<tr") == 4  # header + 3 findings


def test_efficacy_validate_is_the_function_after_the_subpackage_is_imported() -> None:
    import efficacy
    import efficacy.validation.registry

    assert efficacy.validate is efficacy.validation.validate
    assert efficacy.validate(make_trial()).ok
