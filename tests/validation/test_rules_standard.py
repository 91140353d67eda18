from __future__ import annotations

from pathlib import Path

import pytest

from efficacy.trial import Visit
from efficacy.validation import validate
from tests.validation.trial_factory import (
    canonical,
    clean_tables,
    failed,
    make_manifest,
    make_trial,
    of,
    one,
)

M, P = "measurements", "pro_responses"


def protocol_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text('extends = "iso-efficacy-2025"\n' + body, encoding="utf-8")
    return path


def drop(frame, name: str, **where: object):
    mask = None
    for col, value in where.items():
        hit = frame[col].isin(value) if isinstance(value, list) else frame[col] == value
        mask = hit if mask is None else mask & hit
    return canonical(name, frame[~mask.fillna(False).to_numpy(dtype=bool)])


def test_iso_dur_min_weeks_16_fails_a_12_week_trial(tmp_path: Path) -> None:
    trial = make_trial()
    assert validate(trial).rules["ISO-DUR"].status == "passed"
    path = protocol_file(tmp_path, "[requirements.ISO-DUR.parameters]\nmin_weeks = 16\n")
    report = validate(trial, protocol=path)
    assert failed(report) == {"ISO-DUR"}
    f = one(report, "ISO-DUR")
    assert (f.severity, f.table, f.row, f.value) == ("error", "manifest", None, "12")
    assert f.message.startswith(
        "planned follow-up is 12 weeks (W0 to W12), below the 16 weeks ISO-DUR requires; "
        "completers' median observed follow-up is 12.0 weeks (n = 3)"
    )
    assert report.protocol_id == "mine"


def test_iso_dur_short_schedule() -> None:
    tables = clean_tables()
    for name in (M, P):  # the last visit is at week 8
        t = tables[name]
        last = (t["visit"] == "W12").to_numpy(dtype=bool)
        t.loc[last, "visit"] = "W8"
        t.loc[last, "day"] = 56
    visits = (Visit("W0", 0, 0, 0), Visit("W4", 4, 28, 3), Visit("W8", 8, 56, 4))
    report = validate(make_trial(tables, manifest=make_manifest(visits=visits)))
    assert failed(report) == {"ISO-DUR"}
    assert one(report, "ISO-DUR").message == (
        "planned follow-up is 8 weeks (W0 to W8), below the 12 weeks ISO-DUR requires; "
        "completers' median observed follow-up is 8.0 weeks (n = 3); extend the schedule"
    )


def test_iso_dur_observed_short() -> None:
    tables = clean_tables()
    for name in (M, P):
        t = tables[name]
        t.loc[(t["visit"] == "W12").to_numpy(dtype=bool), "day"] = 70
    report = validate(make_trial(tables))
    f = one(report, "ISO-DUR")
    assert (f.table, f.value) == (M, "10.0")
    assert f.message == (
        "completers' median observed follow-up is 10.0 weeks (n = 3), below the 12 weeks "
        "ISO-DUR requires"
    )
    assert "INT-004" in failed(report)  # day 70 is outside 84 ± 7 too


def test_iso_elast_settings_missing_one_finding() -> None:
    tables = clean_tables()
    m = tables[M]
    cut = m["endpoint"].str.startswith("cutometer").to_numpy(dtype=bool)
    m.loc[cut, "device_settings"] = None
    report = validate(make_trial(tables))
    assert failed(report) == {"ISO-ELAST"}
    f = one(report, "ISO-ELAST")
    # 6 R-parameters count for ISO-ELAST: 6 x 11 visits-subjects = 66 rows
    assert (f.table, f.column, f.row) == (M, "device_settings", None)
    assert f.message.startswith("device_settings is empty on 66 of 66 elasticity rows")


def test_iso_hyd_no_hydration_and_not_at_final() -> None:
    tables = clean_tables()
    tables[M] = drop(tables[M], M, endpoint="corneometer")
    report = validate(make_trial(tables))
    assert failed(report) == {"ISO-HYD"}
    f = one(report, "ISO-HYD")
    assert (f.table, f.row, f.column) == (M, None, None)
    assert f.message == "no hydration endpoint (corneometer) is measured"
    tables = clean_tables()
    tables[M] = drop(tables[M], M, endpoint="corneometer", visit="W12")
    f = one(validate(make_trial(tables)), "ISO-HYD")
    assert f.visit == "W12"
    assert "at the final visit W12" in f.message


