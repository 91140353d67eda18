"""R-style fixed-effects model matrices: term structure, column names, aliasing.

patsy parses the formula, decides per term which factors are coded by contrasts and
which by full indicators (R's rule: a factor is coded by contrasts when the term without
it is also in the model), and memorises stateful transforms. The columns themselves are
built here, from per-factor inputs, so that the same code builds the model matrix of the
data, the rows of an LS-means reference grid (a categorical factor's input is then a
vector of level weights) and the sum-to-zero recoding used for SAS type-3 tests.

Column names follow R's ``model.matrix``: ``(Intercept)``, ``RACEWhite``,
``ARMCDTRT:AVISITVIS2``, ``FEV1_BL``, ``FEV1_BL:ARMCDTRT``; terms are ordered as R orders
them (by the number of factors, then by their place in the formula).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
from patsy.categorical import categorical_to_int

from efficacy.errors import ModelSpecError

__all__ = [
    "FactorSpec",
    "ModelMatrix",
    "SubtermSpec",
    "TermSpec",
    "build_columns",
    "find_aliased",
    "level_label",
    "make_model_matrix",
]

INTERCEPT = "(Intercept)"
_RANK_TOL = 1e-7  # R's lm() / dqrdc2 tolerance, relative to each column's norm


def level_label(value: Any) -> str:
    """Return R's label of a factor level (``TRUE``/``FALSE`` for bools, ``2`` for 2.0)."""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class FactorSpec:
    """One patsy factor (a column or an expression) of the fixed-effects formula."""

    name: str
    kind: Literal["categorical", "numerical"]
    levels: tuple[Any, ...]
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    num_columns: int
    factor: Any
    state: Any


@dataclass(frozen=True)
class SubtermSpec:
    """A block of columns: the row-wise product of its factors' coded inputs."""

    factors: tuple[str, ...]
    contrasts: tuple[tuple[str, np.ndarray], ...]
    suffixes: tuple[tuple[str, tuple[str, ...]], ...]
    n_columns: int


@dataclass(frozen=True)
class TermSpec:
    """A model term with its R label and its column slice in the full model matrix."""

    label: str
    factors: tuple[str, ...]
    subterms: tuple[SubtermSpec, ...]
    start: int
    stop: int


@dataclass(frozen=True)
class ModelMatrix:
    """The full-rank-agnostic fixed-effects model matrix and how it was built."""

    X: np.ndarray
    column_names: tuple[str, ...]
    terms: tuple[TermSpec, ...]
    factors: dict[str, FactorSpec]
    inputs: dict[str, np.ndarray]
    has_intercept: bool


