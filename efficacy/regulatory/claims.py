"""The claims matrix: which declared claim one trial supports, jurisdiction by jurisdiction.

A trial declares the claims it wants to make (``[[claims]]`` in ``trial.toml``, read into
:class:`efficacy.trial.Claim`). :func:`claims_matrix` reads each claim against each
jurisdiction's rule pack (``cn`` = ``cn-nmpa-2021``, ``kr`` = ``kr-mfds``, ``eu`` =
``eu-655-2013``, ``us`` = ``us-fda``, ``iso`` = ``iso-efficacy-2025``) and against the
trial's analysis (an :class:`~efficacy.analysis.AnalysisResult`, whose rows are read,
never recomputed), and gives one :class:`ClaimCell` per claim and jurisdiction:
``supported``, ``not_supported`` or ``not_assessable``, with its reasons.

The decision (Notes of :func:`claims_matrix`) is decision support with sources, not legal
advice (:data:`efficacy.regulatory.DISCLAIMER`, said once in every output).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import pandas as pd

from efficacy._units import unit_text
from efficacy.analysis import AnalysisResult
from efficacy.errors import EfficacyError
from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.protocol import Protocol, Requirement, load_protocol
from efficacy.regulatory.classify import DISCLAIMER
from efficacy.trial import Claim, Trial
from efficacy.validation import ValidationReport, validate
from efficacy.validation.rules_packs import relevant_claims

__all__ = [
    "CLAIM_STATUSES",
    "JURISDICTION_PACKS",
    "SIGNIFICANCE_RULE",
    "ClaimCell",
    "ClaimEstimate",
    "ClaimsMatrix",
    "claims_matrix",
]

#: Jurisdiction code -> built-in rule pack id, in matrix order.
JURISDICTION_PACKS: Mapping[str, str] = {
    "cn": "cn-nmpa-2021",
    "kr": "kr-mfds",
    "eu": "eu-655-2013",
    "us": "us-fda",
    "iso": "iso-efficacy-2025",
}

#: The statuses of a cell.
CLAIM_STATUSES: tuple[str, ...] = ("supported", "not_supported", "not_assessable")

ClaimStatus = Literal["supported", "not_supported", "not_assessable"]

#: The estimate rule, said in every output.
SIGNIFICANCE_RULE = (
    "A claim is supported when the pack's requirements that bear on its category raise no "
    "error, and the ITT treatment difference (active minus control; the claim's arm when "
    "the trial has several active arms) at the final visit on its endpoint improves by at "
    "least min_effect (point estimate) and is significant at "
    "the pack's level (two-sided p < max_p of its p_threshold rule, else the plan's alpha; "
    "the multiplicity-adjusted p where the plan adjusts it)."
)

_BLOCKING = "error"


@dataclass(frozen=True)
class ClaimEstimate:
    """The analysis row a claim rests on (read from :meth:`AnalysisResult.to_frame`).

    Attributes
    ----------
    endpoint, visit, comparison, unit : str
    estimate, conf_low, conf_high : float
        Treatment difference and its confidence interval (endpoint units).
    p_value : float
        The p-value the rule reads: ``p_adjusted`` when the plan adjusted it, else
        ``p_value``.
    adjusted : bool
        Whether `p_value` is multiplicity-adjusted.
    """

    endpoint: str
    visit: str
    comparison: str
    unit: str
    estimate: float
    conf_low: float
    conf_high: float
    p_value: float
    adjusted: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-ready data (NaN as None)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "endpoint": self.endpoint,
            "visit": self.visit,
            "comparison": self.comparison,
            "unit": self.unit,
            "estimate": num(self.estimate),
            "conf_low": num(self.conf_low),
            "conf_high": num(self.conf_high),
            "p_value": num(self.p_value),
            "p_adjusted": self.adjusted,
        }

    def text(self) -> str:
        """One line: ``corneometer W12 (ITT): +9.32 a.u. [6.87, 11.8], p = 3.9e-11``."""
        kind = "adjusted p" if self.adjusted else "p"
        return (
            f"{self.endpoint} {self.visit} (ITT, {self.comparison}): {self.estimate:+.4g} "
            f"{unit_text(self.unit)} [{self.conf_low:.4g}, {self.conf_high:.4g}], "
            f"{kind} = {self.p_value:.2g}"
        )


@dataclass(frozen=True)
class ClaimCell:
    """One claim in one jurisdiction.

    Attributes
    ----------
    claim : Claim
    jurisdiction : str
        Key of :data:`JURISDICTION_PACKS` (or of the ``packs`` given).
    protocol : str
        ``id@version`` of the pack read.
    status : {"supported", "not_supported", "not_assessable"}
    reasons : tuple of str
        Every requirement read (id, confidence, met or what is missing) and the estimate
        rule's outcome, one line each.
    rules : tuple of str
        Ids of the pack's requirements that bear on the claim.
    estimate : ClaimEstimate or None
        The row the estimate rule read; None when there is none.
    max_p : float
        The significance level applied.
    """

    claim: Claim
    jurisdiction: str
    protocol: str
    status: ClaimStatus
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    estimate: ClaimEstimate | None
    max_p: float

    def to_dict(self) -> dict[str, Any]:
        """Return ``claim``, ``jurisdiction``, ``status``, ``reasons`` and the details."""
        return {
            "claim": self.claim.text,
            "jurisdiction": self.jurisdiction,
            "status": self.status,
            "reasons": list(self.reasons),
            "protocol": self.protocol,
            "category": self.claim.category,
            "endpoint": self.claim.endpoint,
            "min_effect": self.claim.min_effect,
            "arm": self.claim.arm,
            "rules": list(self.rules),
            "max_p": self.max_p,
            "estimate": self.estimate.to_dict() if self.estimate is not None else None,
        }


@dataclass(frozen=True)
class ClaimsMatrix:
    """Claims x jurisdictions (see :func:`claims_matrix`).

    Attributes
    ----------
    trial_id : str
    analysis_protocol : str
        ``id@version`` of the plan whose estimates were read.
    jurisdictions : Mapping[str, str]
        Jurisdiction code -> ``id@version`` of its pack, in column order.
    claims : tuple of Claim
    cells : tuple of ClaimCell
        Claim by claim, then jurisdiction by jurisdiction.
    """

    trial_id: str
    analysis_protocol: str
    jurisdictions: Mapping[str, str]
    claims: tuple[Claim, ...]
    cells: tuple[ClaimCell, ...]

    def cell(self, claim: str, jurisdiction: str) -> ClaimCell:
        """Return the cell of the claim with text `claim` in `jurisdiction`."""
        for c in self.cells:
            if c.claim.text == claim and c.jurisdiction == jurisdiction:
                return c
        raise EfficacyError(f"no cell for claim {claim!r} in jurisdiction {jurisdiction!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return ``trial``, ``disclaimer``, ``rule``, ``jurisdictions``, ``claims``, ``cells``."""
        return {
            "trial": self.trial_id,
            "analysis_protocol": self.analysis_protocol,
            "disclaimer": DISCLAIMER,
            "rule": SIGNIFICANCE_RULE,
            "jurisdictions": dict(self.jurisdictions),
            "claims": [c.to_dict() for c in self.claims],
            "cells": [c.to_dict() for c in self.cells],
        }

    def table(self) -> dict[str, Any]:
        """Return the matrix as a report table shell (claims as rows, jurisdictions as columns)."""
        codes = list(self.jurisdictions)
        rows = []
        for claim in self.claims:
            mine = {c.jurisdiction: c for c in self.cells if c.claim == claim}
            # the difference must reach min_effect in the improving direction
            at_least = "<=" if ENDPOINTS[claim.endpoint].direction == "lower" else ">="
            arm = f"; arm {claim.arm}" if claim.arm is not None else ""
            label = (
                f"{claim.text} ({claim.category}; {claim.endpoint} {at_least} "
                f"{claim.min_effect:g}{arm})"
            )
            rows.append([label, *(mine[j].status.replace("_", " ") for j in codes)])
        return {
            "id": "claims.matrix",
            "title": "Claims by jurisdiction",
            "header": ["Claim", *(f"{j.upper()}\n{self.jurisdictions[j]}" for j in codes)],
            "rows": rows,
            "align": ["l", *("l" for _ in codes)],
            "footnotes": [SIGNIFICANCE_RULE, DISCLAIMER],
        }

    def to_text(self) -> str:
        """Plain text: the matrix, then each cell's reasons, the rule and the disclaimer once."""
        t = self.table()
        header = [h.replace("\n", " ") for h in t["header"]]
        rows: list[list[str]] = t["rows"]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines = [f"{self.trial_id}: claims matrix (estimates of {self.analysis_protocol})", ""]
        for line in [header, *rows]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        lines.append("")
        for c in self.cells:
            lines.append(f"{c.jurisdiction.upper()} | {c.claim.text}: {c.status}")
            lines += [f"    {r}" for r in c.reasons]
        lines += ["", SIGNIFICANCE_RULE, DISCLAIMER]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """Return a self-contained HTML page (every text escaped)."""
        e = html.escape
        t = self.table()
        head = "".join(f"<th>{e(h).replace(chr(10), '<br>')}</th>" for h in t["header"])
        body = "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in t["rows"]
        )
        cells = "".join(
            f"<h3>{e(c.jurisdiction.upper())}: {e(c.claim.text)} ({e(c.status)})</h3><ul>"
            + "".join(f"<li>{e(r)}</li>" for r in c.reasons)
            + "</ul>"
            for c in self.cells
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{e(self.trial_id)}: claims matrix</title></head><body>"
            f"<h1>{e(self.trial_id)}: claims matrix</h1><p>{e(DISCLAIMER)}</p>"
            f'<table border="1"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            f"<p>{e(SIGNIFICANCE_RULE)}</p>{cells}</body></html>\n"
        )


