"""Exceptions and warnings raised by `efficacy`.

Exceptions are for misuse and unusable input only; problems *in* trial data are
reported as validation findings, never raised. Every message names the argument or the
file (and row) at fault and says how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "EfficacyError",
    "EfficacyWarning",
    "InputError",
    "ModelSpecError",
    "ProtocolError",
]


class EfficacyError(ValueError):
    """Base class of every error `efficacy` raises on purpose."""


class InputError(EfficacyError):
    """An input file or folder cannot be used at all (missing, unreadable, unsafe path).

    The CLI turns it into a one-line message and exit code 2.
    """


class ProtocolError(EfficacyError):
    """A protocol file or identifier is invalid; the message lists every problem."""


class ModelSpecError(EfficacyError):
    """A model specification (formula, columns, covariance, options) cannot be fitted."""


class EfficacyWarning(UserWarning):
    """Base class of warnings issued by `efficacy`."""


class ConvergenceWarning(EfficacyWarning):
    """An optimiser stopped without meeting its convergence criteria."""
