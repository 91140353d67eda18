"""What a data rule is: the :class:`Rule` record and the :func:`rule` decorator.

The decorator builds the :class:`Rule` and nothing else: it registers nothing. Each
``rules_*`` module lists its rules in an explicit ``RULES`` tuple, and
:mod:`efficacy.validation.registry` joins those tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from efficacy.errors import EfficacyError
from efficacy.protocol.params import SEVERITIES

if TYPE_CHECKING:
    from efficacy.validation.context import Context
    from efficacy.validation.findings import Part

__all__ = ["CATEGORIES", "Check", "Rule", "rule"]

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
    key : hashable, optional
        What identifies the rule's result for a trial, beside the protocol parts it
        reads (see :mod:`efficacy.validation._cache`); None: the rule itself. A
        requirement's rule sets it to its requirement and check function. Not compared.
    """

    id: str
    title: str
    description: str
    category: str
    severity: str
    source: str
    check: Check
    key: Hashable = field(default=None, compare=False, repr=False)

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

    @property
    def cache_key(self) -> Hashable:
        """The key of this rule's stored results: :attr:`key`, else the rule itself."""
        return self.key if self.key is not None else self

    def __call__(self, ctx: Context) -> Iterable[Part]:
        """Run the check on `ctx` (see :attr:`check`)."""
        return self.check(ctx)

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


def rule(
    id: str,
    title: str,
    category: str,
    severity: str,
    source: str,
    description: str,
) -> Callable[[Check], Rule]:
    """Make the decorated check function rule `id` (a callable :class:`Rule`)."""

    def make(check: Check) -> Rule:
        return Rule(id, title, description, category, severity, source, check)

    return make