@functools.lru_cache(maxsize=256)
def _code_references(code: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names and Q("...") strings a factor's code refers to, in order of appearance."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError as exc:
        raise ModelSpecError(
            f"formula: cannot parse the term {code!r} ({exc.msg}); "
            "write column names or Python expressions of them"
        ) from None
    names: list[str] = []
    quoted: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Q"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            quoted.append(node.args[0].value)
    return tuple(names), tuple(quoted)


def referenced_columns(code: str, columns: pd.Index) -> tuple[str, ...]:
    """Return the data columns a patsy factor's code refers to, in order of appearance."""
    names, quoted = _code_references(code)
    return tuple(dict.fromkeys(n for n in (*names, *quoted) if n in columns))


def _suffix_labels(
    matrix: np.ndarray, patsy_suffixes: list[str], labels: tuple[str, ...]
) -> tuple[str, ...]:
    out: list[str] = []
    for j in range(matrix.shape[1]):
        col = matrix[:, j]
        hot = np.flatnonzero(col)
        if hot.size == 1 and col[hot[0]] == 1.0:
            out.append(labels[int(hot[0])])
        else:
            suffix = patsy_suffixes[j]
            if suffix.startswith("[") and suffix.endswith("]"):
                suffix = suffix[1:-1]
            out.append(suffix)
    return tuple(out)


def _factor_specs(design_info: Any, columns: pd.Index) -> dict[str, FactorSpec]:
    specs: dict[str, FactorSpec] = {}
    for factor, info in design_info.factor_infos.items():
        name = factor.name()
        levels = tuple(info.categories) if info.type == "categorical" else ()
        specs[name] = FactorSpec(
            name=name,
            kind=info.type,
            levels=levels,
            labels=tuple(level_label(v) for v in levels),
            columns=referenced_columns(factor.code, columns),
            num_columns=int(info.num_columns or 0),
            factor=factor,
            state=info.state,
        )
    return specs


def _term_order(rhs_terms: list[Any]) -> list[Any]:
    """R's term order: by number of factors, then by place in the expanded formula."""
    indexed = list(enumerate(rhs_terms))
    indexed.sort(key=lambda it: (len(it[1].factors), it[0]))
    return [t for _, t in indexed]


def _term_specs(
    design_info: Any, rhs_terms: list[Any], specs: dict[str, FactorSpec]
) -> tuple[TermSpec, ...]:
    terms: list[TermSpec] = []
    start = 0
    for term in _term_order(rhs_terms):
        subterms = []
        for sub in design_info.term_codings[term]:
            contrasts = []
            suffixes = []
            for factor in sub.factors:
                cm = sub.contrast_matrices.get(factor)
                if cm is not None:
                    mat = np.asarray(cm.matrix, dtype=float)
                    spec = specs[factor.name()]
                    contrasts.append((factor.name(), mat))
                    suffixes.append(
                        (factor.name(), _suffix_labels(mat, cm.column_suffixes, spec.labels))
                    )
            subterms.append(
                SubtermSpec(
                    factors=tuple(f.name() for f in sub.factors),
                    contrasts=tuple(contrasts),
                    suffixes=tuple(suffixes),
                    n_columns=int(sub.num_columns),
                )
            )
        width = sum(s.n_columns for s in subterms)
        label = ":".join(f.name() for f in term.factors) if term.factors else INTERCEPT
        terms.append(
            TermSpec(
                label=label,
                factors=tuple(f.name() for f in term.factors),
                subterms=tuple(subterms),
                start=start,
                stop=start + width,
            )
        )
        start += width
    return tuple(terms)


def _subterm_names(sub: SubtermSpec, specs: dict[str, FactorSpec]) -> list[str]:
    if not sub.factors:
        return [INTERCEPT]
    suffixes = dict(sub.suffixes)
    parts: list[list[str]] = []
    for fname in sub.factors:
        spec = specs[fname]
        if spec.kind == "categorical":
            parts.append([fname + s for s in suffixes[fname]])
        elif spec.num_columns == 1:
            parts.append([fname])
        else:
            parts.append([f"{fname}{j + 1}" for j in range(spec.num_columns)])
    names = [""]
    for part in parts:  # the first factor varies fastest, as in R and patsy
        names = [f"{n}:{p}" if n else p for p in part for n in names]
    return names


def _sum_contrast(k: int) -> np.ndarray:
    """R's ``contr.sum``: identity over the first k-1 levels, -1 for the last."""
    return np.vstack([np.eye(k - 1), -np.ones((1, k - 1))])


def build_columns(
    terms: tuple[TermSpec, ...],
    specs: dict[str, FactorSpec],
    inputs: dict[str, np.ndarray],
    n_rows: int,
    coding: Literal["model", "sum", "full"] = "model",
) -> np.ndarray:
    """Build model-matrix rows from per-factor inputs.

    Parameters
    ----------
    terms, specs
        The term and factor structure of a `ModelMatrix`.
    inputs
        Per factor: for a categorical factor its ``(n_rows,)`` level codes, or an
        ``(n_rows, n_levels)`` matrix of level weights (reference-grid rows); for a
        numerical factor its ``(n_rows, num_columns)`` values.
    n_rows
        Number of rows to build.
    coding
        ``"model"`` uses the model's contrasts; ``"sum"`` replaces every reduced-rank
        contrast by R's ``contr.sum`` (the parameterisation whose tests are SAS type 3);
        ``"full"`` codes every factor by all its level indicators (SAS's non-full-rank
        columns of a term).

    Returns
    -------
    numpy.ndarray
        ``(n_rows, p)`` matrix, columns in the model's order.
    """
    blocks = []
    for term in terms:
        for sub in term.subterms:
            contrasts = dict(sub.contrasts)
            block = np.ones((n_rows, 1))
            for fname in sub.factors:
                if specs[fname].kind == "categorical":
                    mat = contrasts[fname]
                    if coding == "sum" and mat.shape[1] == mat.shape[0] - 1:
                        mat = _sum_contrast(mat.shape[0])
                    given = inputs[fname]
                    if coding == "full":
                        mat = np.eye(mat.shape[0])
                    # level codes (the data) gather rows; level weights (grids) multiply
                    part = mat[given] if given.ndim == 1 else given @ mat
                else:
                    part = inputs[fname]
                # first factor varies fastest: new index = old + n_old * new_part
                block = (part[:, :, None] * block[:, None, :]).reshape(n_rows, -1)
            blocks.append(block)
    return np.hstack(blocks) if blocks else np.empty((n_rows, 0))


def factor_inputs(
    specs: dict[str, FactorSpec], frame: Any, row_index: pd.Index, na_action: Any
) -> dict[str, np.ndarray]:
    """Evaluate every factor on ``frame``: level codes (categorical) or values (numerical).

    ``frame`` is a mapping of column name to array (a DataFrame or a dict); ``row_index``
    labels its rows in error messages.
    """
    inputs: dict[str, np.ndarray] = {}
    n = len(row_index)
    for name, spec in specs.items():
        raw = spec.factor.eval(spec.state, frame)
        if spec.kind == "categorical":
            codes = categorical_to_int(raw, spec.levels, na_action, origin=spec.factor)
            inputs[name] = np.asarray(codes, dtype=np.intp)
        else:
            values = np.asarray(raw, dtype=float).reshape(n, -1)
            if not np.all(np.isfinite(values)):
                bad = row_index[~np.all(np.isfinite(values), axis=1)].tolist()
                raise ModelSpecError(
                    f"formula: the term {name!r} is missing or not finite at rows "
                    f"{_head(bad)} although its columns are present; transform the data "
                    "before fitting or remove those rows"
                )
            inputs[name] = values
    return inputs


def _head(items: list[Any], k: int = 10) -> str:
    shown = ", ".join(repr(x) for x in items[:k])
    return f"[{shown}{', ...' if len(items) > k else ''}] ({len(items)} in all)"


_NA_ACTION = patsy.NAAction(on_NA="raise", NA_types=["None", "NaN"])
_STRUCTURES: dict[Any, tuple[dict[str, FactorSpec], tuple[TermSpec, ...]]] = {}
_MAX_STRUCTURES = 32


def _structure(
    rhs_terms: list[Any], frame: Any, columns: pd.Index
) -> tuple[dict[str, FactorSpec], tuple[TermSpec, ...]]:
    """Let patsy memorise the factors and choose every term's coding."""
    env = patsy.EvalEnvironment([{"np": np}])
    try:
        (design_info,) = patsy.design_matrix_builders(
            [rhs_terms], lambda: iter([frame]), env, NA_action=_NA_ACTION
        )
    except patsy.PatsyError as exc:
        raise ModelSpecError(f"formula: {exc.message}") from None
    specs = _factor_specs(design_info, columns)
    return specs, _term_specs(design_info, rhs_terms, specs)


def _plain_signature(rhs_terms: list[Any], frame: Any) -> tuple[Any, ...] | None:
    """Cache key of a formula made only of plain column names, else None.

    Such a formula's structure (codings, names) depends on nothing but its terms, which
    columns are factors and their levels: no stateful transform memorises data.
    """
    names = {f.code.strip() for term in rhs_terms for f in term.factors}
    sig: list[tuple[str, tuple[object, ...] | None]] = []
    for name in sorted(names):
        if not name.isidentifier() or name not in frame:
            return None
        values = frame[name]
        if isinstance(values, pd.Categorical):
            sig.append((name, tuple(values.categories)))
        elif isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind == "f":
            sig.append((name, None))
        else:
            return None
    return (tuple(rhs_terms), tuple(sig))


def _remember(key: Any, value: tuple[dict[str, FactorSpec], tuple[TermSpec, ...]]) -> None:
    if len(_STRUCTURES) >= _MAX_STRUCTURES:
        _STRUCTURES.pop(next(iter(_STRUCTURES)))
    _STRUCTURES[key] = value


def make_model_matrix(
    rhs_terms: list[Any], frame: Any, row_index: pd.Index, columns: pd.Index
) -> ModelMatrix:
    """Build the fixed-effects model matrix of ``frame`` (rows already filtered).

    Parameters
    ----------
    rhs_terms
        patsy terms of the right-hand side (``ModelDesc.rhs_termlist``).
    frame
        The analysed rows: a mapping of column name to array (categorical columns as
        pandas Categoricals).
    row_index
        The caller's labels of those rows (for error messages).
    columns
        The caller's column names (to find the columns each factor refers to).

    Returns
    -------
    ModelMatrix
        Columns with R names, in R's order; all columns, aliased ones included.

    Notes
    -----
    The structure of a formula made of plain column names is cached (at most 32) by its
    terms and its factors' levels; everything else is recomputed on every call.
    """
    key = _plain_signature(rhs_terms, frame)
    cached = _STRUCTURES.get(key) if key is not None else None
    if cached is None:
        specs, terms = _structure(rhs_terms, frame, columns)
        if key is not None:
            _remember(key, (specs, terms))
    else:
        specs, terms = cached
    if key is not None:  # plain column names: the inputs are the columns themselves
        inputs = {
            name: (
                np.asarray(frame[name].codes, dtype=np.intp)
                if spec.kind == "categorical"
                else np.asarray(frame[name], dtype=float).reshape(-1, 1)
            )
            for name, spec in specs.items()
        }
    else:
        try:
            inputs = factor_inputs(specs, frame, row_index, _NA_ACTION)
        except patsy.PatsyError as exc:
            raise ModelSpecError(f"formula: {exc.message}") from None
    X = build_columns(terms, specs, inputs, len(row_index))
    names: list[str] = []
    for term in terms:
        for sub in term.subterms:
            names.extend(_subterm_names(sub, specs))
    return ModelMatrix(
        X=X,
        column_names=tuple(names),
        terms=terms,
        factors=specs,
        inputs=inputs,
        has_intercept=any(t.label == INTERCEPT for t in terms),
    )


def find_aliased(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Find aliased columns the way R's ``lm`` does (dqrdc2's limited pivoting).

    Columns are taken in order; a column is aliased when its residual after projection
    on the columns kept before it has a norm below ``1e-7`` times its own norm (an
    all-zero column is aliased). Later columns are dropped, never earlier ones, so the
    surviving coefficients keep their meaning, as in R.

    Parameters
    ----------
    X
        ``(n, p)`` model matrix.

    Returns
    -------
    kept : numpy.ndarray
        Boolean mask of the kept columns.
    null_basis : numpy.ndarray
        ``(p, n_aliased)`` basis of the null space of ``X``: for each aliased column
        ``j``, the vector ``e_j - c`` where ``X[:, kept] c = X[:, j]``. A linear function
        ``L beta`` is estimable iff ``L @ null_basis`` is zero.
    """
    p = X.shape[1]
    norms = np.linalg.norm(X, axis=0)
    kept = norms > 0.0
    # Householder QR without pivoting: |R_jj| is the norm of column j's residual after
    # projection on the earlier columns. An aliased column would leave an arbitrary
    # reflector behind, so (as dqrdc2 moves it to the end) drop the first one found and
    # factorise again; the columns before it are unaffected.
    while True:
        idx = np.flatnonzero(kept)
        if idx.size == 0:
            break
        diag = np.zeros(idx.size)  # more columns than rows: the last ones are aliased
        r_diag = np.abs(np.diag(np.linalg.qr(X[:, idx], mode="r")))
        diag[: r_diag.size] = r_diag
        small = np.flatnonzero(diag <= _RANK_TOL * norms[idx])
        if small.size == 0:
            break
        kept[idx[small[0]]] = False
    null_vectors = []
    for j in np.flatnonzero(~kept):
        v = np.zeros(p)
        v[j] = 1.0
        idx = np.flatnonzero(kept[:j])
        if idx.size and norms[j] > 0.0:
            coef, *_ = np.linalg.lstsq(X[:, idx], X[:, j], rcond=None)
            v[idx] = -coef
        null_vectors.append(v)
    null_basis = np.column_stack(null_vectors) if null_vectors else np.zeros((p, 0))
    return kept, null_basis
