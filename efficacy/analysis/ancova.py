"""ANCOVA at one visit: the single-visit sensitivity analysis of an MMRM estimand.

``outcome ~ baseline + covariates + arm`` by ordinary least squares on the subjects with
every value present at that visit; the treatment differences are the arm coefficients
(treatment contrasts against the control arm), with ``n - p`` residual df. Equal to
``statsmodels.formula.api.ols`` on the same rows (tests/analysis/test_ancova.py, 1e-10).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from efficacy.errors import EfficacyError

if TYPE_CHECKING:
    from efficacy.analysis.data import ModelData
    from efficacy.analysis.plan import TrialPlan

__all__ = ["ANCOVA_COLUMNS", "ancova_rows", "final_visit_ancova"]

#: Columns of :func:`final_visit_ancova`, always in this order.
ANCOVA_COLUMNS: tuple[str, ...] = (
    "visit",
    "comparison",
    "active_arm",
    "control_arm",
    "estimate",
    "std_error",
    "df",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "n_active",
    "n_control",
    "n_excluded",
)


def final_visit_ancova(
    data: pd.DataFrame,
    *,
    visit: Any,
    control: str,
    outcome: str = "change",
    baseline: str | None = "baseline",
    arm: str = "arm",
    visit_column: str = "visit",
    covariates: Sequence[str] = (),
    level: float = 0.95,
) -> pd.DataFrame:
    """Treatment differences at one visit by ANCOVA (ordinary least squares).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format (one row per subject and visit) or already one visit; never
        modified. Rows of other visits are ignored.
    visit : object
        The visit analysed (a value of `visit_column`), e.g. the final visit.
    control : str
        The control arm; every other arm with data is compared with it.
    outcome, baseline, arm, visit_column : str
        Column names; ``baseline=None`` fits ``outcome ~ arm (+ covariates)``.
    covariates : sequence of str
        More adjustment columns: numeric columns enter as they are, others as factors
        (treatment contrasts, first level in sorted or Categorical order as reference).
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per active arm, :data:`ANCOVA_COLUMNS`: ``visit``, ``comparison``
        (``"<active> vs <control>"``), ``active_arm``, ``control_arm``, ``estimate``
        (adjusted difference, active minus control), ``std_error``, ``df``
        (``n - rank``), ``statistic`` (t), ``p_value`` (two-sided), ``conf_low``,
        ``conf_high``, ``n_active``, ``n_control`` (analysed subjects) and
        ``n_excluded`` (rows at `visit` left out for a missing value).

    Raises
    ------
    EfficacyError
        A column is missing, the control arm has no analysed row, no active arm has
        one, or no residual df remain.

    Notes
    -----
    ``beta = (X'X)^{-1} X'y``, ``s^2 = RSS / (n - p)``, ``cov = s^2 (X'X)^{-1}``; the
    design is built without patsy (intercept, baseline, covariates, arm dummies) and
    solved by QR. Equal to statsmodels ``ols("y ~ baseline + C(arm, Treatment(control))")``
    to 1e-10.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"visit": "W12", "arm": ["A", "A", "A", "B", "B", "B"],
    ...                   "baseline": [1.0, 2.0, 3.0, 1.5, 2.5, 3.5],
    ...                   "change": [0.1, 0.3, 0.2, 0.9, 1.2, 1.0]})
    >>> r = final_visit_ancova(d, visit="W12", control="A")
    >>> r[["comparison", "estimate", "df"]].round(4)
      comparison  estimate   df
    0     B vs A    0.8083  3.0
    """
    cols = [visit_column, arm, outcome, *([baseline] if baseline else []), *covariates]
    missing = [c for c in dict.fromkeys(cols) if c not in data.columns]
    if missing:
        raise EfficacyError(f"final_visit_ancova: data has no column(s) {missing}")
    at = data[cols][data[visit_column].astype(object) == visit]
    ok = at.notna().all(axis=1)
    frame = at[ok]
    arms = frame[arm].astype(str)
    if not (arms == str(control)).any():
        raise EfficacyError(
            f"final_visit_ancova: control arm {control!r} has no analysed row at visit {visit!r}"
        )
    order = _levels(frame[arm])
    actives = [a for a in order if a != str(control)]
    if not actives:
        raise EfficacyError(f"final_visit_ancova: no active arm has data at visit {visit!r}")
    x, names = _design(frame, arms, baseline, covariates, actives)
    y = frame[outcome].to_numpy(float)
    n, p = x.shape
    q_mat, r_mat = np.linalg.qr(x)
    if np.linalg.matrix_rank(x) < p or n <= p:
        raise EfficacyError(
            f"final_visit_ancova: {n} rows for {p} coefficients at visit {visit!r} "
            "(aliased covariates or no residual df)"
        )
    beta = np.linalg.solve(r_mat, q_mat.T @ y)
    resid = y - x @ beta
    df = n - p
    r_inv = np.linalg.inv(r_mat)
    cov = (resid @ resid / df) * (r_inv @ r_inv.T)
    idx = [names.index(f"arm:{a}") for a in actives]
    est, se = beta[idx], np.sqrt(np.diag(cov)[idx])
    t = est / se
    q = stats.t.ppf(0.5 + level / 2.0, df)
    return pd.DataFrame(
        {
            "visit": [visit] * len(actives),
            "comparison": [f"{a} vs {control}" for a in actives],
            "active_arm": actives,
            "control_arm": str(control),
            "estimate": est,
            "std_error": se,
            "df": float(df),
            "statistic": t,
            "p_value": 2.0 * stats.t.sf(np.abs(t), df),
            "conf_low": est - q * se,
            "conf_high": est + q * se,
            "n_active": [int((arms == a).sum()) for a in actives],
            "n_control": int((arms == str(control)).sum()),
            "n_excluded": int((~ok).sum()),
        },
        columns=list(ANCOVA_COLUMNS),
    )


def _levels(col: pd.Series) -> list[str]:
    """Levels present, in Categorical order or sorted."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        present = set(col.astype(str))
        return [str(c) for c in col.cat.categories if str(c) in present]
    return sorted(set(col.astype(str)))