def test_iso_wrinkle_2d_imaging_does_not_count() -> None:
    tables = clean_tables()
    m = tables[M]
    wr = m["endpoint"].str.startswith("wrinkle").to_numpy(dtype=bool)
    m.loc[wr, "device"] = "VISIA Gen 7"
    report = validate(make_trial(tables))
    assert failed(report) == {"ISO-WRINKLE"}
    found = of(report, "ISO-WRINKLE")
    assert [f.column for f in found] == ["device", None]
    assert found[0].value == "VISIA Gen 7"
    assert found[0].message.startswith("22 wrinkle_depth rows come from devices that cannot")
    assert found[1].message.startswith("no wrinkle_depth endpoint")


def test_visia_supportive_endpoints_are_known_but_not_wrinkle_depth() -> None:
    """VISIA scores recorded as their own (supportive_2d) endpoints pass every schema
    rule, yet ISO-WRINKLE still needs 3D profilometry (FACTS.md 4.4)."""
    tables = clean_tables()
    m = tables[M]
    wr = m["endpoint"].str.startswith("wrinkle").to_numpy(dtype=bool)
    visia = m[(m["endpoint"] == "wrinkle_ra").to_numpy(dtype=bool)].assign(
        endpoint="visia_wrinkles_percentile", unit="percentile", value=55.0, device="VISIA-CR"
    )
    rows = [*m[~wr].to_dict("records"), *visia.to_dict("records")]
    tables[M] = canonical(M, rows)
    report = validate(make_trial(tables))
    assert failed(report) == {"ISO-WRINKLE"}
    assert one(report, "ISO-WRINKLE").message.startswith("no wrinkle_depth endpoint")


def test_iso_faceq_and_skindex() -> None:
    tables = clean_tables()
    tables[P] = drop(tables[P], P, instrument="faceq")
    report = validate(make_trial(tables))
    assert failed(report) == {"ISO-FACEQ"}
    assert one(report, "ISO-FACEQ").message == "no FACE-Q responses are recorded"
    tables = clean_tables()
    tables[P] = drop(tables[P], P, instrument="skindex16", visit="W0")
    f = one(validate(make_trial(tables)), "ISO-SKINDEX")
    assert (f.table, f.visit) == (P, "W0")
    assert f.message.startswith("no Skindex-16 at the baseline visit W0")


def test_iso_faceq_required_scale(tmp_path: Path) -> None:
    path = protocol_file(
        tmp_path, '[requirements.ISO-FACEQ.parameters]\nscales = ["appraisal_of_lines"]\n'
    )
    f = one(validate(make_trial(), protocol=path), "ISO-FACEQ")
    assert (f.column, f.value) == ("scale", "appraisal_of_lines")


def test_iso_rct_randomised_control() -> None:
    tables = clean_tables()
    s = tables["subjects"]
    s.loc[:, "randomized"] = False
    s.loc[:, "arm"] = None
    s.loc[:, "disposition"] = "screen_failure"
    s.loc[:, "discontinuation_reason"] = "study stopped"
    s.loc[:, ["itt", "per_protocol", "safety"]] = False
    tables["measurements"] = canonical(M, [])
    tables[P] = canonical(P, [])
    tables["adverse_events"] = canonical("adverse_events", [])
    report = validate(make_trial(tables))
    f = one(report, "ISO-RCT")
    assert (f.table, f.column) == ("subjects", "randomized")
    assert f.message == "no subject is randomised"


@pytest.mark.parametrize("control", ["body_site", "arm"])
def test_iso_rct_control_kind(tmp_path: Path, control: str) -> None:
    path = protocol_file(tmp_path, f'[requirements.ISO-RCT.parameters]\ncontrol = "{control}"\n')
    design = "parallel" if control == "body_site" else "split_face"
    report = validate(make_trial(design=design), protocol=path)
    f = one(report, "ISO-RCT")
    assert (f.table, f.column, f.value) == ("manifest", "design", design)


def test_user_added_requirement_runs(tmp_path: Path) -> None:
    path = protocol_file(
        tmp_path,
        "[requirements.ACME-TEWL]\n"
        'title = "Barrier measured"\ntext = "TEWL at baseline and end."\n'
        'check = "instrumental"\nsource = "SOP 12"\nseverity = "warning"\n'
        '[requirements.ACME-TEWL.parameters]\nmodality = "barrier"\n',
    )
    assert validate(make_trial(), protocol=path).rules["ACME-TEWL"].status == "passed"
    tables = clean_tables()
    tables[M] = drop(tables[M], M, endpoint="tewl")
    report = validate(make_trial(tables), protocol=path)
    status = report.rules["ACME-TEWL"]
    assert (status.status, status.category, status.n_warning) == ("failed", "standard", 1)
    f = one(report, "ACME-TEWL")
    assert (f.severity, f.category) == ("warning", "standard")
    assert report.ok  # a warning-level requirement does not fail the trial
