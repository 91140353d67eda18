"""The [analysis] section of a protocol: defaults, overrides via extends, every problem."""

from __future__ import annotations

import dataclasses

import pytest

from efficacy.errors import ProtocolError
from efficacy.protocol import AnalysisPlan, load_protocol
from efficacy.protocol.analysis_params import ResponderSpec


def _write(tmp_path, text: str):
    path = tmp_path / "mine.toml"
    path.write_text('extends = "iso-efficacy-2025"\n' + text, encoding="utf-8")
    return path


def test_builtin_plan_defaults() -> None:
    plan = load_protocol("iso-efficacy-2025").analysis
    assert isinstance(plan, AnalysisPlan)
    assert plan.primary == "cutometer_r2"
    assert plan.key_secondary[0] == "corneometer"
    assert plan.multiplicity == "holm"
    assert plan.parallel.covariance == "us"
    assert plan.model("parallel").fallback == ("toeph", "ar1h", "cs")
    assert plan.parallel.df == "kenward-roger"
    assert plan.sensitivity.imputations == 50
    assert plan.populations == ("itt", "per_protocol")
    assert plan.responders == ()
    assert (plan.alpha, plan.confidence_level) == (0.05, 0.95)


def test_override_merges_key_by_key(tmp_path) -> None:
    path = _write(
        tmp_path,
        """
[analysis]
primary = "corneometer"
key_secondary = ["cutometer_r2"]
multiplicity = "fixed-sequence"
[analysis.parallel]
fallback = ["cs"]
[[analysis.responders]]
endpoint = "corneometer"
kind = "percent"
threshold = 10
logistic = true
""",
    )
    plan = load_protocol(path).analysis
    assert plan is not None
    assert plan.primary == "corneometer"
    assert plan.multiplicity == "fixed-sequence"
    assert plan.parallel.fallback == ("cs",)
    assert plan.parallel.covariance == "us"  # kept from the base
    assert plan.secondary[0] == "cutometer_r5"  # kept from the base
    assert plan.responders == (ResponderSpec("corneometer", "percent", 10.0, "catalogue", True),)


def test_every_problem_at_once(tmp_path) -> None:
    path = _write(
        tmp_path,
        """
[analysis]
multiplicity = "bonferroni"
alpha = 2
bogus = 1
[analysis.parallel]
covariance = "un"
[analysis.sensitivity]
imputations = 1
[[analysis.responders]]
endpoint = "corneometer"
kind = "percent"
""",
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    text = " | ".join(info.value.problems)
    for needle in ("bonferroni", "alpha", "bogus", "'covariance'", "imputations", "threshold"):
        assert needle in text, needle
    assert len(info.value.problems) >= 6


def test_unknown_and_duplicate_endpoints(tmp_path) -> None:
    path = _write(
        tmp_path,
        '[analysis]\nprimary = "elasticity"\nkey_secondary = ["corneometer", "corneometer"]\n',
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    text = " | ".join(info.value.problems)
    assert "elasticity" in text and "more than once" in text


def test_plan_is_read_only_and_serialisable() -> None:
    import json

    p = load_protocol("iso-efficacy-2025")
    assert p.analysis is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.analysis.parallel.covariance = "cs"  # type: ignore[misc]
    data = json.loads(json.dumps(p.to_dict()))
    assert data["analysis"]["parallel"]["fallback"] == ["toeph", "ar1h", "cs"]
    # the plain form is the [analysis] table: it builds the same plan again
    assert AnalysisPlan.from_mapping(data["analysis"]) == p.analysis


def test_extending_a_plan_with_half_sd_responders_keeps_them(tmp_path) -> None:
    base = tmp_path / "base.toml"
    base.write_text(
        'extends = "iso-efficacy-2025"\n[[analysis.responders]]\nendpoint = "corneometer"\n'
        'kind = "half_baseline_sd"\n',
        encoding="utf-8",
    )
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{base.as_posix()}"\n[analysis]\nalpha = 0.01\n', encoding="utf-8")
    plan = load_protocol(child).analysis
    assert plan is not None and plan.alpha == 0.01
    assert plan.responders == (
        ResponderSpec("corneometer", "half_baseline_sd", 0.0, "catalogue", False),
    )


def test_protocol_without_plan_has_none() -> None:
    p = load_protocol("iso-efficacy-2025")
    bare = dataclasses.replace(p, analysis=None)
    assert bare.analysis is None and bare.to_dict()["analysis"] == {}
    again = dataclasses.replace(p, analysis={"primary": "corneometer"})  # a TOML table
    assert again.analysis is not None and again.analysis.primary == "corneometer"
    assert again.analysis.parallel == p.analysis.parallel  # defaults filled in
