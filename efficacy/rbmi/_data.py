"""Inputs of `reference_based` checked and laid out as subject x visit arrays.

Absent (subject, visit) rows are added with a missing outcome when every column the
models use is constant within subjects (otherwise the caller must add them). Everything
the imputation and the analysis need is read once: the outcome (``N x m``,
NaN where missing), the imputation model's rows for every subject and visit with the
subject's own group and with its reference group (``N x m x p``), each subject's group,
strategy and first visit affected by its intercurrent event, and the analysis model's
covariates per visit. The caller's frames are never modified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import ModelSpecError
from efficacy.mmrm.design import build_design
from efficacy.mmrm.modelmatrix import build_columns, find_aliased

__all__ = ["STRATEGIES", "Prepared", "prepare"]

#: Imputation strategies after an intercurrent event (rbmi's names), in code order.
STRATEGIES: tuple[str, ...] = ("MAR", "JR", "CR", "CIR", "LMCF")


@dataclass(frozen=True)
class Prepared:
    """Subject x visit layout of the data (subjects and visits in analysis order).

    Attributes
    ----------
    y : ndarray (N, m)
        Outcome, NaN where missing.
    x_own, x_ref : ndarray (N, m, p)
        Imputation-model rows with the subject's group and with its reference group.
    group : ndarray of int (N,)
        Group code (position in ``group_levels``; the first level is the comparator).
    strategy : ndarray of int (N,)
        Code in `STRATEGIES` (0, MAR, for subjects without an event).
    ice : ndarray of int (N,)
        Index of the first visit affected by the event (``m`` when there is none).
    is_mar : ndarray of bool (N, m)
        Visits whose outcome follows the MAR imputation model (before a non-MAR event).
    covariates : ndarray (N, m, k)
        Analysis-model covariates at each visit (factors as treatment-coded dummies).
    """

    y: np.ndarray
    x_own: np.ndarray
    x_ref: np.ndarray
    group: np.ndarray
    strategy: np.ndarray
    ice: np.ndarray
    is_mar: np.ndarray
    covariates: np.ndarray
    covariate_names: tuple[str, ...]
    subject_levels: tuple[Any, ...]
    visit_levels: tuple[Any, ...]
    group_levels: tuple[Any, ...]
    column_names: tuple[str, ...]
    outcome: str

    @property
    def fit_rows(self) -> np.ndarray:
        """(N, m) mask of the outcomes the imputation model is fitted on."""
        mask: np.ndarray = self.is_mar & np.isfinite(self.y)
        return mask


def _fail(message: str) -> None:
    raise ModelSpecError(f"reference_based: {message}")


def _levels(series: pd.Series) -> list[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique().tolist())
        return [c for c in series.cat.categories if c in present]
    try:
        return sorted(series.dropna().unique().tolist())
    except TypeError:
        return sorted(series.dropna().unique().tolist(), key=str)


def _outcome(formula: str, columns: pd.Index) -> str:
    if formula.count("~") != 1:
        _fail(f"formula {formula!r} must read 'outcome ~ terms'")
    lhs = formula.split("~")[0].strip()
    if lhs not in columns:
        _fail(
            f"the left-hand side of {formula!r} must be a column of data (the outcome "
            f"imputed), got {lhs!r}"
        )
    return lhs


def _check_columns(data: pd.DataFrame, names: dict[str, str]) -> None:
    if not isinstance(data, pd.DataFrame):
        _fail(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for arg, col in names.items():
        if not isinstance(col, str) or col not in data.columns:
            _fail(f"{arg}={col!r} is not a column of data")


def prepare(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    group: str,
    events: pd.DataFrame | None,
    references: Mapping[Any, Any] | None,
    analysis_covariates: Sequence[str] | None,
) -> Prepared:
    """Check every input and lay the data out by subject and visit (see `Prepared`)."""
    _check_columns(data, {"subject": subject, "visit": visit, "group": group})
    outcome = _outcome(formula, data.columns)
    work = _complete_grid(
        data.reset_index(drop=True),
        formula,
        (subject, visit, group, outcome),
        analysis_covariates,
    )
    y_raw = pd.to_numeric(work[outcome], errors="coerce").to_numpy(dtype=float)
    work[outcome] = 0.0  # a dummy outcome keeps every row in the model matrix (as rbmi)
    design = build_design(work, formula, subject=subject, visit=visit)
    if design.exclusions.rows.size:
        row, cols, _ = design.excluded.iloc[0]
        _fail(
            f"row {row} of data has no value for {cols}; every row needs the covariates "
            "of the imputation model (only the outcome may be missing)"
        )
    subjects, visits = design.subject_levels, design.visit_levels
    n, m = len(subjects), len(visits)
    if design.y.size != n * m:
        have = np.zeros((n, m), dtype=bool)
        have[design.subject, design.visit] = True
        i, j = np.argwhere(~have)[0]
        _fail(
            f"subject {subjects[i]!r} has no row for visit {visits[j]!r}; add one with a "
            "missing outcome (every subject needs a row at every visit, as in rbmi)"
        )
    rows = design.row_index.to_numpy()
    y = y_raw[rows].reshape(n, m)
    grp_codes, group_levels = _groups(work[group].to_numpy()[rows].reshape(n, m), work[group])
    refs = _references(references, group_levels)
    strategy, ice = _events(events, subject, visit, subjects, visits, work)
    _check_strategies(strategy, ice, grp_codes, refs, group_levels, subjects)
    x_all = design.mm.X
    x_cf = _reference_rows(design, group, grp_codes, refs, group_levels, m)
    in_formula = any(group in spec.columns for spec in design.mm.factors.values())
    if np.isin(strategy, (1, 2, 3)).any() and not in_formula:
        _fail(
            f"the imputation formula has no term in the group column {group!r}, so JR, CR "
            f"and CIR could not change the means; add it (e.g. '+ {group} * {visit}')"
        )
    kept = design.kept
    p = int(kept.sum())
    is_mar = np.arange(m)[None, :] < ice[:, None]
    is_mar[strategy == 0] = True
    prep_cov, cov_names = _covariates(work, analysis_covariates, rows, n, m, (group, visit))
    out = Prepared(
        y=y,
        x_own=x_all[:, kept].reshape(n, m, p),
        x_ref=x_cf[:, kept].reshape(n, m, p),
        group=grp_codes,
        strategy=strategy,
        ice=ice,
        is_mar=is_mar,
        covariates=prep_cov,
        covariate_names=cov_names,
        subject_levels=subjects,
        visit_levels=visits,
        group_levels=tuple(group_levels),
        column_names=tuple(np.asarray(design.column_names)[kept].tolist()),
        outcome=outcome,
    )
    _check_fit_rows(out)
    return out


def _complete_grid(
    work: pd.DataFrame,
    formula: str,
    roles: tuple[str, str, str, str],
    covariates: Sequence[str] | None,
) -> pd.DataFrame:
    """Add a row with a missing outcome for every absent (subject, visit).

    Possible when every column the models use (besides the visit and the outcome) is
    constant within each subject: the new row copies the subject's values.
    """
    subject, visit, group, outcome = roles
    if work[subject].isna().any() or work[visit].isna().any():
        return work  # build_design names the rows
    have = pd.MultiIndex.from_frame(work[[subject, visit]])
    grid = pd.MultiIndex.from_product([work[subject].unique(), work[visit].unique()])
    absent = grid.difference(have)
    if absent.empty:
        return work
    rhs = formula.split("~", 1)[1]
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", rhs)) & set(work.columns)
    names |= {group} | set([covariates] if isinstance(covariates, str) else covariates or [])
    names -= {subject, visit, outcome}
    counts = work.groupby(subject, observed=True, sort=False)[sorted(names)].nunique(dropna=False)
    varying = [c for c in counts.columns if (counts[c] > 1).any()]
    if varying:
        _fail(
            f"subject {absent[0][0]!r} has no row for visit {absent[0][1]!r}, and column "
            f"{varying[0]!r} changes within subjects, so the row cannot be filled in; add "
            "rows with a missing outcome for every subject and visit"
        )
    first = work.drop_duplicates(subject).set_index(subject)
    new = first.loc[absent.get_level_values(0)].reset_index()
    new[visit] = absent.get_level_values(1)
    new[outcome] = np.nan
    return pd.concat([work, new[work.columns]], ignore_index=True)


def _groups(values: np.ndarray, column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    if pd.isna(values).any():
        _fail("the group column has missing values; every subject needs its group")
    if (values != values[:, :1]).any():
        _fail("the group column changes within a subject; a subject belongs to one group")
    levels = _levels(column)
    if len(levels) < 2:
        _fail(f"the group column needs at least two groups, got {levels}")
    lookup = {v: i for i, v in enumerate(levels)}
    return np.array([lookup[v] for v in values[:, 0]], dtype=np.intp), levels


def _references(references: Mapping[Any, Any] | None, levels: list[Any]) -> dict[int, int]:
    if references is None:
        return {}
    if not isinstance(references, Mapping):
        _fail("references must map each group to its reference group, e.g. {'TRT': 'PBO'}")
    unknown = [v for v in (*references.keys(), *references.values()) if v not in levels]
    if unknown:
        _fail(f"references name {unknown[0]!r}, which is not a group of data (groups: {levels})")
    return {levels.index(k): levels.index(v) for k, v in references.items()}


def _events(
    events: pd.DataFrame | None,
    subject: str,
    visit: str,
    subjects: tuple[Any, ...],
    visits: tuple[Any, ...],
    work: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    n, m = len(subjects), len(visits)
    strategy = np.zeros(n, dtype=np.intp)
    ice = np.full(n, m, dtype=np.intp)
    if events is None:
        return strategy, ice
    if not isinstance(events, pd.DataFrame):
        _fail(f"events must be a DataFrame, got {type(events).__name__}")
    missing = [c for c in (subject, visit, "strategy") if c not in events.columns]
    if missing:
        _fail(f"events lacks the column(s) {missing} (it needs {subject!r}, {visit!r}, 'strategy')")
    subj_pos = {s: i for i, s in enumerate(subjects)}
    vis_pos = {v: j for j, v in enumerate(visits)}
    ev_subj = events[subject].tolist()
    unknown = [s for s in ev_subj if s not in subj_pos]
    if unknown:
        _fail(f"events names subject {unknown[0]!r}, which has no row in data")
    dup = pd.Series(ev_subj).duplicated()
    if dup.any():
        _fail(f"events has two rows for subject {ev_subj[int(np.flatnonzero(dup)[0])]!r}")
    for s, v, st in zip(ev_subj, events[visit].tolist(), events["strategy"].tolist(), strict=True):
        if st not in STRATEGIES:
            _fail(f"events: unknown strategy {st!r} for subject {s!r}; use one of {STRATEGIES}")
        if v not in vis_pos:
            _fail(f"events: visit {v!r} of subject {s!r} is not a visit of data {list(visits)}")
        strategy[subj_pos[s]] = STRATEGIES.index(st)
        ice[subj_pos[s]] = vis_pos[v]
    return strategy, ice


def _check_strategies(
    strategy: np.ndarray,
    ice: np.ndarray,
    group: np.ndarray,
    refs: dict[int, int],
    levels: list[Any],
    subjects: tuple[Any, ...],
) -> None:
    for code in (1, 2, 3):
        used = np.flatnonzero((strategy == code) & ~np.isin(group, list(refs)))
        if used.size:
            g = levels[group[used[0]]]
            _fail(
                f"subject {subjects[used[0]]!r} (group {g!r}) has strategy "
                f"{STRATEGIES[code]} but references gives no reference group for {g!r}"
            )
    bad = np.flatnonzero((strategy == 4) & (ice == 0))
    if bad.size:
        _fail(
            f"subject {subjects[bad[0]]!r}: LMCF needs an outcome mean before the event, "
            "but the event affects the first visit"
        )


def _reference_rows(
    design: Any, group: str, codes: np.ndarray, refs: dict[int, int], levels: list[Any], m: int
) -> np.ndarray:
    """Model matrix with every subject's group set to its reference group."""
    mm = design.mm
    inputs = dict(mm.inputs)
    target = np.array([refs.get(int(g), int(g)) for g in codes])
    for name, spec in mm.factors.items():
        if group not in spec.columns:
            continue
        if spec.kind != "categorical" or spec.columns != (group,):
            _fail(
                f"the group column {group!r} enters the formula through {name!r}; write it "
                "as a plain factor so that means can be set to the reference group"
            )
        lookup = np.array([list(spec.levels).index(v) for v in levels])
        inputs[name] = np.repeat(lookup[target], m)
    out: np.ndarray = build_columns(mm.terms, mm.factors, inputs, mm.X.shape[0])
    return out


