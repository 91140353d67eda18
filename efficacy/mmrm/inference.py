"""Estimates, standard errors, degrees of freedom and tests for linear functions of beta.

One object per fit dispatches on the df method:

* ``satterthwaite``: `efficacy.mmrm.ddf.satterthwaite` (1 row) and
  `efficacy.mmrm.ddf.satterthwaite_f` (several rows), SAS ``DDFM=SATTERTHWAITE``;
* ``kenward-roger`` / ``kenward-roger-linear``: the Kenward-Roger adjusted covariance
  and df of `efficacy.mmrm.ddf.kenward_roger`, SAS ``DDFM=KR`` / ``KR(LINEAR)``; F tests
  are the scaled ``lambda F`` referred to ``F(q, m)``;
* ``residual``: ``n - rank(X)`` (SAS ``DDFM=RESIDUAL``);
* ``between-within``: `efficacy.mmrm.hypotheses.design_df` (SAS ``DDFM=BETWITHIN``).

Under an empirical covariance (``vcov`` other than ``model-based``,
`efficacy.mmrm.robust`) standard errors and F statistics use the sandwich, and
``satterthwaite`` becomes mmrm's empirical (Bell-McCaffrey) df, ``residual`` keeps
``n - rank(X)`` and ``between-within`` follows R mmrm's definition
(`efficacy.mmrm.robust.MmrmBetweenWithin`), as R mmrm does with these covariances.

All matrices ``L`` here are over the kept (non-aliased) coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from efficacy.mmrm import ddf
from efficacy.mmrm._likelihood import PatternData
from efficacy.mmrm.design import Design
from efficacy.mmrm.engine import EngineFit, ModelArrays
from efficacy.mmrm.hypotheses import DesignDF, design_df
from efficacy.mmrm.modelmatrix import TermSpec
from efficacy.mmrm.robust import (
    ROBUST_VCOV,
    MmrmBetweenWithin,
    RobustCovariance,
    robust_covariance,
)

__all__ = ["Inference", "make_inference"]


@dataclass(frozen=True)
class Inference:
    """Tests of linear functions of the kept coefficients for one fit."""

    df_method: str
    fit: EngineFit
    arrays: ModelArrays
    design: Design
    design_df: DesignDF | None
    kr: ddf.KRAdjustment | None
    usable: bool
    vcov: str = "model-based"
    robust: RobustCovariance | None = None
    bw_mmrm: MmrmBetweenWithin | None = None

    @property
    def beta(self) -> np.ndarray:
        """Kept coefficients (NaN when the fit is not usable)."""
        return self.fit.beta if self.usable else np.full_like(self.fit.beta, np.nan)

    @property
    def cov(self) -> np.ndarray:
        """Coefficient covariance: Kenward-Roger adjusted under ``kenward-roger``."""
        if self.robust is not None:
            c = self.robust.cov
        else:
            c = self.kr.cov_beta if self.kr is not None else self.fit.cov_beta
        return c if self.usable else np.full_like(c, np.nan)

    def t_rows(
        self, L: np.ndarray, term: TermSpec | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Estimate, standard error and df of each row of ``L`` (k, p_kept)."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        k = L.shape[0]
        if not self.usable:
            nan = np.full(k, np.nan)
            return nan, nan.copy(), nan.copy()
        est = L @ self.beta
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", L, self.cov, L), 0.0))
        if self.kr is not None:
            df = kr_df_rows(self.kr, L)
        elif self.robust is not None and self.df_method == "satterthwaite":
            df = self.robust.df_rows(L)
        else:
            df = np.array([self._df_row(row, term) for row in L])
        df[~(se > 0)] = np.nan
        return est, se, df

    def _df_row(self, row: np.ndarray, term: TermSpec | None) -> float:
        method = self.df_method
        if method == "satterthwaite":
            return ddf.satterthwaite(self.fit, self.arrays, row)[2]
        if self.kr is not None:
            return self.kr.test(row)[2]
        if self.bw_mmrm is not None and method == "between-within":
            return self.bw_mmrm.df(row)
        dd = self._dd()
        return dd.residual if method == "residual" else dd.bw_for(self.design, row, term)

    def _dd(self) -> DesignDF:
        if self.design_df is None:  # only residual / between-within use it
            raise RuntimeError("design df not prepared")
        return self.design_df

    def f_test(
        self, L: np.ndarray, term: TermSpec | None = None
    ) -> tuple[float, float, float, float]:
        """F statistic, numerator df, denominator df and p value of ``L beta = 0``."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if not self.usable or L.shape[0] == 0:
            return np.nan, float(L.shape[0]), np.nan, np.nan
        method = self.df_method
        if method == "satterthwaite" and self.robust is not None:
            return self.robust.f_test(L, self.beta)
        if method == "satterthwaite":
            f, q, den = ddf.satterthwaite_f(self.fit, self.arrays, L)
        elif self.kr is not None:
            f, q, den, _ = self.kr.f_test(L)
        else:
            est = L @ self.beta
            q = float(L.shape[0])
            f = float(est @ np.linalg.solve(L @ self.cov @ L.T, est)) / q
            dd = self._dd()
            if self.bw_mmrm is not None and method == "between-within":
                den = self.bw_mmrm.df(L)
            else:
                den = dd.residual if method == "residual" else dd.bw_for(self.design, L, term)
        p = float(stats.f.sf(f, q, den)) if np.isfinite(den) else np.nan
        return float(f), float(q), float(den), p


