"""Hypothesis matrices and design-based degrees of freedom.

* SAS type-3 hypotheses for a model term, in the model's treatment parameterisation.
* Residual degrees of freedom (SAS ``DDFM=RESIDUAL``).
* Between-within degrees of freedom (SAS ``DDFM=BETWITHIN``).

References
----------
SAS/STAT User's Guide, PROC MIXED, MODEL statement, ``DDFM=BETWITHIN`` and
``DDFM=RESIDUAL``; PROC GLIMMIX "Between-Within Degrees of Freedom Approximation"
(Schluchter and Elashoff 1990). SAS type-3 hypotheses equal the tests of a term's
coefficients under sum-to-zero coding (``contr.sum``), with covariates at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from efficacy.errors import ModelSpecError
from efficacy.mmrm.design import Design
from efficacy.mmrm.modelmatrix import INTERCEPT, TermSpec, build_columns, find_aliased

__all__ = [
    "DesignDF",
    "design_df",
    "resolve_term",
    "term_of_columns",
    "type3_matrix",
]

_TOL = 1e-8


def resolve_term(design: Design, name: str) -> TermSpec:
    """Find a model term by its R label (``ARMCD:AVISIT``).

    The factors may come in any order and SAS's spelling (``AVISIT*ARMCD``) is accepted.
    """
    if not isinstance(name, str):
        raise ModelSpecError(f"term must be a string such as 'ARMCD:AVISIT', got {name!r}")
    wanted = {p.strip() for p in name.replace("*", ":").split(":")}
    for term in design.mm.terms:
        if term.label == name or (term.factors and set(term.factors) == wanted):
            return term
    labels = [t.label for t in design.mm.terms]
    raise ModelSpecError(f"term {name!r} is not in the model; model terms: {labels}")


def term_of_columns(design: Design) -> np.ndarray:
    """Index of the term of every kept column."""
    owner = np.empty(len(design.column_names), dtype=np.intp)
    for k, term in enumerate(design.mm.terms):
        owner[term.start : term.stop] = k
    kept: np.ndarray = owner[design.kept]
    return kept


def type3_matrix(design: Design, term: TermSpec) -> np.ndarray:
    """SAS type-3 hypothesis matrix of ``term`` over the kept coefficients.

    The hypothesis is that the term's coefficients are zero under sum-to-zero coding of
    every contrast-coded factor (SAS type 3; numeric covariates at zero). Its rows are
    expressed over the model's (treatment-coded, kept) coefficients and, where the
    term's block is invertible, normalised so that the term's own coefficients get the
    identity, which gives the rows SAS prints (e.g. RACE: the two treatment contrasts;
    ARMCD with an ARMCD*AVISIT interaction: TRT - PBO averaged over visits).

    With aliased columns, the sum-coded columns are pruned by the same rule as the
    model's (later columns in the span of earlier ones are dropped), so a term entirely
    aliased with earlier terms has nothing to test (``r = 0``, reported with NaN).

    Returns
    -------
    numpy.ndarray
        ``(r, p_kept)`` matrix of full row rank ``r`` (``r = 0`` when nothing about the
        term is estimable beyond earlier terms).
    """
    mm = design.mm
    X_sum = build_columns(mm.terms, mm.factors, mm.inputs, mm.X.shape[0], coding="sum")
    kept_sum, _ = find_aliased(X_sum)
    X_kept = design.x_kept
    # gamma (kept sum-coded coefficients) = M beta (kept model coefficients); both
    # matrices span the same space with full column rank, so M is square and invertible
    M, *_ = np.linalg.lstsq(X_sum[:, kept_sum], X_kept, rcond=None)
    sum_idx = np.flatnonzero(kept_sum)
    rows: np.ndarray = M[(sum_idx >= term.start) & (sum_idx < term.stop)]
    if rows.shape[0] == 0:  # no columns, or all aliased with earlier terms: nothing to test
        return rows
    kept_idx = np.flatnonzero(design.kept)
    own = np.flatnonzero((kept_idx >= term.start) & (kept_idx < term.stop))
    if own.size == rows.shape[0]:
        block = rows[:, own]
        if np.linalg.cond(block) < 1e10:
            L: np.ndarray = np.linalg.solve(block, rows)
            L[np.abs(L) < 1e-12] = 0.0
            return L
    return rows


@dataclass(frozen=True)
class DesignDF:
    """Design-based denominator degrees of freedom.

    Attributes
    ----------
    residual : float
        ``n - rank(X)`` (SAS ``DDFM=RESIDUAL``).
    term_bw : numpy.ndarray
        Between-within df of each term (SAS ``DDFM=BETWITHIN``), in term order.
    """

    residual: float
    term_bw: np.ndarray

    def bw_for(self, design: Design, L: np.ndarray, term: TermSpec | None = None) -> float:
        """Between-within df of ``L``.

        The df of ``term`` when given, else the minimum over the terms with non-zero
        coefficients in ``L`` (R mmrm's convention for general contrasts).
        """
        if term is not None:
            return float(self.term_bw[design.mm.terms.index(term)])
        owner = term_of_columns(design)
        used = np.unique(owner[np.any(np.abs(np.atleast_2d(L)) > 0, axis=0)])
        if used.size == 0:
            return float(self.term_bw.min())
        return float(self.term_bw[used].min())


def _within_centered(X: np.ndarray, subject: np.ndarray, n_subjects: int) -> np.ndarray:
    counts = np.bincount(subject, minlength=n_subjects).astype(float)
    sums = np.zeros((n_subjects, X.shape[1]))
    np.add.at(sums, subject, X)
    centered: np.ndarray = X - (sums / np.maximum(counts, 1.0)[:, None])[subject]
    return centered


def _rank(A: np.ndarray) -> int:
    if A.size == 0:
        return 0
    s = np.linalg.svd(A, compute_uv=False)
    return int(np.sum(s > _TOL * max(1.0, float(s.max(initial=0.0))) * max(A.shape)))


def _interaction_df(
    WX: np.ndarray, WE: np.ndarray, subject: np.ndarray, n_subjects: int, rank_wx: int
) -> int:
    """Return the df of the subject-by-effect interaction beyond the model.

    ``rank([S, X, S.E]) - rank([S, X])`` computed subject by subject: the block-diagonal
    ``W(S.E)`` is projected out of ``W X`` one subject at a time.
    """
    resid = WX.copy()
    rank_b = 0
    starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
    stops = np.r_[starts[1:], subject.size]
    for a, b in zip(starts, stops, strict=True):
        block = WE[a:b]
        if not np.any(block):
            continue
        u, s, _ = np.linalg.svd(block, full_matrices=False)
        k = int(np.sum(s > _TOL * max(1.0, float(s.max()))))
        if k:
            q = u[:, :k]
            resid[a:b] -= q @ (q.T @ resid[a:b])
            rank_b += k
    return rank_b + _rank(resid) - rank_wx


def design_df(design: Design, covariance: str) -> DesignDF:
    """Residual and between-within degrees of freedom.

    Notes
    -----
    Between-within (SAS ``DDFM=BETWITHIN``): the residual df ``n - rank(X)`` are split
    into a between-subject part, ``N - rank(X_b)`` where ``X_b`` holds the columns of the
    terms that never change within a subject (the intercept included), and a
    within-subject part, ``n - N - rank(W X_w)`` (``W`` centres within subjects). A
    term that changes within any subject gets the within-subject df, any other term the
    between-subject df. When several within-subject terms involve a factor, each gets
    the df of its subject-by-term interaction, ``rank([S, X, S.E]) - rank([S, X])``.
    As SAS does for ``TYPE=UN`` with only R-side covariance, every term gets the
    between-subject df when ``covariance="us"``. ``N`` counts the analysed subjects.
    """
    X = design.x_kept
    n, rank = X.shape[0], X.shape[1]
    N = len(design.subject_levels)
    owner = term_of_columns(design)
    n_terms = len(design.mm.terms)
    WX = _within_centered(X, design.subject, N)
    scale = np.maximum(np.abs(X).max(axis=0), 1.0)
    varies = np.any(np.abs(WX) > 1e-10 * scale, axis=0)
    within_term = np.zeros(n_terms, dtype=bool)
    for k in np.unique(owner[varies]):
        within_term[k] = True
    between_cols = ~within_term[owner]
    between_df = float(N - int(between_cols.sum()))
    rank_w = _rank(WX[:, ~between_cols])
    within_df = float(n - N - rank_w)
    term_bw = np.full(n_terms, between_df)
    if covariance != "us":
        term_bw[within_term] = within_df
        with_factor = [
            k
            for k in np.flatnonzero(within_term)
            if any(design.mm.factors[f].kind == "categorical" for f in design.mm.terms[k].factors)
        ]
        if len(with_factor) > 1:
            rank_wx = _rank(WX)
            for k in with_factor:
                term = design.mm.terms[k]
                full = build_columns((term,), design.mm.factors, design.mm.inputs, n, "full")
                WE = _within_centered(full, design.subject, N)
                term_bw[k] = float(_interaction_df(WX, WE, design.subject, N, rank_wx))
    for k, term in enumerate(design.mm.terms):
        if term.label == INTERCEPT:
            term_bw[k] = between_df
    return DesignDF(residual=float(n - rank), term_bw=term_bw)
