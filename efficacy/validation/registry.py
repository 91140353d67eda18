"""The rule registry: every data rule is a :class:`Rule` with a stable id.

Data rules (schema, integrity, design, pro, cutometer, consort) are listed explicitly:
each ``rules_*`` module has a ``RULES`` tuple and :data:`DATA_RULES` joins them here,
the one list of rule modules (nothing registers itself on import). The standard's
requirements (ISO-*) are rules too, made per protocol by :func:`rules_for`: their
title, text, severity and parameters come from the protocol, their check from the
requirement's ``check`` family.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from efficacy.errors import EfficacyError
from efficacy.validation import (
    rules_consort,
    rules_cutometer,
    rules_datasetjson,
    rules_design,
    rules_events,
    rules_integrity,
    rules_pro,
    rules_schema,
)
from efficacy.validation._cache import kept_fingerprint
from efficacy.validation._rule import CATEGORIES, Check, Rule, rule
from efficacy.validation.rules_packs import PACK_CHECKS
from efficacy.validation.rules_standard import STANDARD_CHECKS

if TYPE_CHECKING:
    from efficacy.protocol import Protocol, Requirement
    from efficacy.validation.context import Context
    from efficacy.validation.findings import Part

__all__ = ["CATEGORIES", "DATA_RULES", "RULES", "Check", "Rule", "rule", "rules_for"]

#: Every data rule, module by module (each module's ``RULES`` in its own order).
DATA_RULES: tuple[Rule, ...] = (
    *rules_consort.RULES,
    *rules_cutometer.RULES,
    *rules_design.RULES,
    *rules_datasetjson.RULES,
    *rules_events.RULES,
    *rules_integrity.RULES,
    *rules_pro.RULES,
    *rules_schema.RULES,
)


def _by_id(rules: tuple[Rule, ...]) -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for r in rules:
        if r.id in out:
            raise EfficacyError(f"rule id {r.id!r} is listed twice")
        out[r.id] = r
    return out


_RULES: dict[str, Rule] = _by_id(DATA_RULES)

#: Data rules by id (read-only view of :data:`DATA_RULES`).
RULES: Mapping[str, Rule] = MappingProxyType(_RULES)


def _requirement_rule(req: Requirement) -> Rule:
    impl = STANDARD_CHECKS.get(req.check) or PACK_CHECKS[req.check]

    def check(ctx: Context) -> Iterable[Part]:
        return impl(ctx, req)

    # its results are those of this check function on this requirement (every field)
    key = ("requirement", impl, kept_fingerprint(req))
    return Rule(req.id, req.title, req.text, "standard", req.severity, req.source, check, key)


def rules_for(protocol: Protocol) -> tuple[Rule, ...]:
    """All rules a validation against `protocol` runs: data rules, then requirements.

    Raises
    ------
    efficacy.errors.EfficacyError
        If a protocol requirement id collides with a data rule id.
    """
    clash = [r.id for r in protocol.requirements if r.id in _RULES]
    if clash:
        raise EfficacyError(
            f"protocol {protocol.id!r} requirement ids {clash} collide with data rule ids; "
            "rename the requirements"
        )
    data_rules = sorted(_RULES.values(), key=lambda r: (CATEGORIES.index(r.category), r.id))
    return (*data_rules, *(_requirement_rule(r) for r in protocol.requirements))
