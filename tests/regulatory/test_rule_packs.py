"""The jurisdiction rule packs: loaded as data with sources, and their checks at exact boundaries.

Every trial here is the parallel sample bundle (read once, by the ``samples`` fixture)
changed in one place, so each check is seen to pass on one side of its boundary and fail
on the other (19 vs 20 valid subjects, 7.9 vs 8 weeks, 22.0 vs 22.1 C, ...).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from efficacy import validate
from efficacy.errors import ProtocolError
from efficacy.protocol import load_protocol
from efficacy.protocol.params import CONFIDENCES
from efficacy.trial import Trial, Visit

PACKS = ("cn-nmpa-2021", "kr-mfds", "eu-655-2013", "us-fda")


@pytest.fixture(scope="module")
def trial(samples) -> Trial:
    t: Trial = samples.trial("parallel_12wk")
    return t


def _status(trial: Trial, protocol, rule: str) -> tuple[str, list[str]]:
    report = validate(trial, protocol)
    frame = report.to_frame()
    return report.rules[rule].status, frame.loc[frame["rule_id"] == rule, "message"].tolist()


def _keep_subjects(trial: Trial, n: int) -> Trial:
    """The trial with measurements of only `n` subjects valid on wrinkle_rz (W0 and W12)."""
    m = trial.measurements
    rz = m[(m["endpoint"] == "wrinkle_rz") & m["value"].notna()]
    both = set(rz.loc[rz["visit"] == "W0", "subject_id"]) & set(
        rz.loc[rz["visit"] == "W12", "subject_id"]
    )
    ids = sorted(both)[:n]
    return dataclasses.replace(trial, measurements=m[m["subject_id"].isin(ids)])


def _final_week(trial: Trial, week: float) -> Trial:
    visits = tuple(
        Visit(v.id, week, v.day, v.window_days) if v.id == "W12" else v
        for v in trial.manifest.visits
    )
    return dataclasses.replace(trial, manifest=dataclasses.replace(trial.manifest, visits=visits))


@pytest.mark.parametrize("pack", PACKS)
def test_each_pack_loads_with_source_and_confidence(pack: str) -> None:
    p = load_protocol(pack)
    assert p.id == pack and p.version == "1.0" and p.analysis is not None
    assert p.requirements
    for r in p.requirements:
        assert r.source.strip() and r.confidence in CONFIDENCES, r.id
        assert r.to_dict()["confidence"] == r.confidence


def test_uncertain_numbers_are_warnings_never_errors() -> None:
    cn = load_protocol("cn-nmpa-2021")
    # >= 30 anti-wrinkle subjects is industry practice; acclimatisation "15-30 min" a range
    assert (cn.requirement("CN-N").severity, cn.requirement("CN-N").confidence) == (
        "warning",
        "practice",
    )
    assert cn.requirement("CN-ACCLIM").severity == "warning"
    assert "uncertain" in cn.requirement("CN-ACCLIM").text
    kr = load_protocol("kr-mfds")
    assert kr.requirement("KR-N").parameters["min_n"] == 20
    assert dict(kr.requirement("KR-WRINKLE-DUR").parameters) == {"min_weeks": 8, "max_weeks": 12}
    assert kr.requirement("KR-P").parameters["max_p"] == 0.05
    assert kr.requirement("KR-HYD-INSTRUMENT").parameters["devices"] == ("Corneometer",)
    assert kr.requirement("KR-ELAST-INSTRUMENT").parameters["devices"] == (
        "Cutometer",
        "DermaFlex",
    )
    cn_moist = cn.requirement("CN-MOIST-ENV").parameters
    assert (cn_moist["temperature_c"], cn_moist["humidity_pct"]) == ((20.0, 22.0), (40.0, 60.0))
    assert cn.requirement("CN-MOIST-N").parameters["min_n"] == 24


def test_loader_rejects_bad_confidence_and_claim_category(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'extends = "kr-mfds"\n[requirements.KR-N]\nconfidence = "rumour"\nclaims = ["glow"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ProtocolError) as err:
        load_protocol(path)
    text = str(err.value)
    assert "confidence 'rumour' is not one of stated, reported, practice" in text
    assert "claims has unknown categories ['glow']" in text


def test_min_valid_subjects_19_fails_20_passes(trial: Trial) -> None:
    status, messages = _status(_keep_subjects(trial, 19), "kr-mfds", "KR-N")
    assert status == "failed"
    assert messages[0].startswith("n = 19 valid < 20 for wrinkle_rz (all arms)")
    assert _status(_keep_subjects(trial, 20), "kr-mfds", "KR-N")[0] == "passed"


def test_duration_between_7_9_fails_8_passes(trial: Trial) -> None:
    status, messages = _status(_final_week(trial, 7.9), "kr-mfds", "KR-WRINKLE-DUR")
    assert status == "failed"
    assert messages == [
        "planned follow-up is 7.9 weeks (W0 to W12), below the 8-12 weeks KR-WRINKLE-DUR asks"
    ]
    assert _status(_final_week(trial, 8.0), "kr-mfds", "KR-WRINKLE-DUR")[0] == "passed"
    assert _status(_final_week(trial, 12.1), "kr-mfds", "KR-WRINKLE-DUR")[0] == "failed"


def test_instrument_named_for_endpoint(trial: Trial) -> None:
    m = trial.measurements.copy()
    m["device"] = m["device"].astype(object)
    m.loc[m["endpoint"] == "corneometer", "device"] = "Skicon-200"
    changed = dataclasses.replace(trial, measurements=m)
    status, messages = _status(changed, "kr-mfds", "KR-HYD-INSTRUMENT")
    n = int((m["endpoint"] == "corneometer").sum())
    assert status == "failed"
    assert messages == [
        f"{n} of {n} corneometer rows come from other devices (Skicon-200); "
        "KR-HYD-INSTRUMENT names Corneometer"
    ]
    assert _status(trial, "kr-mfds", "KR-HYD-INSTRUMENT")[0] == "passed"


@pytest.mark.parametrize(("temperature", "expected"), [(22.0, "passed"), (22.1, "failed")])
def test_environment_conditions_at_22_c(trial: Trial, temperature: float, expected: str) -> None:
    m = trial.measurements.copy()
    first = m.index[m["endpoint"] == "corneometer"][0]
    m.loc[first, "temperature_c"] = temperature
    status, messages = _status(
        dataclasses.replace(trial, measurements=m), "cn-nmpa-2021", "CN-MOIST-ENV"
    )
    assert status == expected
    n = int(((m["endpoint"] == "corneometer") & m["temperature_c"].notna()).sum())
    if expected == "failed":
        assert messages == [f"1 of {n} rows were measured outside 20-22 °C (CN-MOIST-ENV)"]


def test_acclimatisation_stated(trial: Trial) -> None:
    status, messages = _status(trial, "cn-nmpa-2021", "CN-ACCLIM")
    assert status == "failed" and "not stated" in messages[0]
    for minutes, expected in ((14, "failed"), (15, "passed")):
        raw = {**trial.manifest.raw, "methods": {"acclimatisation_min": minutes}}
        t = dataclasses.replace(trial, manifest=dataclasses.replace(trial.manifest, raw=raw))
        assert _status(t, "cn-nmpa-2021", "CN-ACCLIM")[0] == expected


def test_p_threshold_and_tightening(trial: Trial, tmp_path: Path) -> None:
    loose = tmp_path / "kr_loose.toml"
    loose.write_text('extends = "kr-mfds"\n[analysis]\nalpha = 0.1\n', encoding="utf-8")
    status, messages = _status(trial, loose, "KR-P")
    assert status == "failed"
    assert messages == ["the analysis plan tests at alpha = 0.1, above the p < 0.05 KR-P asks"]
    tight = tmp_path / "kr_tight.toml"
    tight.write_text(
        'extends = "kr-mfds"\n[requirements.KR-N.parameters]\nmin_n = 120\n'
        '[requirements.KR-N]\nconfidence = "stated"\n',
        encoding="utf-8",
    )
    p = load_protocol(tight)
    assert p.extends == "kr-mfds@1.0" and p.requirement("KR-N").confidence == "stated"
    assert p.requirement("KR-N").source == load_protocol("kr-mfds").requirement("KR-N").source
    status, messages = _status(trial, p, "KR-N")
    assert status == "failed" and all(" valid < 120 for " in m for m in messages)


def test_design_stated_and_claim_wording(trial: Trial) -> None:
    consort = {k: v for k, v in trial.manifest.consort.items() if k != "blinding"}
    t = dataclasses.replace(trial, manifest=dataclasses.replace(trial.manifest, consort=consort))
    status, messages = _status(t, "cn-nmpa-2021", "CN-DESIGN")
    assert status == "failed"
    assert messages == ["[consort] blinding is not stated; CN-DESIGN asks the design to state it"]
    report = validate(trial, "us-fda")
    frame = report.to_frame()
    hits = frame[frame["rule_id"] == "US-INTENDED-USE"]
    assert hits["value"].tolist() == ["Stimulates collagen for more elastic skin"]
    assert hits["column"].tolist() == ["claims"]
    assert "'collagen', 'stimulat'" in hits["message"].iloc[0]