def kr_df_rows(kr: ddf.KRAdjustment, L: np.ndarray) -> np.ndarray:
    """Kenward-Roger df of each one-row contrast in ``L`` (vectorised `ddf.kr_df`).

    For a single row ``l``, ``Theta = l'l / (l Phi l')``, so both traces of Kenward and
    Roger (1997, section 4) reduce to ``A1 = A2 = t' W t`` with
    ``t_i = l Phi P_i Phi l' / l Phi l'``, and ``q = 1`` fixes ``g = -1``,
    ``c1 = -1/7``, ``c2 = 2/7``, ``c3 = 4/7``; the df is ``m = 4 + 3 / (rho - 1)``.
    Equal to `efficacy.mmrm.ddf.KRAdjustment.test` (tested), for all rows at once.
    """
    phi, w, g_mats = kr.cov_beta_unadjusted, kr.phi_vcov, kr.sandwiches
    v = np.einsum("ij,jk,ik->i", L, phi, L)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ddf.einsum_greedy("ia,kab,ib->ik", L, g_mats, L) / v[:, None]
        a = np.einsum("ik,kl,il->i", t, w, t)
        b = 3.5 * a
        c1, c2, c3 = -1.0 / 7.0, 2.0 / 7.0, 4.0 / 7.0
        e_star = 1.0 / (1.0 - a)
        v_star = 2.0 * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
        rho = v_star / (2.0 * e_star**2)
        m: np.ndarray = 4.0 + 3.0 / (rho - 1.0)
        return m


def make_inference(
    df_method: str,
    fit: EngineFit,
    arrays: ModelArrays,
    design: Design,
    vcov: str = "model-based",
    *,
    patterns: PatternData | None = None,
) -> Inference:
    """Prepare the df machinery of ``df_method`` (and the ``vcov`` covariance) for a fit.

    `patterns` is ``engine.pattern_data(arrays)`` when the caller has it (Kenward-Roger
    reads it; it is built from `arrays` otherwise).
    """
    usable = bool(fit.converged)
    kr = None
    if usable and df_method in ("kenward-roger", "kenward-roger-linear"):
        linear = df_method == "kenward-roger-linear"
        kr = ddf.kenward_roger(fit, arrays, linear=linear, patterns=patterns)
    robust = bw_mmrm = None
    if usable and vcov in ROBUST_VCOV:
        robust = robust_covariance(fit, arrays, vcov, tuple(design.subject_levels))
        if df_method == "between-within":  # R mmrm's convention under empirical vcov
            names = tuple(n for n, k in zip(design.column_names, design.kept, strict=True) if k)
            bw_mmrm = MmrmBetweenWithin.of(arrays.X, arrays.subject, names)
    return Inference(
        df_method=df_method,
        fit=fit,
        arrays=arrays,
        design=design,
        design_df=(
            design_df(design, fit.covariance)
            if df_method in ("residual", "between-within")
            else None
        ),
        kr=kr,
        usable=usable,
        vcov=vcov,
        robust=robust,
        bw_mmrm=bw_mmrm,
    )


def t_sf(x: Any, df: Any) -> Any:
    """Student's t survival function, equal bit for bit to ``scipy.stats.t.sf(x, df)``.

    ``scipy.stats.t.sf`` checks its arguments and masks the support around the very
    call made here, ``scipy.special.stdtr(df, -x)``, which already gives the same value
    everywhere (``nan`` for ``df <= 0`` or ``nan`` arguments, ``0`` at ``x = inf``),
    at a fraction of the cost (a test compares both over a grid with these edges).

    Examples
    --------
    >>> float(t_sf(2.0, 10.0))
    0.03669401738537018
    """
    return special.stdtr(df, np.negative(x))


def t_ppf(q: Any, df: Any) -> Any:
    """Student's t quantile function, equal bit for bit to ``scipy.stats.t.ppf(q, df)``.

    ``scipy.special.stdtrit(df, q)``, the call ``scipy.stats.t.ppf`` makes inside its
    argument checks, with the one place where they differ restored: ``q = 0`` with
    ``df > 0`` is ``-inf`` (``stdtrit`` gives ``+inf``).

    Examples
    --------
    >>> float(t_ppf(0.975, 10.0))
    2.228138851986274
    """
    out = special.stdtrit(df, q)
    zero = np.asarray(q) == 0.0
    if zero.any():
        out = np.where(zero & (np.asarray(df) > 0.0), -np.inf, out)[()]
    return out


def t_columns(
    est: np.ndarray, se: np.ndarray, df: np.ndarray, level: float
) -> dict[str, np.ndarray]:
    """Statistic, two-sided p value and t-based confidence limits."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        p = 2.0 * t_sf(np.abs(t), df)
        q = t_ppf(0.5 + level / 2.0, df)
    return {
        "statistic": t,
        "p_value": p,
        "conf_low": est - q * se,
        "conf_high": est + q * se,
    }
