"""The rule registry: every data rule is a registered :class:`Rule` with a stable id.

Data rules (schema, integrity, design, pro, consort) register themselves with the
:func:`rule` decorator when their module is imported. The standard's requirements
(ISO-*) are rules too, made per protocol by :func:`rules_for`: their title, text,
severity and parameters come from the protocol, their check from the requirement's
``check`` family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from efficacy.errors import EfficacyError
from efficacy.protocol.params import SEVERITIES

if TYPE_CHECKING:
    from efficacy.protocol import Protocol, Requirement
    from efficacy.validation.context import Context
    from efficacy.validation.findings import Part

__all__ = ["CATEGORIES", "RULES", "Rule", "rule", "rules_for"]

#: Rule families, in the order reports list them.
CATEGORIES: tuple[str, ...] = ("schema", "integrity", "design", "pro", "consort", "standard")

Check = Callable[["Context"], Iterable["Part"]]


@dataclass(frozen=True)
class Rule:
    """A validation rule.

    Attributes
    ----------
    id : str
        Stable public id (e.g. ``"INT-006"``); never renamed.
    title : str
        Short title.
    description : str
        What the rule checks and why.
    category : str
        One of :data:`CATEGORIES`.
    severity : {"error", "warning", "notice"}
        Default severity of its findings (a finding may carry another, e.g. SCH-010).
    source : str
        Where the rule comes from (FACTS.md section, CONSORT, data integrity...).
    check : callable
        ``check(context) -> iterable of findings parts``; raises
        :class:`~efficacy.validation.findings.NotApplicable` or
        :class:`~efficacy.validation.findings.CouldNotRun` to skip with a reason.
    """

    id: str
    title: str
    description: str
    category: str
    severity: str
    source: str
    check: Check

    def __post_init__(self) -> None:
        problems = []
        if self.category not in CATEGORIES:
            problems.append(f"category {self.category!r} is not one of {CATEGORIES}")
        if self.severity not in SEVERITIES:
            problems.append(f"severity {self.severity!r} is not one of {SEVERITIES}")
        if not callable(self.check):
            problems.append("check must be callable")
        if problems:
            raise EfficacyError(f"rule {self.id!r}: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data description (without the check)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "severity": self.severity,
            "source": self.source,
        }


_RULES: dict[str, Rule] = {}

#: Registered data rules by id, in registration order (read-only view).
RULES: Mapping[str, Rule] = MappingProxyType(_RULES)


def rule(
    id: str,
    title: str,
    category: str,
    severity: str,
    source: str,
    description: str,
) -> Callable[[Check], Check]:
    """Register the decorated check function as rule `id`."""

    def register(check: Check) -> Check:
        if id in _RULES:
            raise EfficacyError(f"rule id {id!r} is registered twice")
        _RULES[id] = Rule(id, title, description, category, severity, source, check)
        return check

    return register


def _requirement_rule(req: Requirement) -> Rule:
    from efficacy.validation.rules_standard import STANDARD_CHECKS

    impl = STANDARD_CHECKS[req.check]

    def check(ctx: Context) -> Iterable[Part]:
        return impl(ctx, req)

    return Rule(req.id, req.title, req.text, "standard", req.severity, req.source, check)


def rules_for(protocol: Protocol) -> tuple[Rule, ...]:
    """All rules a validation against `protocol` runs: data rules, then requirements.

    Raises
    ------
    efficacy.errors.EfficacyError
        If a protocol requirement id collides with a data rule id.
    """
    from efficacy.validation import (  # noqa: F401 - registers the data rules
        rules_consort,
        rules_cutometer,
        rules_design,
        rules_integrity,
        rules_pro,
        rules_schema,
    )

    clash = [r.id for r in protocol.requirements if r.id in _RULES]
    if clash:
        raise EfficacyError(
            f"protocol {protocol.id!r} requirement ids {clash} collide with data rule ids; "
            "rename the requirements"
        )
    data_rules = sorted(_RULES.values(), key=lambda r: (CATEGORIES.index(r.category), r.id))
    return (*data_rules, *(_requirement_rule(r) for r in protocol.requirements))
