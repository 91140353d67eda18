"""Report synopsis (first, one page): the whole report in a few lines (ICH E3 section 2).

Built last, from the data of the other sections and the analysis result's rows, so
every number it shows is one the report shows elsewhere: the design and arms (title
block), the populations with N (analysis populations), the primary estimand's result
and the key secondary results with their adjusted p (the ``primary`` and
``key_secondary:*`` estimand rows of :meth:`efficacy.AnalysisResult.to_frame`, ITT),
harms in one line (section 8 summary) and the verdict per requirement with its reason
(section 2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from efficacy.analysis import AnalysisResult
from efficacy.report._endpoints import endpoint_meta, precision, several_comparisons
from efficacy.report._format import unit_text
from efficacy.report._shell import ci_text, p_text, shell

__all__ = ["synopsis"]

_HARMS_ROWS = (
    "Any adverse event",
    "Serious adverse event",
    "Leading to discontinuation",
    "Fatal (deaths)",
)

_DESIGN = {
    "parallel": "randomised, controlled, parallel-group",
    "split_face": "randomised, controlled, within-person (split-face)",
}


def _short(evidence: str, limit: int = 90) -> str:
    """Return the evidence cut at a ``;`` within `limit` characters (the rest: section 2)."""
    if len(evidence) <= limit:
        return evidence
    cut = evidence[:limit].rfind(";")
    return (evidence[:cut] if cut > 0 else evidence[:limit]) + "; ... (section 2)"


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _results(analysis: AnalysisResult | None) -> tuple[list[dict[str, Any]], str]:
    """ITT final-visit rows of the primary and key secondary estimands, and a message."""
    if analysis is None:
        return [], "not run: the efficacy analysis was not run"
    if not analysis.analysed:
        n = analysis.validation_errors
        return [], f"not analysed: validation found {n} error(s) (appendix 9)"
    est = analysis.to_frame()
    rows = []
    for r in est.itertuples(index=False):
        estimand = r.estimand
        if not (
            r.analysis == "mmrm"
            and r.population == "itt"
            and isinstance(estimand, str)
            and (estimand == "primary" or estimand.startswith("key_secondary:"))
        ):
            continue
        meta = endpoint_meta(str(r.endpoint))
        rows.append(
            {
                "endpoint": str(r.endpoint),
                "label": meta["label"],
                "unit": unit_text(meta["unit"]),
                "role": str(r.role),
                "estimand": str(r.estimand),
                "visit": str(r.visit),
                "comparison": str(r.comparison),
                "active_arm": str(r.active_arm),
                "control_arm": str(r.control_arm),
                "estimate": _num(r.estimate),
                "conf_low": _num(r.conf_low),
                "conf_high": _num(r.conf_high),
                "p_value": _num(r.p_value),
                "p_adjusted": _num(r.p_adjusted),
                "adjustment": str(r.adjustment),
                "decimals": precision([_num(r.std_error)]),
            }
        )
    return rows, "" if rows else "no primary estimate (see section 6)"


def _populations(pops: Mapping[str, Any]) -> str:
    cols, counts = pops["columns"], pops["counts"]

    def total(key: str) -> str:
        vals = [counts[c["key"]][key] for c in cols]
        if any(v is None for v in vals):
            return "not recorded"
        by = ", ".join(
            f"{c['key'] if c['key'] != 'ALL' else 'all'} {v}"
            for c, v in zip(cols, vals, strict=True)
        )
        return f"{sum(vals)}" + (f" ({by})" if len(cols) > 1 else "")

    text = f"randomised {total('randomised')}; ITT {total('itt')}; safety {total('safety')}"
    if pops["status"] == "recorded":
        pp, out = total("per_protocol"), total("excluded")
        text += f"; per protocol {pp} (excluded {out}, reasons in section 3)"
    return text


def _harms(harms: Mapping[str, Any]) -> str:
    if harms.get("status") != "assessed":
        return "not supplied (no adverse_events table)"
    cols = [c for c in harms["columns"] if c["key"] not in ("TOTAL", "ALL", "SYSTEMIC")]
    parts = []
    for row in harms["summary"]:
        if row["label"] in (
            "Any adverse event",
            "Serious adverse event",
            "Leading to discontinuation",
            "Fatal (deaths)",
        ):
            cells = ", ".join(f"{c['key']} {row['cells'][c['key']]['text']}" for c in cols)
            parts.append(f"{row['label'].lower()}: {cells}")
    return "; ".join(parts) + " (n (%) [events])"


def synopsis(
    data: Mapping[str, Any], analysis: AnalysisResult | None, confidence_pct: str = "95"
) -> dict[str, Any]:
    """Build the synopsis from the report's other sections (JSON-ready).

    Parameters
    ----------
    data : mapping
        The report data built so far: ``title_block``, ``verdict``, ``populations``,
        ``harms``.
    analysis : AnalysisResult or None
    confidence_pct : str
        The plan's confidence level in percent, for the headings.

    Returns
    -------
    dict
        ``trial``, ``design``, ``arms``, ``populations`` (text), ``results`` (primary
        and key secondary estimand rows), ``results_message``, ``harms`` (one line),
        ``verdict`` (overall and per requirement: id, title, verdict, reason) and
        ``tables`` (shells).
    """
    tb = data["title_block"]
    results, message = _results(analysis)
    arms = [f"{a['label']} ({a['id']}{', control' if a['control'] else ''})" for a in tb["arms"]]
    verdict = data["verdict"]
    requirements = [
        {
            "id": q["id"],
            "title": q["title"],
            "verdict": q["verdict"],
            "reason": q["reason"] or _short(q["evidence"]),
        }
        for q in verdict["requirements"]
    ]
    out: dict[str, Any] = {
        "trial": f"{tb['trial_id']}: {tb['title']}",
        "design": _DESIGN.get(tb["design"], str(tb["design"])),
        "arms": arms,
        "populations": _populations(data["populations"]),
        "results": results,
        "results_message": message,
        "harms": _harms(data["harms"]),
        "verdict": {"overall": verdict["overall"], "requirements": requirements},
        "confidence_pct": confidence_pct,
    }
    out["tables"] = _shells(out, tb)
    return out


def _primary_text(r: Mapping[str, Any]) -> str:
    """One primary result: the difference, its interval and p, naming the comparison."""
    return (
        f"{r['label']}: difference ({r['comparison'].replace(' vs ', ' minus ')}) "
        f"in mean change from baseline at {r['visit']}, ITT: "
        f"{ci_text(r['estimate'], r['conf_low'], r['conf_high'], r['decimals'])}, "
        f"p {p_text(r['p_value'])}"
    )


def _results_note(results: list[dict[str, Any]], design: str, several: bool) -> str:
    """Return the results table's footnote: what the difference is, which p is adjusted."""
    what = (
        "treated minus control site (within person)"
        if design == "split_face"
        else "active minus control"
    )
    how = next((r["adjustment"] for r in results if r["adjustment"]), "")
    family = "of each comparison " if several else ""
    adjusted = (
        f"Adjusted p: the key secondary family {family}({how})."
        if how
        else "Adjusted p: none (the plan has no key secondary endpoint)."
    )
    across = (
        " Each comparison with control is tested at the full alpha; the comparisons are "
        "not adjusted for one another."
        if several
        else ""
    )
    return f"Difference in LS mean change from baseline, {what}. {adjusted}{across}"


