"""[[analysis.estimands]]: every field parsed, the defaults, and each error's exact text."""

from __future__ import annotations

from pathlib import Path

import pytest

from efficacy.errors import ProtocolError
from efficacy.protocol import AnalysisPlan, load_protocol
from efficacy.protocol.estimands import (
    SUMMARY_MEANS,
    SUMMARY_RESPONDERS,
    Estimand,
    IntercurrentEventSpec,
)

FULL = """
[[analysis.estimands]]
id = "E1"
name = "Primary estimand"
label = "Elasticity, week 12"
description = "Effect on elasticity had everyone kept using the serum"
variableOfInterestId = "cutometer_r2"
visit = "W12"
analysisPopulationId = "per_protocol"
interventionIds = ["ACTIVE"]
populationSummary = "difference in LS mean change from baseline"

[[analysis.estimands.intercurrentEvents]]
name = "discontinued_product"
description = "Stopped the product"
text = "not used after stopping"
strategy = "hypothetical"

[[analysis.estimands.intercurrentEvents]]
name = "rescue_treatment"
strategy = "treatment_policy"

[[analysis.estimands]]
id = "E2"
variableOfInterestId = "corneometer"
[[analysis.estimands.intercurrentEvents]]
name = "prohibited_product"
strategy = "composite"

[[analysis.responders]]
endpoint = "corneometer"
kind = "percent"
threshold = 10
"""


def _load(
    tmp_path: Path, body: str, head: str = 'key_secondary = ["corneometer"]\n'
) -> AnalysisPlan:
    path = tmp_path / "p.toml"
    path.write_text('extends = "iso-efficacy-2025"\n[analysis]\n' + head + body, "utf-8")
    plan = load_protocol(path).analysis
    assert plan is not None
    return plan


def test_every_field_is_parsed(tmp_path: Path) -> None:
    plan = _load(tmp_path, FULL)
    e1, e2 = plan.estimands
    assert e1 == Estimand(
        id="E1",
        name="Primary estimand",
        label="Elasticity, week 12",
        description="Effect on elasticity had everyone kept using the serum",
        variable_of_interest_id="cutometer_r2",
        visit="W12",
        analysis_population_id="per_protocol",
        intervention_ids=("ACTIVE",),
        population_summary=SUMMARY_MEANS,
        intercurrent_events=(
            IntercurrentEventSpec(
                "discontinued_product",
                "Stopped the product",
                "not used after stopping",
                "hypothetical",
            ),
            IntercurrentEventSpec(
                "rescue_treatment",
                "",
                "values after the event are used as observed; missing values are modelled "
                "by the MMRM under missing at random (MAR), as is conventional",
                "treatment_policy",
            ),
        ),
        declared=True,
    )
    # omitted keys: name = id, ITT, every active arm, final visit; composite -> responders
    assert (e2.name, e2.analysis_population_id, e2.intervention_ids, e2.visit) == (
        "E2",
        "itt",
        (),
        "final",
    )
    assert e2.population_summary == SUMMARY_RESPONDERS and e2.responder
    assert e2.strategy("prohibited_product") == "composite"
    assert e2.strategy("discontinued_product") is None
    assert plan.estimand_of("corneometer") is e2
    # the plain form round-trips, USDM names included
    data = plan.to_dict()
    assert data["estimands"][0]["variableOfInterestId"] == "cutometer_r2"
    assert data["estimands"][0]["interventionIds"] == ["ACTIVE"]
    assert AnalysisPlan.from_mapping(data) == plan


def test_defaults_describe_the_analysis() -> None:
    plan = load_protocol("iso-efficacy-2025").analysis
    assert plan is not None
    ids = [e.id for e in plan.estimands]
    assert ids == [
        "primary",
        "key_secondary:corneometer",
        "key_secondary:wrinkle_rz",
        "key_secondary:faceq_satisfaction_facial_appearance",
    ]
    e = plan.estimands[0]
    assert not e.declared
    assert (e.endpoint, e.visit, e.analysis_population_id, e.intervention_ids) == (
        "cutometer_r2",
        "final",
        "itt",
        (),
    )
    assert e.population_summary == "difference in LS mean change from baseline"
    assert [(i.name, i.strategy) for i in e.intercurrent_events] == [
        ("discontinued_product", "hypothetical")
    ]
    # defaults are not written back: an extending protocol gets its own defaults
    assert "estimands" not in plan.to_dict()


def test_defaults_follow_an_extending_protocol(tmp_path: Path) -> None:
    plan = _load(tmp_path, "", head='primary = "corneometer"\nkey_secondary = ["wrinkle_rz"]\n')
    assert [e.id for e in plan.estimands] == ["primary", "key_secondary:wrinkle_rz"]
    assert plan.estimands[0].endpoint == "corneometer"


