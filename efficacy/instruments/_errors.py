"""Errors and warnings of the scoring and derivation code (subclasses of the house ones)."""

from __future__ import annotations

from collections.abc import Sequence

from efficacy.errors import EfficacyError, EfficacyWarning, InputError

__all__ = ["ConversionTableError", "ScoringError", "UnconvertedScoreWarning"]


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


class UnconvertedScoreWarning(EfficacyWarning):
    """FACE-Q scores left as raw sums (no conversion table for their scale)."""