def _design(
    frame: pd.DataFrame,
    arms: pd.Series,
    baseline: str | None,
    covariates: Sequence[str],
    actives: list[str],
) -> tuple[np.ndarray, list[str]]:
    cols: list[np.ndarray] = [np.ones(len(frame))]
    names = ["(Intercept)"]
    for c in [*([baseline] if baseline else []), *covariates]:
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            cols.append(s.to_numpy(float))
            names.append(c)
            continue
        for lev in _levels(s)[1:]:
            cols.append((s.astype(str) == lev).to_numpy(float))
            names.append(f"{c}:{lev}")
    for a in actives:
        cols.append((arms == a).to_numpy(float))
        names.append(f"arm:{a}")
    return np.column_stack(cols), names


def ancova_rows(
    data: ModelData, plan: TrialPlan, endpoint: str, role: str, population: str
) -> tuple[list[dict[str, Any]], str]:
    """Return the result rows (``analysis = "ancova"``) of an endpoint's final-visit ANCOVA.

    The plan's model data (estimand strategies applied), ``change ~ baseline +
    covariates + arm`` at the estimand's visit, observed cases. Each row names the
    estimand it supports, as the MMRM row of the same comparison does
    (:func:`efficacy.analysis.result.row_estimand`).

    Returns
    -------
    rows, reason : list of dict, str
        Rows in :data:`efficacy.analysis.result.RESULT_COLUMNS`; no rows and the reason
        when the ANCOVA does not apply (split-face designs compare sites within a person,
        not arms).
    """
    from efficacy.analysis.result import row_estimand

    if plan.design != "parallel":
        return [], "the final-visit ANCOVA compares arms; a split-face trial has none"
    frame = data.frame
    covs = tuple(c for c in plan.settings.covariates if c in frame.columns)
    base = "baseline" if plan.model.adjust_baseline else None
    res = final_visit_ancova(
        frame,
        visit=plan.final_visit,
        control=plan.control,
        baseline=base,
        covariates=covs,
        level=plan.level,
    )
    rhs = " + ".join([*([base] if base else []), *covs, "arm"])
    model = f"ANCOVA change ~ {rhs} at {plan.final_visit} (observed cases); OLS, residual df"
    declared = plan.settings.estimand_of(endpoint)
    rows = []
    for r in res.itertuples(index=False):
        notes = [f"sensitivity analysis: ANCOVA at {plan.final_visit}, observed cases"]
        n_out = int(str(r.n_excluded))
        if n_out:
            notes.append(f"{n_out} rows at {plan.final_visit} with a missing value left out")
        rows.append(
            {
                "endpoint": endpoint,
                "role": role,
                "population": population,
                "visit": str(plan.final_visit),
                "comparison": r.comparison,
                "estimate": r.estimate,
                "std_error": r.std_error,
                "df": r.df,
                "conf_low": r.conf_low,
                "conf_high": r.conf_high,
                "p_value": r.p_value,
                "p_adjusted": np.nan,
                "effect_size": np.nan,
                "n_active": r.n_active,
                "n_control": r.n_control,
                "model": model,
                "covariance": "",
                "converged": True,
                "notes": "; ".join(notes),
                "estimand": row_estimand(declared, role, endpoint, population, str(r.active_arm)),
                "analysis": "ancova",
                "active_arm": r.active_arm,
                "control_arm": r.control_arm,
                "adjustment": "",
            }
        )
    return rows, ""