_ONE = '[[analysis.estimands]]\nid = "E1"\nvariableOfInterestId = "cutometer_r2"\n'
_KS = '[[analysis.estimands]]\nid = "E2"\nvariableOfInterestId = "corneometer"\n'


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            _ONE + _KS + '[[analysis.estimands.intercurrentEvents]]\nname = "x"\n'
            'strategy = "principal_stratum"\n',
            "[analysis.estimands] #2 ('E2') intercurrentEvents #1 strategy = "
            "'principal_stratum' is not supported (a principal stratum needs a model of "
            "stratum membership that this package does not fit); use treatment_policy, "
            "hypothetical, composite, while_on_treatment",
        ),
        (
            _ONE + _KS + '[[analysis.estimands.intercurrentEvents]]\nname = "x"\n'
            'strategy = "ignore"\n',
            "[analysis.estimands] #2 ('E2') intercurrentEvents #1 'strategy' = 'ignore' is "
            "not one of treatment_policy, hypothetical, composite, while_on_treatment",
        ),
        (
            _ONE,
            "[analysis.estimands] no estimand for 'corneometer' (primary and key secondary "
            "endpoints need one); add one with variableOfInterestId = 'corneometer' or "
            "declare no estimands to use the defaults",
        ),
        (
            _ONE + _KS + 'populationSummary = "ratio of means"\n',
            "[analysis.estimands] #2 ('E2') 'populationSummary' = 'ratio of means' is not one "
            "of difference in LS mean change from baseline, difference in responder "
            "proportions",
        ),
        (
            _ONE + _KS + '[[analysis.estimands.intercurrentEvents]]\nname = "x"\n'
            'strategy = "composite"\n',
            "[analysis.estimands] #2 ('E2'): a composite strategy needs a responder "
            "definition; add [[analysis.responders]] for 'corneometer'",
        ),
        (
            _ONE + _KS + 'populationSummary = "difference in LS mean change from baseline"\n'
            '[[analysis.estimands.intercurrentEvents]]\nname = "x"\nstrategy = "composite"\n',
            "[analysis.estimands] #2 ('E2'): a composite strategy needs a responder variable; "
            "set populationSummary = 'difference in responder proportions'",
        ),
        (
            _ONE + _KS + 'analysisPopulationId = "safety"\n',
            "[analysis.estimands] #2 ('E2') 'analysisPopulationId' = 'safety' is not one of "
            "itt, per_protocol",
        ),
        (
            _ONE + _KS + _KS.replace("E2", "E3").replace("corneometer", "cutometer_r0"),
            "[analysis.estimands] #3 ('E3') variableOfInterestId = 'cutometer_r0' is not an "
            "endpoint of the plan; use the primary, a key secondary or a secondary endpoint",
        ),
        (
            _ONE + _KS + _KS.replace("E2", "E3"),
            "[analysis.estimands] variableOfInterestId 'corneometer' has more than one "
            "estimand; declare one estimand per endpoint",
        ),
        (
            _ONE + _KS.replace("E2", "E1"),
            "[analysis.estimands] id 'E1' is used more than once; ids are unique",
        ),
        (
            _ONE + _KS + "colour = 1\n",
            "[analysis.estimands] #2 ('E2') 'colour' is unknown; known: analysisPopulationId, "
            "description, id, interventionIds, label, name, populationSummary, "
            "variableOfInterestId, visit",
        ),
        (
            '[[analysis.estimands]]\nvariableOfInterestId = "cutometer_r2"\n' + _KS,
            "[analysis.estimands] #1 'id' is required (Estimand id (the `estimand` column of "
            "the results).)",
        ),
    ],
)
def test_bad_declarations_name_key_and_fix(tmp_path: Path, body: str, problem: str) -> None:
    with pytest.raises(ProtocolError) as info:
        _load(tmp_path, body)
    assert info.value.problems == (problem,)


def test_per_protocol_estimand_needs_the_population_in_the_plan(tmp_path: Path) -> None:
    body = _ONE + 'analysisPopulationId = "per_protocol"\n' + _KS
    with pytest.raises(ProtocolError) as info:
        _load(tmp_path, body, head='key_secondary = ["corneometer"]\npopulations = ["itt"]\n')
    assert info.value.problems == (
        "[analysis.estimands] #1 ('E1') analysisPopulationId = 'per_protocol' is not one of "
        "the plan's populations (itt); add it to [analysis] populations",
    )
