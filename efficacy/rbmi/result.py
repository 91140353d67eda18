"""`ReferenceBasedResult`: the pooled estimates of a reference-based imputation."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RESULT_COLUMNS", "ReferenceBasedResult"]

#: Columns of :meth:`ReferenceBasedResult.to_frame`.
RESULT_COLUMNS: tuple[str, ...] = (
    "parameter",
    "group",
    "visit",
    "estimate",
    "std_error",
    "df",
    "conf_low",
    "conf_high",
    "p_value",
)


@dataclass(frozen=True)
class ReferenceBasedResult:
    """Pooled ANCOVA estimates after reference-based multiple imputation.

    Attributes
    ----------
    method : {"conditional-mean", "approximate-bayes"}
    resampling : {"jackknife", "bootstrap"}
        How the imputation model was resampled (approximate Bayes: always bootstrap).
    pooling : str
        ``"jackknife"``, ``"bootstrap (percentile)"`` or ``"rubin"``.
    n_samples : int
        Resamples analysed besides the full data (jackknife: the number of subjects;
        approximate Bayes: the number of imputed data sets).
    n_failed : int
        Bootstrap samples whose MMRM fit failed and was replaced.
    seed : int or None
        The entropy of the `numpy.random.SeedSequence` used (None for the jackknife,
        which draws nothing); passing it as ``seed`` reproduces the result.
    strategies : dict
        Number of subjects per strategy (subjects without an event count as MAR).
    references : dict
        Each group's reference group.
    imputation_model : str
        Formula and covariance of the imputation MMRM.
    conf_level : float
        0.95.
    """

    method: str
    resampling: str
    pooling: str
    n_samples: int
    n_failed: int
    seed: int | None
    strategies: dict[str, int]
    references: dict[Any, Any]
    imputation_model: str
    conf_level: float
    _rows: tuple[tuple[Any, ...], ...] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per visit and parameter (a new frame each call).

        Columns (:data:`RESULT_COLUMNS`): ``parameter`` (``"difference"``: a group minus
        the first group of the group column, ``"lsmean"``), ``group`` (the LS mean's
        group; for a difference ``"<group> - <first group>"``), ``visit``, ``estimate``,
        ``std_error``, ``df`` (``inf`` for normal-theory jackknife and bootstrap
        inference), ``conf_low``, ``conf_high``, ``p_value`` (two-sided).
        """
        frame = pd.DataFrame(list(self._rows), columns=list(RESULT_COLUMNS))
        for col in RESULT_COLUMNS[3:]:
            frame[col] = frame[col].astype(float)
        return frame

    def summary(self) -> str:
        """Plain-text summary: settings, then the estimates rounded for reading."""
        head = [
            f"Reference-based multiple imputation ({self.method}, {self.pooling} pooling, "
            f"{self.n_samples} resamples)",
            f"Imputation model: {self.imputation_model}",
            "Strategies: " + ", ".join(f"{k} {v}" for k, v in self.strategies.items()),
            "References: " + ", ".join(f"{k} -> {v}" for k, v in self.references.items()),
        ]
        table = self.to_frame()
        for col in ("estimate", "std_error", "conf_low", "conf_high"):
            table[col] = table[col].map(lambda v: f"{v:.4f}")
        table["df"] = table["df"].map(lambda v: "inf" if np.isinf(v) else f"{v:.1f}")
        table["p_value"] = table["p_value"].map(lambda v: f"{v:.4g}")
        return "\n".join([*head, "", table.to_string(index=False)])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"