def _estimate(frame: pd.DataFrame, claim: Claim) -> ClaimEstimate | tuple[str, ...] | None:
    """Return the ITT MMRM row of the claim's endpoint at the estimand's (final) visit.

    The row of the claim's ``arm`` versus control; when the claim names no arm and the
    trial compares several active arms with control, the tuple of those arms instead (the
    claim cannot be read: its arm is unknown). None when there is no such row.
    """
    rows = frame[
        (frame["endpoint"] == claim.endpoint)
        & (frame["population"] == "itt")
        & (frame["analysis"] == "mmrm")
        & (frame["estimand"].fillna("").astype(str) != "")
    ]
    if claim.arm is not None:
        rows = rows[rows["active_arm"] == claim.arm]
    else:
        arms = tuple(dict.fromkeys(rows["active_arm"].astype(str)))
        if len(arms) > 1:
            return arms
    if rows.empty:
        return None
    row = rows.iloc[0]
    adjusted = pd.notna(row["p_adjusted"])
    return ClaimEstimate(
        endpoint=claim.endpoint,
        visit=str(row["visit"]),
        comparison=str(row["comparison"]),
        unit=ENDPOINTS[claim.endpoint].unit,
        estimate=float(row["estimate"]),
        conf_low=float(row["conf_low"]),
        conf_high=float(row["conf_high"]),
        p_value=float(row["p_adjusted"] if adjusted else row["p_value"]),
        adjusted=bool(adjusted),
    )