def _shells(s: Mapping[str, Any], tb: Mapping[str, Any]) -> list[dict[str, Any]]:
    # every comparison of the primary endpoint (a trial may compare several active arms)
    primaries = [_primary_text(r) for r in s["results"] if r["role"] == "primary"]
    estimand = "; ".join(primaries) if primaries else s["results_message"]
    # with several comparisons, each row says which one it is
    several = several_comparisons(s["results"])
    about = shell(
        "synopsis",
        "Synopsis",
        ["Item", "Summary"],
        [
            ["Trial", s["trial"]],
            ["Design", s["design"]],
            ["Arms", "; ".join(s["arms"])],
            ["Populations", s["populations"]],
            ["Primary result", estimand],
            ["Harms", s["harms"]],
            ["Overall verdict", f"{s['verdict']['overall']} (against {tb['protocol']['id']})"],
        ],
    )
    results = shell(
        "synopsis_results",
        "Synopsis: primary and key secondary results (ITT)",
        [
            "Endpoint",
            *(["Comparison"] if several else []),
            "Role",
            "Visit",
            f"Difference ({s['confidence_pct']}% CI)",
            "p",
            "Adjusted p",
        ],
        [
            [
                r["label"] + (f" ({unit_text(r['unit'])})" if r["unit"] else ""),
                *([r["comparison"]] if several else []),
                r["role"],
                r["visit"],
                ci_text(r["estimate"], r["conf_low"], r["conf_high"], r["decimals"]),
                p_text(r["p_value"]),
                p_text(r["p_adjusted"]) if r["role"] != "primary" else "",
            ]
            for r in s["results"]
        ],
        footnotes=[_results_note(s["results"], str(tb.get("design")), several)]
        if s["results"]
        else [f"No estimates: {s['results_message']}."],
    )
    verdict = shell(
        "synopsis_verdict",
        "Synopsis: verdict per requirement",
        ["Requirement", "Verdict", "Reason / evidence"],
        [
            [f"{q['id']} {q['title']}", q["verdict"], q["reason"]]
            for q in s["verdict"]["requirements"]
        ],
    )
    return [about, results, verdict]
