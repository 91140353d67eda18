"""Exceptions and warnings raised by `efficacy`: one hierarchy, in this one module.

Exceptions are for misuse and unusable input only; problems *in* trial data are
reported as validation findings, never raised. Every message names the argument or the
file (and row) at fault and says how to fix it, on one line: line breaks and runs of
white space that reach a message from TOML values or data are collapsed here, once, for
every error and warning.

::

    EfficacyError (ValueError)
    ├── InputError                 an input file or folder cannot be used
    │   └── ConversionTableError   a FACE-Q conversion table is unusable
    ├── ProtocolError              a protocol file or identifier is invalid
    ├── ModelSpecError             a model specification cannot be fitted
    ├── ScoringError               data that cannot be scored as asked
    ├── ValidationFailedError      ValidationReport.raise_for_errors()
    └── UsageError                 a command-line option that cannot be used
    EfficacyWarning (UserWarning)
    ├── ConvergenceWarning
    └── UnconvertedScoreWarning
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ConvergenceWarning",
    "ConversionTableError",
    "EfficacyError",
    "EfficacyWarning",
    "InputError",
    "ModelSpecError",
    "ProtocolError",
    "ScenarioError",
    "ScoringError",
    "UnconvertedScoreWarning",
    "UsageError",
    "ValidationFailedError",
]


def one_line(text: object) -> str:
    r"""Return `text` on one line: every run of white space (newlines too) becomes a space.

    Examples
    --------
    >>> one_line("protocol 'x\ny':\n  2 problems")
    "protocol 'x y': 2 problems"
    """
    return " ".join(str(text).split())


def _one_line_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args and isinstance(args[0], str):
        return (one_line(args[0]), *args[1:])
    return args


class EfficacyError(ValueError):
    """Base class of every error `efficacy` raises on purpose; its message is one line."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*_one_line_args(args))


class InputError(EfficacyError):
    """An input file or folder cannot be used at all (missing, unreadable, unsafe path).

    Also an output folder that cannot be written. The CLI turns it into a one-line
    message and exit code 2.
    """


class ProtocolError(EfficacyError):
    """A protocol file or identifier is invalid.

    Parameters
    ----------
    message : str
        What is invalid (with `problems`: where, e.g. ``"protocol 'x'"``).
    problems : sequence of str, optional
        Every problem found, one string each; the message then reads
        ``"<message>: <n> problem(s): <p1>; <p2>"``.

    Attributes
    ----------
    problems : tuple of str
        The problems (empty when the error was raised with a message only).
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(one_line(p) for p in problems)
        if self.problems:
            n = len(self.problems)
            message = f"{message}: {n} problem{'s' if n != 1 else ''}: " + "; ".join(self.problems)
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self.problems))


def _rebuild(cls: type[ProtocolError], message: str, problems: tuple[str, ...]) -> Any:
    err = cls.__new__(cls)
    EfficacyError.__init__(err, message)
    err.problems = problems
    return err


#: Former name of :class:`ProtocolError` (one class now); kept so old imports work.
InvalidProtocolError = ProtocolError


class ScenarioError(InputError):
    """A planning scenario that cannot be simulated; ``problems`` lists every problem.

    The message is the source (file) and every problem, each naming its key path and
    the fix (:func:`efficacy.plan.load_scenario`).
    """

    def __init__(self, source: str, problems: list[str] | tuple[str, ...]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[str, tuple[str, ...]]]:
        """Pickle with the constructor's arguments (a worker's error reaches the caller)."""
        return (ScenarioError, (self.source, self.problems))


class ModelSpecError(EfficacyError):
    """A model specification (formula, columns, covariance, options) cannot be fitted."""


class ScoringError(EfficacyError):
    """Data that cannot be scored as asked: the derivation refuses rather than guess.

    Raised for probe apertures mixed within a Cutometer endpoint and for 2D complexion
    imaging (VISIA-type) recorded as 3D wrinkle depth. The message names the endpoint,
    the rows and the fix.
    """


class ConversionTableError(InputError):
    """A FACE-Q conversion table is unusable; ``problems`` lists every problem found.

    The message is one line: the file, the number of problems, then each problem (with
    its 1-based data row where there is one) and how to fix it.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems: tuple[str, ...] = tuple(problems)
        n = len(self.problems)
        super().__init__(
            f"{source}: invalid FACE-Q conversion table, {n} problem{'s' if n != 1 else ''}: "
            + "; ".join(self.problems)
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.source, self.problems))


class ValidationFailedError(EfficacyError):
    """Raised by :meth:`ValidationReport.raise_for_errors` when there are error findings."""


class UsageError(EfficacyError):
    """A command-line option or argument that cannot be used (exit code 2)."""


class EfficacyWarning(UserWarning):
    """Base class of warnings issued by `efficacy`; its message is one line."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*_one_line_args(args))


class ConvergenceWarning(EfficacyWarning):
    """An optimiser stopped without meeting its convergence criteria."""


class UnconvertedScoreWarning(EfficacyWarning):
    """FACE-Q scores left as raw sums (no conversion table for their scale)."""
