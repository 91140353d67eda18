"""Rules are listed explicitly: every Rule a rules_* module defines is in its RULES tuple."""

from __future__ import annotations

import importlib

import pytest

from efficacy.validation import RULES
from efficacy.validation._rule import Rule
from efficacy.validation.registry import DATA_RULES

MODULES = ("consort", "cutometer", "design", "events", "integrity", "pro", "schema")


@pytest.mark.parametrize("name", MODULES)
def test_module_lists_every_rule_it_defines(name: str) -> None:
    module = importlib.import_module(f"efficacy.validation.rules_{name}")
    defined = {v.id for v in vars(module).values() if isinstance(v, Rule)}
    listed = [r.id for r in module.RULES]
    assert len(listed) == len(set(listed))
    assert set(listed) == defined
    assert all(r in DATA_RULES for r in module.RULES)


def test_data_rules_by_family() -> None:
    counts: dict[str, int] = {}
    for r in DATA_RULES:
        counts[r.id.split("-")[0]] = counts.get(r.id.split("-")[0], 0) + 1
    assert counts == {"CON": 6, "DES": 4, "DSJ": 6, "ICE": 3, "INT": 11, "PRO": 6, "SCH": 13}
    assert len(RULES) == len(DATA_RULES) == 49


def test_a_rule_is_a_callable_record_and_the_registry_is_read_only() -> None:
    from efficacy.validation.rules_consort import check_flow

    assert isinstance(check_flow, Rule) and check_flow.id == "CON-001"
    assert RULES["CON-001"] is check_flow
    with pytest.raises(TypeError):
        RULES["CON-999"] = check_flow  # type: ignore[index]