def _max_p(pack: Protocol, claim: Claim) -> float:
    levels = [
        float(r.parameters["max_p"])
        for r in pack.requirements
        if r.check == "p_threshold" and (not r.claims or claim.category in r.claims)
    ]
    if levels:
        return min(levels)
    return pack.analysis.alpha if pack.analysis is not None else 0.05


def _touches(finding: Mapping[str, Any], claim: Claim) -> bool:
    """Whether a finding concerns `claim` (claim- or endpoint-specific, or trial-wide)."""
    column, value = finding.get("column"), finding.get("value")
    if column == "claims":
        return bool(value == claim.text)
    if column == "endpoint":
        return bool(value == claim.endpoint)
    return True


def _by_rule(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Return the findings of a validation frame as records by rule id (frame order)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for f in frame.to_dict("records"):
        out.setdefault(str(f["rule_id"]), []).append({str(k): v for k, v in f.items()})
    return out


def _requirement_reasons(
    req: Requirement,
    claim: Claim,
    report: ValidationReport,
    findings: Mapping[str, list[dict[str, Any]]],
) -> tuple[list[str], bool, bool]:
    """Reasons for one requirement; whether it blocks support and whether it is unassessed."""
    tag = f"{req.id} [{req.confidence or 'confidence not declared'}, {req.severity}]"
    status = report.rules.get(req.id)
    if status is None:
        return [f"{tag}: did not run"], False, req.severity == _BLOCKING
    if status.status == "passed":
        return [f"{tag}: met"], False, False
    if status.status in ("not_applicable", "could_not_run"):
        unassessed = status.status == "could_not_run" and req.severity == _BLOCKING
        state = status.status.replace("_", " ")
        return [f"{tag}: {state} ({status.reason})"], False, unassessed
    hits = [f for f in findings.get(req.id, ()) if _touches(f, claim)]
    if not hits:
        return [f"{tag}: met for this claim (its findings concern other claims)"], False, False
    blocking = any(f["severity"] == _BLOCKING for f in hits)
    word = "not met" if blocking else "caveat"
    return [f"{tag}: {word}: {f['message']}" for f in hits], blocking, False


def _estimate_reason(
    est: ClaimEstimate | tuple[str, ...] | None,
    claim: Claim,
    max_p: float,
    analysis: AnalysisResult,
) -> tuple[str, bool | None]:
    """Return the estimate rule's reason and outcome (None: not assessable)."""
    if not analysis.analysed:
        why = "; ".join(analysis.notes) or analysis.status
        return f"estimate: the trial was not analysed ({why})", None
    if isinstance(est, tuple):
        return (
            f"estimate: the trial compares {len(est)} active arms with control "
            f"({', '.join(est)}); name the arm the claim rests on in its [[claims]] entry, "
            f'e.g. arm = "{est[0]}"',
            None,
        )
    if est is None:
        arm = f" for arm {claim.arm}" if claim.arm is not None else ""
        return (
            f"estimate: no ITT estimate of {claim.endpoint}{arm} at the final visit; add it "
            "to the plan's [analysis] key_secondary or secondary",
            None,
        )
    if math.isnan(est.estimate) or math.isnan(est.p_value):
        return f"estimate: {claim.endpoint} was not estimable", None
    sign = 1.0 if ENDPOINTS[claim.endpoint].direction == "higher" else -1.0
    big = sign * est.estimate >= sign * claim.min_effect and sign * est.estimate > 0
    significant = est.p_value < max_p
    ok = big and significant
    size = "reaches" if big else "falls short of"
    sig = "significant" if significant else "not significant"
    return (
        f"estimate {'met' if ok else 'not met'}: {est.text()}; {size} min_effect "
        f"{claim.min_effect:+g} and is {sig} at p < {max_p:g}",
        ok,
    )


def _cell(
    claim: Claim,
    code: str,
    pack: Protocol,
    report: ValidationReport,
    findings: Mapping[str, list[dict[str, Any]]],
    analysis: AnalysisResult,
    est: ClaimEstimate | tuple[str, ...] | None,
) -> ClaimCell:
    reqs = [r for r in pack.requirements if claim in relevant_claims((claim,), r)]
    reasons: list[str] = []
    blocked = unassessed = False
    for req in reqs:
        lines, blocks, missing = _requirement_reasons(req, claim, report, findings)
        reasons += lines
        blocked |= blocks
        unassessed |= missing
    max_p = _max_p(pack, claim)
    line, ok = _estimate_reason(est, claim, max_p, analysis)
    reasons.append(line)
    status: ClaimStatus
    if blocked:
        status = "not_supported"
    elif unassessed or ok is None:
        status = "not_assessable"
    else:
        status = "supported" if ok else "not_supported"
    return ClaimCell(
        claim=claim,
        jurisdiction=code,
        protocol=f"{pack.id}@{pack.version}",
        status=status,
        reasons=tuple(reasons),
        rules=tuple(r.id for r in reqs),
        estimate=est if isinstance(est, ClaimEstimate) else None,
        max_p=max_p,
    )


@lru_cache(maxsize=len(JURISDICTION_PACKS))
def _builtin_pack(pack_id: str) -> Protocol:
    """Return the built-in pack `pack_id`, parsed once per process (it never changes)."""
    return load_protocol(pack_id)


def _pack(ref: Protocol | str) -> Protocol:
    """Load a jurisdiction's pack; the built-in ones once (they stay inside this module)."""
    if isinstance(ref, str) and ref in JURISDICTION_PACKS.values():
        return _builtin_pack(ref)
    return load_protocol(ref)


def claims_matrix(
    trial: Trial,
    analysis: AnalysisResult,
    jurisdictions: Sequence[str] = tuple(JURISDICTION_PACKS),
    packs: Mapping[str, Protocol | str] | None = None,
) -> ClaimsMatrix:
    """Read each declared claim of `trial` against each jurisdiction's rule pack.

    Parameters
    ----------
    trial : Trial
        With its ``[[claims]]`` (``trial.manifest.claims``). Not modified.
    analysis : AnalysisResult
        The trial's analysis (:func:`efficacy.analyze`); its rows are read, never
        recomputed.
    jurisdictions : sequence of str
        Codes among :data:`JURISDICTION_PACKS` (``cn``, ``kr``, ``eu``, ``us``,
        ``iso``) or keys of `packs`; default all five.
    packs : Mapping[str, Protocol or str], optional
        Code -> protocol (object, built-in id or TOML path) replacing or adding a
        jurisdiction's pack, e.g. a tightened ``kr-mfds``.

    Returns
    -------
    ClaimsMatrix

    Raises
    ------
    EfficacyError
        An unknown jurisdiction code, a pack that cannot be loaded, or an `analysis` of
        another trial.

    Notes
    -----
    For a claim with endpoint *E*, direction sign *s* (+1 when higher is better, -1 when
    lower is) and ``min_effect`` *m*, the estimate rule reads the ITT MMRM row of *E* at
    the estimand's (final) visit, active minus control, with estimate *d* and p-value
    *p* (the multiplicity-adjusted one when the plan adjusts *E*). The active arm is the
    claim's ``arm``; a claim that names none is read on the trial's one comparison, and
    is not assessable when the trial compares several active arms with control (the
    reason names them). It is met when
    ``s*d >= s*m``, ``s*d > 0`` and ``p < max_p``, where ``max_p`` is the smallest
    ``max_p`` of the pack's ``p_threshold`` requirements bearing on the claim (else the
    pack's plan alpha, else 0.05).

    This reading asks the point estimate, not the lower confidence bound, to reach
    ``min_effect``: significance shows that the product improves the endpoint, and the
    point estimate is the best measure of by how much, which is what a claim's wording
    may not exceed (EU 655/2013 honesty criterion). Asking the lower bound to reach
    ``min_effect`` would test superiority by a margin, which none of the packs' sources
    states; a sponsor wanting it sets ``min_effect`` and reads the interval, which every
    cell reports.

    A requirement bears on a claim when its ``claims`` categories include the claim's
    category (or it names none). A failed requirement blocks the claim (status
    ``not_supported``) when one of its error findings concerns the claim (findings naming
    another claim or another endpoint do not); warning and notice findings are listed as
    caveats. A requirement that could not run, or a missing estimate, makes the cell
    ``not_assessable``.

    Examples
    --------
    With the sample's analysis (``efficacy.analyze(trial)``) the cells are decided; here
    an analysis that was not run leaves every claim not assessable, with the reason:

    >>> import efficacy
    >>> from efficacy._examples import repo_path
    >>> from efficacy.analysis import AnalysisResult
    >>> trial = efficacy.read_trial(repo_path("sample_data", "parallel_12wk"))
    >>> none = AnalysisResult.not_analysed(trial.manifest.id, "iso-efficacy-2025@1.0",
    ...                                    "parallel", ("not run in this example",))
    >>> cell = claims_matrix(trial, none, ["kr"]).cells[0]
    >>> cell.claim.text, cell.status
    ('Visibly reduces wrinkle depth in 12 weeks', 'not_assessable')
    >>> cell.reasons[:2]
    ('KR-WRINKLE-DUR [practice, error]: met', 'KR-N [reported, error]: met')
    """
    if not isinstance(trial, Trial):
        raise EfficacyError(f"trial must be an efficacy Trial, not {type(trial).__name__}")
    if not isinstance(analysis, AnalysisResult):
        raise EfficacyError(
            f"analysis must be an AnalysisResult from efficacy.analyze, not "
            f"{type(analysis).__name__}"
        )
    if analysis.trial_id != str(trial.manifest.id or ""):
        raise EfficacyError(
            f"analysis is of trial {analysis.trial_id!r}, not {trial.manifest.id!r}"
        )
    chosen = {**JURISDICTION_PACKS, **(packs or {})}
    codes = list(dict.fromkeys(jurisdictions))
    unknown = [c for c in codes if c not in chosen]
    if unknown or not codes:
        raise EfficacyError(
            f"jurisdictions={unknown or codes!r}: use one or more of {', '.join(chosen)}"
        )
    loaded = {c: _pack(chosen[c]) for c in codes}
    cells = []
    # the packs share their data rules: validate() runs each once per trial
    reports = {c: validate(trial, p) for c, p in loaded.items()}
    findings = {c: _by_rule(r.to_frame()) for c, r in reports.items()}
    estimates = analysis.to_frame() if analysis.analysed else None  # read once, not per cell
    for claim in trial.manifest.claims:
        est = _estimate(estimates, claim) if estimates is not None else None
        for c in codes:
            cells.append(_cell(claim, c, loaded[c], reports[c], findings[c], analysis, est))
    return ClaimsMatrix(
        trial_id=str(trial.manifest.id or ""),
        analysis_protocol=analysis.protocol,
        jurisdictions={c: f"{p.id}@{p.version}" for c, p in loaded.items()},
        claims=trial.manifest.claims,
        cells=tuple(cells),
    )
