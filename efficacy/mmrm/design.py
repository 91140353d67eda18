"""From a data frame and an R-style formula to the arrays an MMRM is fitted on.

This module decides which rows are analysed (and lists every row it leaves out, with
the columns at fault and the reason), the order of visits and subjects, the model
matrix with R's column names, and which columns are aliased. It never modifies the
caller's data frame: columns are read once into NumPy arrays.

Conventions (documented on `efficacy.fit_mmrm`):

* pandas Categoricals keep their category order (the first category is the reference
  level); bool columns become factors with levels ``False < True`` (named ``TRUE`` and
  ``FALSE`` as in R); other non-numeric columns become factors with sorted levels.
* A non-categorical visit column is ordered by sorting its values.
* Factor levels without analysed rows are dropped, as R's ``lm``/``mmrm`` do, with a note.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import patsy
import patsy.builtins

from efficacy.errors import ModelSpecError
from efficacy.mmrm.modelmatrix import (
    ModelMatrix,
    find_aliased,
    make_model_matrix,
    referenced_columns,
)

__all__ = ["EXCLUDED_COLUMNS", "Design", "build_design"]

EXCLUDED_COLUMNS = ("row", "columns", "reason")
_ALLOWED_NAMES = set(dir(patsy.builtins)) | set(dir(builtins)) | {"np"}


@dataclass(frozen=True)
class Design:
    """Everything the fit needs from the data; rows sorted by subject, then visit.

    Attributes
    ----------
    mm : ModelMatrix
        Full model matrix (aliased columns included) with R column names.
    kept : numpy.ndarray
        Boolean mask of the non-aliased columns of ``mm.X``.
    null_basis : numpy.ndarray
        ``(p, n_aliased)`` null-space basis of ``mm.X`` (estimability checks).
    y, subject, visit, weights : numpy.ndarray
        Outcome, subject codes ``0..N-1``, visit codes ``0..m-1``, weights (or None).
    group : numpy.ndarray or None
        Group code per subject ``0..G-1`` (or None).
    row_index : pandas.Index
        The caller's index labels of the analysed rows, in the analysis order.
    n_subjects_read : int
        Subjects with at least one row in which nothing but the outcome may be missing
        (SAS's "Subjects" dimension, used for BIC).
    numeric_means : dict
        Mean over the analysed rows of every numeric column used by a numerical factor
        (the reference grid's covariate values).
    """

    formula: str
    response: str
    mm: ModelMatrix
    kept: np.ndarray
    null_basis: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    visit: np.ndarray
    group: np.ndarray | None
    weights: np.ndarray | None
    row_index: pd.Index
    subject_levels: tuple[Any, ...]
    visit_levels: tuple[Any, ...]
    group_levels: tuple[Any, ...] | None
    exclusions: Exclusions
    warnings: tuple[str, ...]
    n_subjects_read: int
    numeric_means: dict[str, float]
    subject_col: str
    visit_col: str
    group_col: str | None

    @property
    def excluded(self) -> pd.DataFrame:
        """Rows left out (columns ``row``, ``columns``, ``reason``); a new frame."""
        return self.exclusions.table()

    @property
    def x_kept(self) -> np.ndarray:
        """Model matrix without the aliased columns (full column rank)."""
        return self.mm.X[:, self.kept]

    @property
    def column_names(self) -> tuple[str, ...]:
        """R names of all columns, aliased ones included."""
        return self.mm.column_names

    @property
    def aliased(self) -> tuple[str, ...]:
        """R names of the aliased (dropped) columns."""
        return tuple(n for n, k in zip(self.mm.column_names, self.kept, strict=True) if not k)


@dataclass
class _Column:
    """A data column read once: numeric values, or factor codes with their levels."""

    name: str
    values: np.ndarray
    levels: list[Any] | None
    missing: np.ndarray
    categorical_input: bool
    dtype: Any = None  # the CategoricalDtype of the levels, built once


def _head(items: list[Any], k: int = 10) -> str:
    shown = ", ".join(repr(x) for x in items[:k])
    return f"[{shown}{', ...' if len(items) > k else ''}] ({len(items)} in all)"


def _sorted_codes(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    values: Any = series
    if isinstance(series.dtype, pd.StringDtype):
        # the same codes and levels from the values as objects, several times faster
        # than factorising Arrow-backed strings (strings sort alike either way)
        values = series.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(values, sort=True)
        return codes.astype(np.intp), uniques.tolist()
    except TypeError:  # mixed types: order by their text
        codes, found = pd.factorize(series, sort=False)
        levels = found.tolist()
        order = sorted(range(len(levels)), key=lambda i: str(levels[i]))
        remap = np.empty(len(levels) + 1, dtype=np.intp)
        remap[np.asarray(order, dtype=np.intp)] = np.arange(len(order))
        remap[-1] = -1
        return remap[codes], [levels[i] for i in order]


def _read_factor(series: pd.Series) -> tuple[np.ndarray, list[Any], bool]:
    """Return codes (-1 = missing), levels and whether the column was a Categorical."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat = series.array  # the Categorical itself: no accessor, no Series of codes
        assert isinstance(cat, pd.Categorical)
        return np.asarray(cat.codes, dtype=np.intp), list(cat.categories), True
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "b":
        return series.to_numpy(dtype=np.intp), [False, True], False
    codes, levels = _sorted_codes(series)
    return codes, levels, False


def _read_column(series: pd.Series, as_factor: bool) -> _Column:
    name = str(series.name)
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not (
        pd.api.types.is_bool_dtype(series.dtype)
    )
    if numeric and not as_factor:
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return _Column(name, values, None, ~np.isfinite(values), False)
    codes, levels, was_cat = _read_factor(series)
    dtype = series.dtype if was_cat else None
    return _Column(name, codes, levels, codes < 0, was_cat, dtype)


def _natural_key(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class _Roles:
    response_code: str
    response_cols: tuple[str, ...]
    rhs_terms: list[Any]
    covariate_cols: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def _code_names(code: str) -> frozenset[str]:
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return frozenset()
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def _unknown_names(code: str, columns: pd.Index) -> list[str]:
    names = _code_names(code)
    return sorted(n for n in names if n not in columns and n not in _ALLOWED_NAMES)


@functools.lru_cache(maxsize=64)
def _model_desc(formula: str) -> Any:
    """Parse a formula once (patsy's ModelDesc is immutable)."""
    try:
        return patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise ModelSpecError(f"formula {formula!r}: {exc.message}") from None


def _parse_formula(formula: Any, columns: pd.Index) -> _Roles:
    if not isinstance(formula, str) or "~" not in formula:
        raise ModelSpecError(
            f"formula: expected an R-style string such as 'FEV1 ~ ARMCD * AVISIT', got {formula!r}"
        )
    desc = _model_desc(formula)
    lhs = desc.lhs_termlist
    if len(lhs) != 1 or len(lhs[0].factors) != 1:
        raise ModelSpecError(
            f"formula {formula!r}: the left-hand side must be one outcome column "
            "(e.g. 'FEV1 ~ ...')"
        )
    response_code = lhs[0].factors[0].code
    response_cols = referenced_columns(response_code, columns)
    problems = []
    if not response_cols:
        problems.append(f"the outcome {response_code!r} is not a column of data")
    covariates: list[str] = []
    for term in desc.rhs_termlist:
        for factor in term.factors:
            unknown = _unknown_names(factor.code, columns)
            if unknown:
                problems.append(
                    f"the term {factor.code!r} refers to {', '.join(map(repr, unknown))}, "
                    "not a column of data"
                )
            cols = referenced_columns(factor.code, columns)
            covariates.extend(c for c in cols if c not in covariates)
    if problems:
        raise ModelSpecError(f"formula {formula!r}: " + "; ".join(problems))
    return _Roles(response_code, response_cols, list(desc.rhs_termlist), tuple(covariates))


def _check_columns(data: Any, subject: Any, visit: Any, group: Any, weights: Any) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ModelSpecError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    problems = []
    for arg, value, required in (
        ("subject", subject, True),
        ("visit", visit, True),
        ("group", group, False),
        ("weights", weights, False),
    ):
        if value is None and not required:
            continue
        if not isinstance(value, str) or value not in data.columns:
            problems.append(f"{arg}={value!r} is not a column of data")
    if not data.index.is_unique:
        problems.append("data has a duplicated index; call data.reset_index(drop=True) first")
    if problems:
        raise ModelSpecError("; ".join(problems) + f" (columns: {list(data.columns)})")


@dataclass(frozen=True)
class Exclusions:
    """Rows left out of a fit, compactly; `table` builds the documented DataFrame."""

    rows: pd.Index
    pattern: np.ndarray
    texts: tuple[tuple[str, str], ...]

    def __len__(self) -> int:
        return len(self.rows)

    def table(self) -> pd.DataFrame:
        """Columns ``row`` (index label), ``columns`` (at fault) and ``reason``."""
        cols = np.asarray([t[0] for t in self.texts] or [""], dtype=object)
        why = np.asarray([t[1] for t in self.texts] or [""], dtype=object)
        return pd.DataFrame(
            {
                "row": self.rows,
                "columns": cols[self.pattern].tolist(),
                "reason": why[self.pattern].tolist(),
            },
            columns=list(EXCLUDED_COLUMNS),
        )


def _exclusions(
    index: pd.Index, checks: list[tuple[_Column, str]]
) -> tuple[np.ndarray, Exclusions, np.ndarray]:
    """Flag rows with a missing value in any role; return (excluded, table, read)."""
    n = len(index)
    excluded = np.zeros(n, dtype=bool)
    read = np.ones(n, dtype=bool)  # rows SAS still reads (only the outcome may be missing)
    flagged: list[tuple[str, str]] = []
    pattern = np.zeros(n, dtype=np.int64)  # bit k set: the k-th flagged (column, role)
    for col, role in checks:
        excluded |= col.missing
        if role != "outcome":
            read &= ~col.missing
        if col.missing.any() and len(flagged) < 62:
            pattern |= col.missing.astype(np.int64) << len(flagged)
            flagged.append((col.name, role))
    idx = np.flatnonzero(excluded)
    uniq, inverse = np.unique(pattern[idx], return_inverse=True)
    texts = []
    for code in uniq.tolist():
        hits = [flagged[k] for k in range(len(flagged)) if code >> k & 1]
        texts.append(
            (
                ", ".join(dict.fromkeys(c for c, _ in hits)),
                "; ".join(dict.fromkeys(f"missing {r}" for _, r in hits)),
            )
        )
    table = Exclusions(index[idx], np.asarray(inverse).reshape(-1), tuple(texts))
    return excluded, table, read


def _check_duplicates(index: pd.Index, subj: _Column, vis: _Column) -> None:
    ok = ~(subj.missing | vis.missing)
    n_vis = len(vis.levels or ())
    key = subj.values[ok] * n_vis + vis.values[ok]
    uniq, counts = np.unique(key, return_counts=True)
    if counts.size == 0 or counts.max() < 2:
        return
    first = int(uniq[np.argmax(counts > 1)])
    s_code, v_code = divmod(first, n_vis)
    assert subj.levels is not None and vis.levels is not None  # both are factors
    rows = index[ok][key == first].tolist()
    raise ModelSpecError(
        f"subject {subj.levels[s_code]!r} has {len(rows)} rows at visit "
        f"{vis.levels[v_code]!r} (rows {rows}); {int((counts > 1).sum())} subject-visit "
        "pair(s) are duplicated in all. Each subject may have one row per visit: fix or "
        "aggregate the data first"
    )


def _check_weights(index: pd.Index, w: _Column, keep: np.ndarray) -> None:
    bad = index[keep & (w.values <= 0)].tolist()
    if bad:
        raise ModelSpecError(
            f"weights={w.name!r}: weights must be positive; rows {_head(bad)} have zero or "
            "negative weights. Remove those rows or correct the weights"
        )


def _compact_levels(
    col: _Column, rows: np.ndarray, notes: list[str], what: str
) -> tuple[np.ndarray, list[Any]]:
    """Codes of ``rows`` re-coded over the levels that occur there (unused ones noted)."""
    levels = col.levels or []
    codes = col.values[rows]
    used = np.bincount(codes, minlength=len(levels)) > 0
    if used.all():
        return codes, levels
    unused = [levels[i] for i in np.flatnonzero(~used)]
    kept = [levels[i] for i in np.flatnonzero(used)]
    note = f"{what} {col.name!r}: level(s) {', '.join(map(repr, unused))} have no analysed rows"
    if what == "visit":
        note += " and are not part of the covariance matrix"
    else:
        note += " and were dropped (as R's lm/mmrm do)"
        if not used[0]:
            note += f"; the reference level is now {kept[0]!r}"
        if len(kept) == 1:
            note += f"; {col.name} has a single level left, so its terms have no columns"
    notes.append(note)
    remap = np.cumsum(used) - 1
    return remap[codes], kept


def _visit_order_note(vis: _Column, notes: list[str]) -> None:
    levels = vis.levels or []
    if vis.categorical_input or not all(isinstance(v, str) for v in levels):
        return
    if sorted(levels, key=_natural_key) != levels:
        shown = ", ".join(map(str, levels[:5])) + (", ..." if len(levels) > 5 else "")
        notes.append(
            f"visit column {vis.name!r} is not Categorical: visits were sorted as text "
            f"({shown}); pass a pandas Categorical to set the visit order"
        )


def _response(
    roles: _Roles, resp: list[_Column], rows: np.ndarray, frame: dict[str, Any], index: pd.Index
) -> np.ndarray:
    for col in resp:
        if col.levels is not None:
            raise ModelSpecError(
                f"formula: the outcome column {col.name!r} is not numeric; convert it first"
            )
    if len(resp) == 1 and roles.response_code.strip() == resp[0].name:
        y_plain: np.ndarray = resp[0].values[rows]
        return y_plain
    env = patsy.EvalEnvironment([{"np": np}])
    inner = {**frame, **{c.name: c.values[rows] for c in resp}}
    try:
        y = np.asarray(env.eval(roles.response_code, inner_namespace=inner), dtype=float)
    except Exception as exc:  # any evaluation error of a user expression
        raise ModelSpecError(
            f"formula: cannot evaluate the outcome {roles.response_code!r} ({exc})"
        ) from None
    y = y.reshape(-1)
    if y.shape[0] != rows.size:
        raise ModelSpecError(f"formula: the outcome {roles.response_code!r} is not one column")
    if not np.all(np.isfinite(y)):
        bad = index[rows[~np.isfinite(y)]].tolist()
        raise ModelSpecError(
            f"formula: the outcome {roles.response_code!r} is not finite at rows {_head(bad)}"
        )
    return y


def _numeric_means(mm: ModelMatrix, frame: dict[str, Any]) -> dict[str, float]:
    means: dict[str, float] = {}
    for spec in mm.factors.values():
        if spec.kind != "numerical":
            continue
        for col in spec.columns:
            values = frame.get(col)
            if isinstance(values, np.ndarray) and values.dtype.kind == "f":
                means[col] = float(values.mean())
    return means


def _group_per_subject(
    grp: _Column,
    rows: np.ndarray,
    subj_codes: np.ndarray,
    subject_levels: list[Any],
    notes: list[str],
) -> tuple[np.ndarray, list[Any]]:
    codes, levels = _compact_levels(grp, rows, notes, "group")
    first = np.full(len(subject_levels), -1, dtype=np.intp)
    first[subj_codes[::-1]] = codes[::-1]
    bad = np.flatnonzero(first[subj_codes] != codes)
    if bad.size:
        who = subject_levels[int(subj_codes[bad[0]])]
        raise ModelSpecError(
            f"group={grp.name!r} must be constant within a subject, but subject {who!r} has "
            "more than one value; use a per-subject column (e.g. the randomised arm)"
        )
    return first, levels


def _read_all(
    data: pd.DataFrame,
    roles: _Roles,
    subject: str,
    visit: str,
    group: str | None,
    weights: str | None,
) -> dict[str, Any]:
    cols = {c: _read_column(data[c], as_factor=False) for c in roles.covariate_cols}
    resp = [_read_column(data[c], as_factor=False) for c in roles.response_cols]
    subj = _read_column(data[subject], as_factor=True)
    vis = _read_column(data[visit], as_factor=True)
    grp = _read_column(data[group], as_factor=True) if group is not None else None
    wts = _read_column(data[weights], as_factor=False) if weights is not None else None
    if wts is not None and wts.levels is not None:
        raise ModelSpecError(f"weights={weights!r}: the weight column must be numeric")
    checks = [(c, "outcome") for c in resp] + [(c, "covariate") for c in cols.values()]
    checks += [(subj, "subject"), (vis, "visit")]
    checks += [(grp, "group")] if grp is not None else []
    checks += [(wts, "weight")] if wts is not None else []
    return {
        "cols": cols,
        "resp": resp,
        "subj": subj,
        "vis": vis,
        "grp": grp,
        "wts": wts,
        "checks": checks,
    }


def _analysed_frame(cols: dict[str, _Column], rows: np.ndarray, notes: list[str]) -> dict[str, Any]:
    """Return the formula's columns on the analysed rows (factors over used levels)."""
    frame: dict[str, Any] = {}
    for name, col in cols.items():
        if col.levels is None:
            frame[name] = col.values[rows]
        else:
            codes, levels = _compact_levels(col, rows, notes, "factor")
            same = levels is col.levels and col.dtype is not None
            dtype = col.dtype if same else pd.CategoricalDtype(levels)
            frame[name] = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
    return frame


def _aliasing(mm: ModelMatrix, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    kept, null_basis = find_aliased(mm.X)
    if not kept.all():
        names = [n for n, k in zip(mm.column_names, kept, strict=True) if not k]
        notes.append(
            f"aliased (linearly dependent) fixed-effect column(s) dropped: {', '.join(names)}; "
            "their estimates are reported as NaN"
        )
    return kept, null_basis


def build_design(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    group: str | None = None,
    weights: str | None = None,
) -> Design:
    """Build the analysed rows, the model matrix and the subject/visit structure.

    Rows with a missing outcome, covariate, subject, visit, group or weight are left
    out and listed in ``Design.excluded`` (columns ``row``, ``columns``, ``reason``).
    Factor levels without analysed rows are dropped, with a note in ``Design.warnings``.
    The input is not modified.

    Raises
    ------
    ModelSpecError
        Unknown columns, an unusable formula, two rows of one subject at one visit,
        non-positive weights, a group that changes within a subject, or no usable rows.
    """
    _check_columns(data, subject, visit, group, weights)
    roles = _parse_formula(formula, data.columns)
    notes: list[str] = []
    index = data.index
    got = _read_all(data, roles, subject, visit, group, weights)
    subj, vis = got["subj"], got["vis"]
    _visit_order_note(vis, notes)
    _check_duplicates(index, subj, vis)
    excluded, table, read = _exclusions(index, got["checks"])
    keep = ~excluded
    if got["wts"] is not None:
        _check_weights(index, got["wts"], keep)
    if not keep.any():
        raise ModelSpecError(
            f"no row of data has the outcome, covariates, subject and visit all present "
            f"({len(index)} rows); check the columns named in the formula and arguments"
        )
    n_read = int(np.unique(subj.values[read]).size)
    rows = np.flatnonzero(keep)
    subj_codes, subject_levels = _compact_levels(subj, rows, [], "subject")
    visit_codes, visit_levels = _compact_levels(vis, rows, notes, "visit")
    order = np.lexsort((visit_codes, subj_codes))
    rows, subj_codes, visit_codes = rows[order], subj_codes[order], visit_codes[order]
    frame = _analysed_frame(got["cols"], rows, notes)
    row_index = index[rows]
    y = _response(roles, got["resp"], rows, frame, index)
    mm = make_model_matrix(roles.rhs_terms, frame, row_index, data.columns)
    kept, null_basis = _aliasing(mm, notes)
    group_codes = group_levels = None
    if got["grp"] is not None:
        group_codes, group_levels = _group_per_subject(
            got["grp"], rows, subj_codes, subject_levels, notes
        )
    return Design(
        formula=formula,
        response=roles.response_code,
        mm=mm,
        kept=kept,
        null_basis=null_basis,
        y=y,
        subject=subj_codes,
        visit=visit_codes,
        group=group_codes,
        weights=got["wts"].values[rows] if got["wts"] is not None else None,
        row_index=row_index,
        subject_levels=tuple(subject_levels),
        visit_levels=tuple(visit_levels),
        group_levels=tuple(group_levels) if group_levels is not None else None,
        exclusions=table,
        warnings=tuple(notes),
        n_subjects_read=n_read,
        numeric_means=_numeric_means(mm, frame),
        subject_col=subject,
        visit_col=visit,
        group_col=group,
    )
