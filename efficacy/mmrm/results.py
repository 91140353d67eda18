"""`MMRMResult`: the immutable result of `efficacy.fit_mmrm`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import ModelSpecError
from efficacy.mmrm import covariance as cov_mod
from efficacy.mmrm import lsmeans as lsm
from efficacy.mmrm._render import render_html, render_text
from efficacy.mmrm.design import Design
from efficacy.mmrm.hypotheses import resolve_term, type3_matrix
from efficacy.mmrm.inference import Inference, t_columns

__all__ = ["COEF_COLUMNS", "MMRMResult", "WaldTest"]

COEF_COLUMNS = (
    "term",
    "estimate",
    "std_error",
    "df",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)
LSMEANS_STATS = ("estimate", "std_error", "df", "conf_low", "conf_high")
CONTRAST_STATS = (
    "contrast",
    "estimate",
    "std_error",
    "df",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)
ANOVA_COLUMNS = ("term", "num_df", "den_df", "statistic", "p_value")


@dataclass(frozen=True)
class WaldTest:
    """An F test of ``L beta = 0``.

    Attributes
    ----------
    statistic : float
        F statistic (Kenward-Roger: the scaled ``lambda F``).
    num_df, den_df : float
        Numerator df (the rank of ``L``) and denominator df of the chosen df method.
    p_value : float
        ``P(F(num_df, den_df) > statistic)``.
    """

    statistic: float
    num_df: float
    den_df: float
    p_value: float


def _check_level(level: float) -> float:
    if not isinstance(level, float | int) or not 0.0 < float(level) < 1.0:
        raise ModelSpecError(f"level must be a number between 0 and 1, got {level!r}")
    return float(level)


@dataclass(frozen=True, eq=False, repr=False)
class MMRMResult:
    """Result of an MMRM fit (immutable; build it with `efficacy.fit_mmrm`).

    Attributes
    ----------
    formula, method, covariance_structure, df_method : str
        What was fitted: the fixed-effects formula, ``"reml"`` or ``"ml"``, the
        covariance structure (``"us"``, ...) and the df method.
    loglik : float
        Log-likelihood (REML or ML) as SAS and R report it: ``-2 * loglik`` is SAS's
        "-2 Res Log Likelihood" (REML) or "-2 Log Likelihood" (ML).
    aic, bic : float
        SAS's definitions: REML ``AIC = -2LL + 2q``, ``BIC = -2LL + q log(N)`` with ``q``
        covariance parameters; ML counts ``q + p`` (``p`` = rank of X). ``N`` is SAS's
        number of subjects: those with at least one row in which nothing but the
        outcome is missing (fev_data: 200, although 197 have an observed outcome).
    n_obs, n_subjects : int
        Analysed observations and subjects.
    converged : bool
        Whether the optimiser converged. When False, every estimate, standard error,
        df, test, likelihood and covariance is NaN (SAS omits its tables, R mmrm stops):
        no number from a failed fit can be mistaken for a result.
    iterations : int
        Optimiser iterations (all attempts).
    optimizer : str
        The optimiser that produced the estimates.
    warnings : tuple of str
        Everything worth knowing: dropped levels, aliased columns, optimiser attempts.
    """

    formula: str
    method: str
    covariance_structure: str
    df_method: str
    loglik: float
    aic: float
    bic: float
    n_obs: int
    n_subjects: int
    converged: bool
    iterations: int
    optimizer: str
    warnings: tuple[str, ...]
    _design: Design = field(repr=False)
    _inference: Inference = field(repr=False)
    _coef_estimate: np.ndarray = field(repr=False)
    _coef_std_error: np.ndarray = field(repr=False)
    _coef_df: np.ndarray = field(repr=False)
    _covariance_matrices: tuple[np.ndarray, ...] = field(repr=False)

    # ------------------------------------------------------------------ attributes

    @property
    def vcov(self) -> str:
        """Coefficient covariance in use: ``"model-based"`` or an empirical one.

        ``"model-based"`` is ``(X'V^{-1}X)^{-1}`` (Kenward-Roger adjusted under
        ``df_method="kenward-roger"``); ``"empirical"``, ``"empirical-jackknife"`` and
        ``"empirical-bias-reduced"`` are R mmrm's sandwich estimators (CR0, CR3, CR2).
        """
        return self._inference.vcov

    @property
    def excluded(self) -> pd.DataFrame:
        """Rows left out of the fit.

        Columns: ``row`` (the caller's index label), ``columns`` (the columns with a
        missing value, comma-separated) and ``reason`` (e.g. ``"missing outcome"``).
        """
        return self._design.excluded

    @property
    def covariance(self) -> pd.DataFrame | dict[Any, pd.DataFrame]:
        """Estimated within-subject covariance matrix (visits x visits).

        A dict of them keyed by group level when the fit has ``group=``. Visits are in
        the visit order (Categorical order, else sorted). SAS lists UN parameters with
        its own level order (with ``ref='VIS1'``: VIS2, VIS3, VIS4, VIS1).
        """
        levels = list(self._design.visit_levels)
        frames = [
            pd.DataFrame(s.copy(), index=levels, columns=levels) for s in self._covariance_matrices
        ]
        for f in frames:
            f.index.name = self._design.visit_col
        if self._design.group_levels is None:
            return frames[0]
        return dict(zip(self._design.group_levels, frames, strict=True))

    def covariance_parameters(self) -> pd.DataFrame:
        """Covariance parameters as SAS lists them ("Covariance Parameter Estimates").

        Returns
        -------
        pandas.DataFrame
            Columns ``group`` (the group level, or None without ``group=``), ``name``
            (SAS's label: ``UN(i,j)``, ``CS``/``Residual``, ``Var(i)``/``Corr``...) and
            ``estimate``. Indices ``i, j`` count visits in this fit's visit order; SAS
            numbers them in its own CLASS order (with ``ref='VIS1'``: VIS2, VIS3, VIS4,
            VIS1).
        """
        fit = self._inference.fit
        groups = self._design.group_levels
        n_groups = len(groups) if groups is not None else 1
        values = cov_mod.natural_from_theta(
            fit.covariance, fit.theta, len(self._design.visit_levels), n_groups
        )
        names = cov_mod.natural_names(fit.covariance, len(self._design.visit_levels), n_groups)
        if not self.converged:
            values = np.full(len(names), np.nan)
        group_col: list[Any] = [None] * len(names)
        if groups is not None:
            per = len(names) // n_groups
            group_col = [groups[i // per] for i in range(len(names))]
            names = tuple(n.split(":", 1)[1] if ":" in n else n for n in names)
        return pd.DataFrame(
            {"group": group_col, "name": list(names), "estimate": np.asarray(values, float)}
        )

    @property
    def terms(self) -> tuple[str, ...]:
        """Model term labels in R's order (``"(Intercept)"``, ``"ARMCD:AVISIT"``...)."""
        return tuple(t.label for t in self._design.mm.terms)

    # ------------------------------------------------------------------ tables

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table, one row per model-matrix column (R names).

        Parameters
        ----------
        level : float
            Confidence level of the t-based intervals (default 0.95).

        Returns
        -------
        pandas.DataFrame
            Columns ``term``, ``estimate``, ``std_error``, ``df`` (of the chosen df
            method), ``statistic`` (t), ``p_value`` (two-sided), ``conf_low``,
            ``conf_high``. Aliased columns are kept with NaN everywhere (R shows NA).

        Notes
        -----
        Checked against SAS PROC MIXED for fev_data (tests/reference/mmrm/
        sas_reference.md, sections 1, 2, 5 and 6): estimates and SEs to 1e-4 relative,
        Satterthwaite df equal after rounding.
        """
        level = _check_level(level)
        est, se, df = self._coef_estimate, self._coef_std_error, self._coef_df
        cols = {"term": list(self._design.column_names), "estimate": est, "std_error": se}
        cols["df"] = df
        cols.update(t_columns(est, se, df, level))
        # a dict in column order: pandas builds it ~2.5x faster than with ``columns=``
        return pd.DataFrame({c: cols[c] for c in COEF_COLUMNS})

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients (R names; aliased rows/columns NaN).

        Kenward-Roger adjusted (SAS ``DDFM=KR`` COVB) when ``df`` is a Kenward-Roger
        method, else ``(X' V^-1 X)^-1``.
        """
        names = list(self._design.column_names)
        full = np.full((len(names), len(names)), np.nan)
        kept = self._design.kept
        full[np.ix_(kept, kept)] = self._inference.cov
        return pd.DataFrame(full, index=names, columns=names)

    def _full_to_kept(self, L: np.ndarray, what: str) -> np.ndarray:
        ok = lsm.estimable(self._design, L)
        if not ok.all():
            raise ModelSpecError(
                f"{what}: L is not estimable (it gives weight to aliased columns "
                f"{list(self._design.aliased)} in a way the data cannot identify)"
            )
        return L[:, self._design.kept]

    def lsmeans(
        self,
        specs: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Least-squares means (emmeans / SAS LSMEANS).

        Parameters
        ----------
        specs : str or list of str
            Factor(s) whose cells are estimated, e.g. ``"ARMCD"``.
        by : str or list of str, optional
            Factor(s) within whose levels the cells are listed, e.g. ``"AVISIT"``.
        level : float
            Confidence level (default 0.95).

        Returns
        -------
        pandas.DataFrame
            One row per cell: the ``specs`` then ``by`` factor columns, ``estimate``,
            ``std_error``, ``df``, ``conf_low``, ``conf_high``. Non-estimable cells are
            NaN (emmeans "nonEst", SAS "Non-est").

        Notes
        -----
        The LS mean of a cell is the prediction averaged over the reference grid: other
        factors weighted equally (emmeans ``weights = "equal"``, SAS), numeric
        covariates at their mean over the analysed rows. Under ``between-within`` the
        df is that of the model term made of ``specs`` and ``by`` (SAS); if the model has
        no such term, the smallest df of the terms involved. Checked against SAS
        LSMEANS AVISIT*ARMCD for fev_data (sas_reference.md sections 1 and 6).

        Examples
        --------
        >>> import efficacy
        >>> from efficacy._examples import fev_data  # tests/reference/mmrm/fev_data.csv
        >>> fit = efficacy.fit_mmrm(fev_data(), "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
        ...                         subject="USUBJID", visit="AVISIT")
        >>> fit.lsmeans("ARMCD", by="AVISIT").head(4).round(2)
          ARMCD AVISIT  estimate  std_error      df  conf_low  conf_high
        0   PBO   VIS1     33.33       0.76  148.14     31.84      34.82
        1   TRT   VIS1     37.11       0.76  143.17     35.60      38.61
        2   PBO   VIS2     38.17       0.61  147.03     36.96      39.38
        3   TRT   VIS2     41.90       0.60  143.49     40.71      43.09
        """
        level = _check_level(level)
        grid, est, se, df = self._lsmeans_arrays(specs, by)
        lim = t_columns(est, se, df, level)
        cols: dict[str, Any] = {c: grid.column(c) for c in grid.names}
        cols.update(estimate=est, std_error=se, df=df)
        cols.update(conf_low=lim["conf_low"], conf_high=lim["conf_high"])
        return pd.DataFrame(cols)  # one construction (no column-by-column inserts)

    def _grid(self, specs: str | Sequence[str], by: str | Sequence[str] | None) -> lsm.Grid:
        """Return the LS-means grid of `specs` within `by`, built once per fit and reused.

        `lsmeans` and `contrast` of the same factors share it (it depends on the design
        only; neither changes it). Kept in the instance ``__dict__``, not a field.
        """
        key = (tuple(lsm._as_list(specs, "specs")), tuple(lsm._as_list(by, "by")))
        grids: dict[tuple[tuple[str, ...], tuple[str, ...]], lsm.Grid]
        grids = self.__dict__.setdefault("_grids", {})
        grid = grids.get(key)
        if grid is None:
            grid = grids[key] = lsm.lsmeans_grid(self._design, specs, by)
        return grid

    def _lsmeans_arrays(
        self, specs: str | Sequence[str], by: str | Sequence[str] | None
    ) -> tuple[lsm.Grid, np.ndarray, np.ndarray, np.ndarray]:
        """Return the grid of `lsmeans` and each cell's estimate, standard error and df."""
        grid = self._grid(specs, by)
        return (grid, *self._grid_stats(grid.L, grid))

    def _contrast_arrays(
        self,
        specs: str | Sequence[str],
        by: str | Sequence[str] | None,
        method: str | Mapping[str, Sequence[float]],
        ref: Any,
    ) -> tuple[lsm.Grid, list[str], np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Return what `contrast` tabulates: grid, labels, first cell per row, (est, se, df)."""
        grid = self._grid(specs, by)
        labels, rows, anchor = lsm.contrast_rows(grid, lsm._as_list(specs, "specs"), method, ref)
        return grid, labels, anchor, self._grid_stats(rows, grid)

    def _grid_stats(
        self, L_full: np.ndarray, grid: lsm.Grid
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        factors = lsm.resolve_factors(self._design, grid.names, "specs/by")
        term = lsm.matching_term(self._design, factors)
        ok = lsm.estimable(self._design, L_full)
        n = L_full.shape[0]
        est, se, df = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        if ok.any():
            e, s, d = self._inference.t_rows(L_full[ok][:, self._design.kept], term)
            est[ok], se[ok], df[ok] = e, s, d
        return est, se, df

    def contrast(
        self,
        specs: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        method: str | Mapping[str, Sequence[float]] = "reference",
        ref: Any = None,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Contrasts of LS means within each level of ``by``.

        By default each level minus the reference level (the first level of the
        factor, or the one named by `ref`): with ``ARMCD`` levels ``["PBO", "TRT"]``,
        ``TRT - PBO`` at every visit, as emmeans' ``trt.vs.ctrl`` and SAS's
        ``LSMEANS / DIFF=CONTROL`` give it.

        Parameters
        ----------
        specs, by : str or list of str
            As in `lsmeans`.
        method : {"reference", "pairwise"} or dict, default "reference"
            ``"reference"``: every cell minus the reference cell (SAS ``DIFF=CONTROL``,
            emmeans ``trt.vs.ctrl``), e.g. ``TRT - PBO``; ``"pairwise"``: every pair of
            cells, earlier minus later (emmeans ``pairwise``, e.g. ``PBO - TRT``); a
            dict maps a contrast name to one weight per cell of a ``by`` group (custom
            contrasts).
        ref : level or tuple of levels, optional
            The reference cell for ``"reference"`` (default: the first level; a tuple
            of levels when `specs` names several factors).
        level : float
            Confidence level (default 0.95).

        Returns
        -------
        pandas.DataFrame
            The ``by`` factor columns (if any), then ``contrast`` (``"TRT - PBO"``),
            ``estimate``, ``std_error``, ``df``, ``statistic`` (t), ``p_value``
            (two-sided, no multiplicity adjustment), ``conf_low``, ``conf_high``.

        Notes
        -----
        Checked against SAS ``LSMEANS AVISIT*ARMCD / PDIFF`` for fev_data (TRT - PBO
        per visit: estimate, SE, df, p; sas_reference.md section 1) and R emmeans
        contrasts (tests/reference/mmrm/r).

        Examples
        --------
        fev_data of R ``mmrm`` (ARMCD levels PBO, TRT; SAS's values in the Notes):

        >>> import efficacy
        >>> from efficacy._examples import fev_data
        >>> fit = efficacy.fit_mmrm(fev_data(), "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
        ...                         subject="USUBJID", visit="AVISIT")
        >>> ct = fit.contrast("ARMCD", by="AVISIT")  # TRT - PBO at every visit
        >>> ct[["AVISIT", "contrast", "estimate", "std_error"]].round(2)
          AVISIT   contrast  estimate  std_error
        0   VIS1  TRT - PBO      3.77       1.07
        1   VIS2  TRT - PBO      3.73       0.86
        2   VIS3  TRT - PBO      3.08       0.69
        3   VIS4  TRT - PBO      4.40       1.68
        >>> fit.contrast("ARMCD", by="AVISIT", ref="TRT")["contrast"].tolist()
        ['PBO - TRT', 'PBO - TRT', 'PBO - TRT', 'PBO - TRT']
        """
        level = _check_level(level)
        by_names = lsm._as_list(by, "by")
        grid, labels, anchor, (est, se, df) = self._contrast_arrays(specs, by, method, ref)
        cols: dict[str, Any] = {b: grid.column(b).take(anchor) for b in by_names if b != "contrast"}
        cols.update(contrast=labels, estimate=est, std_error=se, df=df)
        cols.update(t_columns(est, se, df, level))
        frame = pd.DataFrame(cols)
        wanted = [*by_names, *CONTRAST_STATS]
        return frame if list(frame.columns) == wanted else frame[wanted]

    def wald_test(self, L: Any) -> WaldTest:
        """F test of ``L beta = 0``.

        Parameters
        ----------
        L : array_like or str
            ``(r, p)`` (or ``(p,)``) matrix over the coefficients of `to_frame` (aliased
            ones included, where they must get no weight the data cannot identify), or a
            term label (``"ARMCD"``, ``"ARMCD:AVISIT"`` or SAS's ``"AVISIT*ARMCD"``), which
            tests that term's SAS type-3 hypothesis.

        Returns
        -------
        WaldTest
            ``statistic`` (F), ``num_df``, ``den_df``, ``p_value``.

        Notes
        -----
        Checked against SAS type-3 tests for fev_data (sas_reference.md section 1).
        """
        if isinstance(L, str):
            term = resolve_term(self._design, L)
            return WaldTest(*self._inference.f_test(type3_matrix(self._design, term), term))
        p = len(self._design.column_names)
        mat = np.atleast_2d(np.asarray(L, dtype=float))
        if mat.ndim != 2 or mat.shape[1] != p or not np.all(np.isfinite(mat)):
            raise ModelSpecError(
                f"L must be a finite ({'r'}, {p}) matrix over the terms of to_frame(), got "
                f"shape {np.shape(L)}"
            )
        kept = self._full_to_kept(mat, "wald_test")
        _, s, vt = np.linalg.svd(kept, full_matrices=False)
        r = int(np.sum(s > 1e-10 * max(1.0, float(s.max(initial=0.0)))))
        if r == 0:
            raise ModelSpecError("wald_test: L is zero on the estimated coefficients")
        basis = kept if r == kept.shape[0] else vt[:r]
        return WaldTest(*self._inference.f_test(basis))

    def anova(self) -> pd.DataFrame:
        """Type-3 tests of every term except the intercept (SAS "Type 3 Tests").

        Returns
        -------
        pandas.DataFrame
            Columns ``term``, ``num_df``, ``den_df``, ``statistic`` (F), ``p_value``.

        Notes
        -----
        The hypothesis of a term is SAS's type 3: its coefficients are zero under
        sum-to-zero coding (other factors weighted equally, covariates at zero). Checked
        against SAS for fev_data (sas_reference.md section 1: F to the printed
        2 decimals, df).

        Examples
        --------
        >>> import efficacy
        >>> from efficacy._examples import fev_data  # tests/reference/mmrm/fev_data.csv
        >>> fit = efficacy.fit_mmrm(fev_data(), "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
        ...                         subject="USUBJID", visit="AVISIT")
        >>> fit.anova().round(2)  # SAS: F 36.92, 0.38, 31.67, 142.11, 0.26
                   term  num_df  den_df  statistic  p_value
        0          RACE     2.0  165.56      36.91     0.00
        1           SEX     1.0  166.14       0.38     0.54
        2         ARMCD     1.0  168.53      31.67     0.00
        3        AVISIT     3.0  148.11     142.10     0.00
        4  ARMCD:AVISIT     3.0  147.91       0.26     0.86
        """
        rows = []
        for term in self._design.mm.terms:
            if not term.factors:
                continue
            f, q, den, p = self._inference.f_test(type3_matrix(self._design, term), term)
            rows.append((term.label, q, den, f, p))
        return pd.DataFrame(rows, columns=list(ANOVA_COLUMNS))

    # ------------------------------------------------------------------ display

    def summary(self) -> str:
        """Plain-text report: model, fit statistics, covariance, coefficients."""
        return render_text(self)

    def _repr_html_(self) -> str:
        return render_html(self)

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (
            f"<MMRMResult {self.formula!r} covariance={self.covariance_structure} "
            f"method={self.method} df={self.df_method}"
            + ("" if self.vcov == "model-based" else f" vcov={self.vcov}")
            + f"; {self.n_obs} obs, "
            f"{self.n_subjects} subjects; {state}>"
        )