def _covariates(
    work: pd.DataFrame,
    names: Sequence[str] | None,
    rows: np.ndarray,
    n: int,
    m: int,
    forbidden: tuple[str, str],
) -> tuple[np.ndarray, tuple[str, ...]]:
    if names is None:
        return np.zeros((n, m, 0)), ()
    if isinstance(names, str):
        names = [names]
    blocks: list[np.ndarray] = []
    labels: list[str] = []
    for name in names:
        if name not in work.columns or name in forbidden:
            _fail(
                f"analysis_covariates: {name!r} is not a column of data other than the "
                "group and the visit"
            )
        col = work[name].iloc[rows]
        if col.isna().any():
            _fail(f"analysis_covariates: {name!r} has missing values")
        numeric = pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(
            col.dtype
        )
        if numeric:
            blocks.append(col.to_numpy(dtype=float)[:, None])
            labels.append(name)
            continue
        levels = _levels(work[name])
        values = col.to_numpy()
        for lev in levels[1:]:
            blocks.append((values == lev).astype(float)[:, None])
            labels.append(f"{name}{lev}")
    return np.hstack(blocks).reshape(n, m, -1), tuple(labels)


def _check_fit_rows(prep: Prepared) -> None:
    rows = prep.fit_rows
    empty = np.flatnonzero(~rows.any(axis=0))
    if empty.size:
        _fail(
            f"visit {prep.visit_levels[empty[0]]!r} has no outcome the imputation model can "
            "be fitted on (outcomes after a non-MAR event are left out); drop the visit or "
            "choose other strategies"
        )
    x = prep.x_own[rows]
    kept, _ = find_aliased(x)
    if not kept.all():
        cols = [c for c, k in zip(prep.column_names, kept, strict=True) if not k]
        _fail(
            f"the imputation model's column(s) {cols} are aliased on the outcomes it is "
            "fitted on; simplify the formula"
        )
