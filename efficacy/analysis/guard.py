"""The one boundary where a computation problem becomes "not estimable", not a crash.

`analyze` runs each analysis of the plan (one endpoint's MMRM in one population, its
tipping point, one responder rule in one population) through `guarded` or `run_into`.
A computation error there (a singular matrix, a domain error, a fit the data cannot
support) is caught and turned into a one-line reason that names the exception type and
its message; the analysis is then listed in ``AnalysisResult.skipped`` and the rest of
the plan runs. Programming errors (``TypeError``, ``KeyError``, ``AttributeError``,
``IndexError``...) are not caught: they propagate as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["COMPUTATION_ERRORS", "guarded", "not_estimable", "run_into"]

T = TypeVar("T")
#: The run's accumulator: a dataclass buildable without arguments.
AccT = TypeVar("AccT", bound="DataclassInstance")

#: What a computation on awkward data raises: ``ArithmeticError`` covers
#: ``ZeroDivisionError``, ``FloatingPointError`` and ``OverflowError``; ``ValueError``
#: covers numpy's ``LinAlgError``, scipy's domain errors, ``math``
#: domain errors and every ``EfficacyError`` (``ModelSpecError`` included).
COMPUTATION_ERRORS: tuple[type[BaseException], ...] = (
    ArithmeticError,
    ValueError,
    np.linalg.LinAlgError,
)


def not_estimable(exc: BaseException) -> str:
    """Return the one-line reason for `exc`: ``"not estimable: <Type>: <message>"``."""
    message = " ".join(str(exc).split()) or "(no message)"
    return f"not estimable: {type(exc).__name__}: {message}"


def guarded(fn: Callable[[], T]) -> tuple[T | None, str]:
    """Call `fn`; on a computation error return ``(None, reason)``.

    Returns
    -------
    (value, reason)
        ``(fn(), "")`` when it succeeds; ``(None, not_estimable(exc))`` when it raises
        one of :data:`COMPUTATION_ERRORS`. Any other exception propagates.
    """
    try:
        return fn(), ""
    except COMPUTATION_ERRORS as exc:
        return None, not_estimable(exc)


def run_into(acc: AccT, fn: Callable[[AccT], None]) -> str:
    """Run `fn` on a fresh accumulator and merge it into `acc` only if it succeeds.

    Parameters
    ----------
    acc : dataclass instance
        The run's accumulator, buildable without arguments; its list fields are
        extended and its dict fields updated; other fields (run-wide state such as
        the scored trial) are not touched.
    fn : callable
        Adds one analysis's results to the accumulator it is given.

    Returns
    -------
    str
        ``""`` on success; otherwise the reason (see `guarded`), and `acc` is left
        exactly as it was: nothing of a half-finished analysis is kept.
    """
    part = type(acc)()
    _, why = guarded(lambda: fn(part))
    if why:
        return why
    for f in dataclasses.fields(acc):
        target, new = getattr(acc, f.name), getattr(part, f.name)
        if isinstance(target, dict):
            target.update(new)
        elif isinstance(target, list):
            target.extend(new)
    return ""
