"""Missing-data sensitivity: delta-adjusted multiple imputation and its tipping point.

Missing changes are imputed under missing at random, by arm, sequentially per visit
(each visit regressed on the baseline and the earlier visits, with proper Bayesian draws
of the coefficients and the residual variance, as SAS PROC MI ``MONOTONE REG`` does);
then every imputed final-visit value of the active arm (split-face: every imputed
within-subject difference) is shifted by ``delta`` in the unfavourable direction. Each
completed data set is analysed by ANCOVA at the final visit (change ~ baseline + arm)
and the results are combined by Rubin's rules with the Barnard-Rubin degrees of freedom.
The tipping point is the smallest delta at which the conclusion is overturned
(two-sided p > alpha: the confidence interval reaches 0).

Variants (keyword arguments of `tipping_point`): ``imputation="J2R"`` imputes by jump to
reference instead of MAR (approximate Bayesian reference-based imputation,
`efficacy.rbmi.impute_reference_based`: imputation MMRM ``change ~ baseline * visit +
arm * visit``, every subject whose final value is missing has its event at the first
visit of its final run of missing visits, every arm's reference is the control), and
the delta is added on top; ``scale="multiplicative"`` makes the penalty of an imputed
value ``delta`` times its magnitude (delta is then a fraction: 0.5 moves every
penalised imputed value by half its size in the unfavourable direction; the grid runs
from 0 to 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from efficacy.analysis.data import ModelData
from efficacy.analysis.plan import TrialPlan
from efficacy.errors import EfficacyError
from efficacy.mmrm.inference import t_ppf, t_sf

__all__ = ["TIPPING_COLUMNS", "TippingPoint", "rubin", "tipping_point"]

#: Imputation models of `tipping_point` (``imputation=``) and delta scales (``scale=``).
IMPUTATIONS: tuple[str, ...] = ("MAR", "J2R")
SCALES: tuple[str, ...] = ("additive", "multiplicative")

#: Columns of :attr:`TippingPoint.table`.
TIPPING_COLUMNS: tuple[str, ...] = (
    "delta",
    "estimate",
    "std_error",
    "df",
    "conf_low",
    "conf_high",
    "p_value",
    "significant",
)


@dataclass(frozen=True)
class TippingPoint:
    """Delta-adjusted multiple-imputation analysis of one comparison.

    Attributes
    ----------
    endpoint, population, comparison : str
    direction : int
        ``-1``: delta is subtracted from imputed values (higher is better), ``+1``: added.
    table : pandas.DataFrame
        One row per delta of the grid (:data:`TIPPING_COLUMNS`); ``delta`` is the
        magnitude of the penalty in the endpoint's unit; ``significant`` means the MAR
        conclusion holds (p <= alpha with the estimate on the delta = 0 side).
    tipping_delta : float
        Smallest delta with p > alpha (bisection between grid points, or beyond the
        grid up to the delta at which the pooled estimate reaches 0); 0 when the MAR
        result is already not significant; NaN when no delta overturns it (nothing
        imputed in the penalised arm).
    n_missing_final : int
        Subjects whose final-visit value was imputed in the penalised arm.
    imputations, seed : int
    notes : tuple of str
    active_arm, control_arm : str
        Arm ids compared (split-face: the arms of the treated and the control site);
        the active arm is the penalised one.
    """

    endpoint: str
    population: str
    comparison: str
    direction: int
    table: pd.DataFrame
    tipping_delta: float
    n_missing_final: int
    imputations: int
    seed: int
    notes: tuple[str, ...]
    active_arm: str = ""
    control_arm: str = ""


def rubin(
    est: np.ndarray, var: np.ndarray, df_complete: float, level: float
) -> tuple[float, float, float, float, float, float]:
    """Rubin's rules over imputations (axis 0 of `est` and `var`).

    Returns
    -------
    (estimate, std_error, df, conf_low, conf_high, p_value)

    Notes
    -----
    ``Q = mean(q_m)``, ``W = mean(u_m)``, ``B = var(q_m)``, ``T = W + (1 + 1/M) B``;
    ``lambda = (1 + 1/M) B / T``, ``nu_old = (M - 1) / lambda^2``,
    ``nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda)``,
    ``nu = 1 / (1/nu_old + 1/nu_obs)`` (Barnard & Rubin 1999), as R ``mice::pool``.
    """
    m = est.size
    q, w, b = float(np.mean(est)), float(np.mean(var)), float(np.var(est, ddof=1))
    t = w + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t if t > 0 else 0.0
    nu_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    nu = nu_obs if lam <= 0 else 1 / ((lam * lam) / (m - 1) + 1 / nu_obs)
    se = math.sqrt(t)
    crit = t_ppf(0.5 + level / 2, nu)
    p = float(2 * t_sf(abs(q / se), nu)) if se > 0 else math.nan
    return q, se, nu, q - crit * se, q + crit * se, p


def _wide(data: ModelData, plan: TrialPlan) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    visits = list(data.frame["visit"].cat.categories)
    if not visits or visits[-1] != plan.final_visit:
        raise EfficacyError(f"no data at the estimand's visit {plan.final_visit}")
    base = data.baseline.drop_duplicates("subject_id").set_index("subject_id")
    y = _wide_change(data.frame, base.index, len(visits))
    if y is None:
        wide = data.frame.pivot_table(
            index="subject_id", columns="visit", values="change", observed=False, dropna=False
        ).reindex(columns=visits)
        y = wide.reindex(base.index).to_numpy(float)
    return base, y, visits


def _wide_change(frame: pd.DataFrame, subjects: pd.Index, n_visits: int) -> np.ndarray | None:
    """Change per subject of `subjects` (rows) and visit code (columns), NaN where absent.

    What the ``pivot_table`` of `_wide` gives (its mean of a cell's one value is the
    value plus 0.0), placed by position; None when that takes pandas: a cell with
    several values (averaged), a missing subject id or a change that is not float64.
    """
    if frame["change"].dtype != np.float64 or not isinstance(
        frame["visit"].dtype, pd.CategoricalDtype
    ):
        return None
    sid = frame["subject_id"].to_numpy(dtype=object)
    ids = subjects.to_numpy(dtype=object)
    if pd.isna(sid).any() or pd.isna(ids).any():
        return None
    at = {s: i for i, s in enumerate(ids.tolist())}
    row = np.asarray([at.get(s, -1) for s in sid.tolist()], dtype=np.intp)
    col = np.asarray(frame["visit"].array.codes, dtype=np.intp)
    change = frame["change"].to_numpy()
    ok = (row >= 0) & (col >= 0) & ~np.isnan(change)
    cell = row[ok] * n_visits + col[ok]
    if np.unique(cell).size != cell.size:
        return None  # a cell with several values: pivot_table averages them
    y = np.full((ids.size, n_visits), np.nan)
    y[row[ok], col[ok]] = change[ok] + 0.0
    return y


def _draw_visit(
    rng: np.random.Generator, X: np.ndarray, y: np.ndarray, obs: np.ndarray
) -> tuple[np.ndarray, float]:
    """Posterior draw (beta, sigma^2) of a normal linear regression on the observed rows."""
    Xo, yo = X[obs], y[obs]
    n, p = Xo.shape
    if n - p < 1:
        raise EfficacyError(f"too few observed values ({n}) to impute from {p} predictors")
    xtx_inv = np.linalg.pinv(Xo.T @ Xo)
    beta = xtx_inv @ Xo.T @ yo
    rss = float(np.sum((yo - Xo @ beta) ** 2))
    sigma2 = rss / rng.chisquare(n - p)
    chol = np.linalg.cholesky(xtx_inv * sigma2 + 1e-14 * np.eye(p))
    return beta + chol @ rng.standard_normal(p), sigma2


def impute(base: np.ndarray, y: np.ndarray, group: np.ndarray, m: int, seed: int) -> np.ndarray:
    """``m`` completed copies of `y` (subjects x visits), imputed by group and visit.

    Returns an array ``(m, n_subjects, n_visits)``; observed values are unchanged.
    """
    rng = np.random.default_rng(seed)
    miss = ~np.isfinite(y)
    out = np.repeat(y[None], m, axis=0)
    ones = np.ones(y.shape[0])
    # the cells with values to impute, in draw order: visit, rows imputed, rows observed
    cells: list[tuple[int, np.ndarray, np.ndarray, int]] = []
    for g in np.unique(group):
        rows = group == g
        for k in range(y.shape[1]):
            mis = rows & miss[:, k]
            if mis.any():
                cells.append((k, mis, rows & ~miss[:, k], int(mis.sum())))
    for i in range(m):
        yc = out[i]
        for k, mis, obs, n_mis in cells:
            X = np.column_stack([ones, base, yc[:, :k]])
            beta, sigma2 = _draw_visit(rng, X, yc[:, k], obs)
            noise = rng.standard_normal(n_mis) * math.sqrt(sigma2)
            yc[mis, k] = X[mis] @ beta + noise
    return out


def _scan(
    Y: np.ndarray,
    X: np.ndarray,
    col: int,
    shift: np.ndarray,
    deltas: Sequence[float] | np.ndarray,
    level: float,
) -> list[tuple[float, ...]]:
    """Rubin-pooled ANCOVA coefficient `col` for each delta (Y: n x M completed finals).

    ``shift`` is the change per unit delta: one value per subject, or per subject and
    imputation (``n x M``, multiplicative deltas).
    """
    n, p = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    A = xtx_inv @ X.T
    step = shift if shift.ndim == 2 else shift[:, None]
    rows: list[tuple[float, ...]] = []
    for d in deltas:
        Yd = Y + d * step
        B = A @ Yd
        s2 = np.sum((Yd - X @ B) ** 2, axis=0) / (n - p)
        rows.append((d, *rubin(B[col], s2 * xtx_inv[col, col], n - p, level)))
    return rows


def _direction(plan: TrialPlan, endpoint: str, mar_estimate: float, notes: list[str]) -> int:
    from efficacy.instruments.catalogue import ENDPOINTS

    cat = ENDPOINTS.get(endpoint)
    better = cat.direction if cat is not None else ""
    if endpoint.startswith("skindex16_"):
        better = "lower"
    elif endpoint.startswith("faceq_"):
        better = "higher"
    if better in ("higher", "lower"):
        notes.append(f"penalty against improvement ({better} is better)")
        return -1 if better == "higher" else 1
    notes.append("no direction of improvement: penalty towards the null (sign of the MAR estimate)")
    return -1 if mar_estimate >= 0 else 1


def tipping_point(
    data: ModelData,
    plan: TrialPlan,
    endpoint: str,
    population: str,
    *,
    imputation: str = "MAR",
    scale: str = "additive",
) -> list[TippingPoint]:
    """Delta-adjusted MI tipping-point analysis of each comparison of `endpoint`.

    Uses ``[analysis.sensitivity]``: ``imputations``, ``seed``, ``delta_steps`` and
    ``delta_max_sd`` (the grid runs from 0 to ``delta_max_sd`` SDs of the observed final
    change, extended to 1.5 x the tipping point when that lies beyond). Declared
    covariates are not used by the imputation or the ANCOVA. Intermittent gaps are
    imputed visit by visit too (earlier imputed values become predictors).

    ``imputation`` (``"MAR"``, ``"J2R"``) and ``scale`` (``"additive"``,
    ``"multiplicative"``) choose the variant (module notes).

    Raises
    ------
    EfficacyError
        No data at the final visit, too few observed values to impute from, an unknown
        variant, or J2R for a split-face trial (it has no reference arm).
    """
    if imputation not in IMPUTATIONS or scale not in SCALES:
        raise EfficacyError(
            f"tipping_point: imputation must be one of {IMPUTATIONS} and scale one of "
            f"{SCALES}, got {imputation!r}, {scale!r}"
        )
    sens = plan.settings.sensitivity
    m, seed = sens.imputations, sens.seed
    base, y, visits = _wide(data, plan)
    b = base["baseline"].to_numpy(float)
    arm = base["arm"].astype(str).to_numpy()
    if imputation == "J2R":
        finals = _j2r_finals(base, y, visits, plan, m, seed)
    else:
        finals = impute(b, y, arm, m, seed)[:, :, -1].T
    imputed = ~np.isfinite(y[:, -1])
    sd = float(np.nanstd(y[:, -1], ddof=1))
    top = 1.0 if scale == "multiplicative" else sens.delta_max_sd * sd
    deltas = np.linspace(0.0, top, sens.delta_steps)
    X, targets = _analysis_design(plan, b, arm)
    no_post = int((~np.isfinite(y)).all(axis=1).sum())
    out = []
    for comparison, active, col, penalised in targets:
        notes = [_method_note(imputation, scale, m, seed)]
        if no_post:
            notes.append(
                f"{no_post} subjects with a baseline but no post-baseline value were imputed "
                "(the MMRM has no row for them)"
            )
        mar = _scan(finals, X, col, np.zeros(arm.size), [0.0], plan.level)[0][1]
        sign = _direction(plan, endpoint, mar, notes)
        shift = sign * (penalised & imputed).astype(float)
        if scale == "multiplicative":
            shift = shift[:, None] * np.abs(finals)
        table = _grid(finals, X, col, shift, deltas, plan)
        tip = _tipping(finals, X, col, shift, table, plan)
        notes += _tipping_notes(tip, shift, float(deltas[-1]))
        if math.isfinite(tip) and tip > deltas[-1]:
            table = _grid(finals, X, col, shift, np.linspace(0, 1.5 * tip, deltas.size), plan)
        n_pen = int((penalised & imputed).sum())
        out.append(
            TippingPoint(
                endpoint,
                population,
                comparison,
                sign,
                table,
                tip,
                n_pen,
                m,
                seed,
                tuple(notes),
                active_arm=active,
                control_arm=plan.control,
            )
        )
    return out


def _method_note(imputation: str, scale: str, m: int, seed: int) -> str:
    how = (
        "jump to reference (approximate Bayes, imputation MMRM change ~ baseline * visit "
        "+ arm * visit)"
        if imputation == "J2R"
        else "MAR by arm, sequential regression per visit"
    )
    note = f"{m} imputations (seed {seed}), {how}"
    if scale == "multiplicative":
        note += "; penalty delta x |imputed value|"
    return note


def _j2r_finals(
    base: pd.DataFrame, y: np.ndarray, visits: list[str], plan: TrialPlan, m: int, seed: int
) -> np.ndarray:
    """Final-visit values (subjects x imputations) imputed by jump to reference."""
    from efficacy.rbmi import impute_reference_based

    if plan.design != "parallel":
        raise EfficacyError(
            "tipping_point: jump to reference needs a parallel design (a split-face trial "
            "has no reference arm); use imputation='MAR'"
        )
    n, k = y.shape
    ids = [str(s) for s in base.index]
    long = pd.DataFrame(
        {
            "subject": np.repeat(ids, k),
            "visit": pd.Categorical(np.tile(visits, n), categories=visits),
            "arm": pd.Categorical(
                np.repeat(base["arm"].astype(str).to_numpy(), k),
                categories=[plan.control, *plan.actives],
            ),
            "base": np.repeat(base["baseline"].to_numpy(float), k),
            "chg": y.ravel(),
        }
    )
    seen = np.isfinite(y)
    last = np.where(seen.any(axis=1), k - 1 - np.argmax(seen[:, ::-1], axis=1), -1)
    lost = ~seen[:, -1]
    events = pd.DataFrame(
        {
            "subject": np.asarray(ids)[lost],
            "visit": [visits[j + 1] for j in last[lost]],
            "strategy": "JR",
        }
    )
    refs = {a: plan.control for a in (plan.control, *plan.actives)}
    subjects, _, completed = impute_reference_based(
        long,
        "chg ~ base * visit + arm * visit",
        subject="subject",
        visit="visit",
        group="arm",
        events=events,
        references=refs,
        n_samples=m,
        seed=seed,
    )
    order = [subjects.index(s) for s in ids]
    finals: np.ndarray = completed[:, order, -1].T
    return finals


def _grid(
    Y: np.ndarray, X: np.ndarray, col: int, shift: np.ndarray, deltas: np.ndarray, plan: TrialPlan
) -> pd.DataFrame:
    table = pd.DataFrame(_scan(Y, X, col, shift, deltas, plan.level), columns=TIPPING_COLUMNS[:-1])
    same_side = np.sign(table["estimate"]) == np.sign(table["estimate"].to_numpy(float)[0])
    table["significant"] = (table["p_value"] <= plan.alpha) & same_side
    return table


def _analysis_design(
    plan: TrialPlan, b: np.ndarray, arm: np.ndarray
) -> tuple[np.ndarray, list[tuple[str, str, int, np.ndarray]]]:
    """ANCOVA design at the final visit; (comparison, active arm, column, penalised rows)."""
    if plan.design == "parallel":
        dummies = [(arm == a).astype(float) for a in plan.actives]
        X = np.column_stack([np.ones(arm.size), b, *dummies])
        return X, [
            (f"{a} vs {plan.control}", a, 2 + i, arm == a) for i, a in enumerate(plan.actives)
        ]
    X = np.column_stack([np.ones(arm.size), b - b.mean()])
    treated = "/".join(plan.actives)
    return X, [(f"{treated} site vs {plan.control} site", treated, 0, np.ones(arm.size, bool))]


def _tipping_notes(tip: float, shift: np.ndarray, grid_max: float) -> list[str]:
    if not shift.any():
        return ["no missing final-visit values in the penalised arm: delta has no effect"]
    if math.isnan(tip):
        return ["not overturned by any delta (the estimate never reaches 0)"]
    if tip > grid_max:
        return [
            f"tipping point {tip:.6g} lies beyond the planned grid's largest delta "
            f"({grid_max:.6g}, the protocol's maximum in SDs of the final change): the grid "
            "was extended to 1.5 x the tipping point"
        ]
    return []


def _tipping(
    Y: np.ndarray,
    X: np.ndarray,
    col: int,
    shift: np.ndarray,
    table: pd.DataFrame,
    plan: TrialPlan,
) -> float:
    """Smallest delta with p > alpha, by bisection (beyond the grid when needed)."""
    over = np.flatnonzero(~table["significant"].to_numpy())
    if over.size and over[0] == 0:
        return 0.0
    if over.size:
        i = int(over[0])
        delta = table["delta"].to_numpy(float)
        lo, hi = float(delta[i - 1]), float(delta[i])
    else:
        if not shift.any():
            return math.nan
        # the pooled estimate is linear in delta: it reaches 0 at est(0) / -slope
        e0, e1 = (r[1] for r in _scan(Y, X, col, shift, [0.0, 1.0], plan.level))
        if (e1 - e0) * e0 >= 0:
            return math.nan
        lo, hi = float(table["delta"].to_numpy(float)[-1]), -e0 / (e1 - e0)
        if _scan(Y, X, col, shift, [hi], plan.level)[0][6] <= plan.alpha:
            return math.nan
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        p = _scan(Y, X, col, shift, [mid], plan.level)[0][6]
        lo, hi = (mid, hi) if p <= plan.alpha else (lo, mid)
    return 0.5 * (lo + hi)
