"""LS means (emmeans' reference grid) and contrasts of them, as linear functions of beta.

An LS mean of a cell (a combination of levels of the requested factors) is the model's
prediction averaged over a reference grid: every other factor of the model takes each
of its levels with equal weight (emmeans' default ``weights = "equal"``, SAS LSMEANS)
and every numeric covariate sits at its mean over the analysed rows. Because each
model-matrix column is a product of one input per factor, the average over the other
factors' levels is the column built from uniform level weights, so each cell is one row
``L`` with ``estimate = L beta``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import ModelSpecError
from efficacy.mmrm.design import Design
from efficacy.mmrm.modelmatrix import FactorSpec, TermSpec, build_columns, factor_inputs

__all__ = [
    "Grid",
    "contrast_rows",
    "estimable",
    "lsmeans_grid",
    "matching_term",
    "resolve_factors",
]

_EST_TOL = 1e-6


def _as_list(value: str | Sequence[str] | None, arg: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ModelSpecError(f"{arg} must be a factor name or a list of them, got {value!r}")


def resolve_factors(design: Design, names: list[str], arg: str) -> list[FactorSpec]:
    """Map user names (``"ARMCD"`` or patsy's ``"C(VISITN)"``) to categorical factors."""
    categorical = [f for f in design.mm.factors.values() if f.kind == "categorical"]
    out: list[FactorSpec] = []
    for name in names:
        hits = [f for f in categorical if f.name == name]
        if not hits:
            hits = [f for f in categorical if f.columns == (name,)]
        if len(hits) != 1:
            available = [f.name for f in categorical]
            raise ModelSpecError(
                f"{arg}: {name!r} is not a factor of the model; model factors: {available}"
            )
        if hits[0] in out:
            raise ModelSpecError(f"{arg}: {name!r} is given twice")
        out.append(hits[0])
    return out


class Grid:
    """Cells of an LS-means table and their rows ``L`` over all model columns.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per cell: a column per requested factor (``specs`` then ``by``) holding
        the level. ``by`` factors vary slowest, the first ``specs`` factor fastest
        (emmeans' order). Built on first access from `column`.
    L : numpy.ndarray
        ``(n_cells, p)`` rows over all model columns (aliased ones included).
    by_key : numpy.ndarray
        Index of each cell's ``by`` group.

    Parameters
    ----------
    columns : mapping of str to pandas.Categorical
        The columns of `cells`, in order.
    L, by_key, names
        As the attributes; `names` are the factor names of `columns`.
    """

    def __init__(
        self,
        columns: Mapping[str, pd.Categorical],
        L: np.ndarray,
        by_key: np.ndarray,
        names: list[str],
    ) -> None:
        self._columns = dict(columns)
        self.L = L
        self.by_key = by_key
        self.names = names
        self._memo: dict[tuple[str, str], Any] = {}

    @functools.cached_property
    def cells(self) -> pd.DataFrame:
        """The cells (see the class attributes), one frame built once per grid."""
        return pd.DataFrame(self._columns)

    def column(self, name: str) -> pd.Categorical:
        """Return the level of factor `name` per cell (``cells[name].array``), without the frame."""
        return self._columns[name]

    def values(self, name: str) -> np.ndarray:
        """Level of every cell of factor `name` as objects (``cells[name].to_numpy(object)``).

        Computed once per grid (the grid is shared by every call on one fit); read-only.
        """
        key = ("values", name)
        if key not in self._memo:
            col = self.column(name)
            levels = np.empty(len(col.categories), dtype=object)
            levels[:] = list(col.categories)  # each category once, as to_numpy(object) does
            out = levels[col.codes]
            out.flags.writeable = False
            self._memo[key] = out
        values: np.ndarray = self._memo[key]
        return values

    def text(self, name: str) -> list[str]:
        """Level of every cell of factor `name` as text (``cells[name].astype(str)``).

        Each category is converted once, by the same pandas conversion as the whole
        column, then taken by the cells' codes; computed once per grid.
        """
        key = ("text", name)
        if key not in self._memo:
            col = self.column(name)
            levels = list(col.categories)
            if not all(isinstance(v, str) for v in levels):  # text as pandas writes it
                levels = list(
                    pd.Categorical.from_codes(np.arange(len(levels)), dtype=col.dtype).astype(str)
                )
            self._memo[key] = [levels[i] for i in col.codes]
        text: list[str] = self._memo[key]
        return list(text)


def _numeric_inputs(design: Design, specs: list[FactorSpec]) -> dict[str, np.ndarray]:
    numeric = [f for f in design.mm.factors.values() if f.kind == "numerical"]
    if not numeric:
        return {}
    frame: dict[str, Any] = {}
    for spec in numeric:
        for col in spec.columns:
            if col not in design.numeric_means:
                raise ModelSpecError(
                    f"lsmeans: the numeric term {spec.name!r} uses the non-numeric column "
                    f"{col!r}; a reference grid cannot set it to a mean"
                )
            frame[col] = np.array([design.numeric_means[col]])
    values = factor_inputs({s.name: s for s in numeric}, frame, pd.RangeIndex(1), na_action=None)
    return values


def lsmeans_grid(
    design: Design, specs: str | Sequence[str], by: str | Sequence[str] | None = None
) -> Grid:
    """Build the LS-means cells of ``specs`` within ``by`` and their rows ``L``."""
    spec_names = _as_list(specs, "specs")
    by_names = _as_list(by, "by")
    if not spec_names:
        raise ModelSpecError("specs: name at least one factor, e.g. specs='ARMCD'")
    factors = resolve_factors(design, spec_names + by_names, "specs/by")
    numeric = _numeric_inputs(design, factors)
    fixed = {f.name for f in factors}
    others = [
        f for f in design.mm.factors.values() if f.kind == "categorical" and f.name not in fixed
    ]
    # emmeans order: first spec factor fastest, by factors slowest
    order = list(reversed(factors))
    combos = list(itertools.product(*[range(len(f.levels)) for f in order]))
    n = len(combos)
    inputs: dict[str, np.ndarray] = dict(
        (name, np.repeat(vals, n, axis=0)) for name, vals in numeric.items()
    )
    for f in others:
        inputs[f.name] = np.full((n, len(f.levels)), 1.0 / len(f.levels))
    codes = np.asarray(combos, dtype=np.intp).reshape(n, len(order))
    for j, f in enumerate(order):
        inputs[f.name] = codes[:, j].copy()
    L = build_columns(design.mm.terms, design.mm.factors, inputs, n)
    names = spec_names + by_names
    columns = {
        name: pd.Categorical.from_codes(codes[:, order.index(f)], dtype=_dtype_of(f.levels))
        for name, f in zip(names, factors, strict=True)
    }
    n_by = len(by_names)
    if n_by:
        by_codes = codes[:, :n_by]
        _, by_key = np.unique(by_codes, axis=0, return_inverse=True)
    else:
        by_key = np.zeros(n, dtype=np.intp)
    return Grid(columns, L, np.asarray(by_key).reshape(-1), names)


@functools.lru_cache(maxsize=512)
def _cached_dtype(key: tuple[tuple[type, Any], ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype([v for _, v in key])


def _dtype_of(levels: Sequence[Any]) -> pd.CategoricalDtype:
    """Return ``pd.CategoricalDtype(list(levels))``, built once per distinct levels.

    Dtypes are immutable, so grids share them; the key holds each level's type, so
    ``1``, ``1.0`` and ``True`` are different levels.
    """
    try:
        return _cached_dtype(tuple((type(v), v) for v in levels))
    except TypeError:  # an unhashable level
        return pd.CategoricalDtype(list(levels))


def estimable(design: Design, L: np.ndarray) -> np.ndarray:
    """Whether each row of ``L`` (over all model columns) is estimable.

    ``L beta`` is estimable iff ``L`` is orthogonal to the null space of ``X``; rows
    that are not give NaN (as emmeans' "non-est." and SAS's "Non-est").
    """
    N = design.null_basis
    if N.shape[1] == 0:
        return np.ones(L.shape[0], dtype=bool)
    scale = np.linalg.norm(L, axis=1, keepdims=True) * np.linalg.norm(N, axis=0, keepdims=True)
    ok: np.ndarray = np.all(np.abs(L @ N) <= _EST_TOL * np.maximum(scale, 1.0), axis=1)
    return ok


def matching_term(design: Design, factors: list[FactorSpec]) -> TermSpec | None:
    """Return the model term made of exactly these factors, if any (SAS LSMEANS effect)."""
    wanted = {f.name for f in factors}
    for term in design.mm.terms:
        if set(term.factors) == wanted:
            return term
    return None


def _cell_labels(grid: Grid, spec_names: list[str]) -> list[str]:
    parts = [grid.text(c) for c in spec_names]
    return [" ".join(p) for p in zip(*parts, strict=True)]


def contrast_rows(
    grid: Grid,
    spec_names: list[str],
    method: str | Mapping[str, Sequence[float]],
    ref: Any = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Contrast rows (over all model columns) of LS means within each ``by`` group.

    Parameters
    ----------
    grid
        The LS-means grid.
    spec_names
        The ``specs`` factor names (the cells compared within a ``by`` group).
    method
        ``"pairwise"``: every pair, earlier level minus later level (emmeans);
        ``"reference"``: every other cell minus the reference cell ``ref`` (default
        the first cell; SAS ``DIFF=CONTROL``, emmeans ``trt.vs.ctrl``); or a mapping of
        contrast name to one weight per cell of a ``by`` group (custom contrasts).
    ref
        Reference level for ``"reference"`` (a tuple of levels for several factors).

    Returns
    -------
    labels, rows, group
        Contrast labels, ``(k, p)`` rows and the index of each row's first cell (for the
        ``by`` columns).
    """
    labels_all = _cell_labels(grid, spec_names)
    out_labels: list[str] = []
    rows: list[np.ndarray] = []
    anchor: list[int] = []
    for g in np.unique(grid.by_key):
        idx = np.flatnonzero(grid.by_key == g)
        labels = [labels_all[i] for i in idx]
        for name, weights in _contrast_weights(method, labels, ref, grid, spec_names, idx):
            rows.append(weights @ grid.L[idx])
            out_labels.append(name)
            anchor.append(int(idx[0]))
    if not rows:
        levels = {c: list(grid.column(c).categories) for c in spec_names}
        raise ModelSpecError(
            f"contrast: nothing to compare, {spec_names} has a single cell {levels} among "
            "the analysed rows (other levels had no data; see MMRMResult.warnings)"
        )
    return out_labels, np.vstack(rows), np.asarray(anchor, dtype=np.intp)


def _contrast_weights(
    method: str | Mapping[str, Sequence[float]],
    labels: list[str],
    ref: object,
    grid: Grid,
    spec_names: list[str],
    idx: np.ndarray,
) -> Iterator[tuple[str, np.ndarray]]:
    k = len(labels)
    if isinstance(method, Mapping):
        for name, given in method.items():
            w = np.asarray(given, dtype=float)
            if w.shape != (k,):
                raise ModelSpecError(
                    f"contrast {name!r}: give one weight per cell ({k}: {labels}), got "
                    f"{w.shape[0] if w.ndim == 1 else w.shape}"
                )
            yield str(name), w
        return
    if method == "pairwise":
        for i, j in itertools.combinations(range(k), 2):
            w = np.zeros(k)
            w[i], w[j] = 1.0, -1.0
            yield f"{labels[i]} - {labels[j]}", w
        return
    if method == "reference":
        r = 0 if ref is None else _ref_position(ref, grid, spec_names, idx)
        for i in range(k):
            if i != r:
                w = np.zeros(k)
                w[i], w[r] = 1.0, -1.0
                yield f"{labels[i]} - {labels[r]}", w
        return
    raise ModelSpecError(
        f"method={method!r}: use 'pairwise', 'reference' or a dict of custom weights"
    )


def _ref_position(ref: object, grid: Grid, spec_names: list[str], idx: np.ndarray) -> int:
    wanted = ref if isinstance(ref, tuple) else (ref,)
    if len(wanted) != len(spec_names):
        raise ModelSpecError(f"ref={ref!r}: give one level per factor in specs ({spec_names})")
    sub = [grid.values(c)[idx] for c in spec_names]  # read once per grid
    for pos in range(len(idx)):
        if all(col[pos] == v for col, v in zip(sub, wanted, strict=True)):
            return pos
    levels = {c: list(grid.column(c).categories) for c in spec_names}
    raise ModelSpecError(f"ref={ref!r} is not a level of {spec_names}; levels: {levels}")
