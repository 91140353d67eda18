"""Report: the primary estimate by subgroup (section 6), read from the analysis result.

The analysis stage estimates every subgroup and the interaction tests
(:mod:`efficacy.analysis.subgroups`, :attr:`efficacy.AnalysisResult.subgroups`); this
module only arranges those rows, with the overall primary estimate beside them (the
ITT ``primary`` estimand row), for a table and a forest plot. CONSORT 2025 items 21d
and 28: subgroup analyses, prespecified (``[analysis.subgroups]``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from efficacy._cells import is_missing
from efficacy.analysis import AnalysisResult
from efficacy.report._endpoints import endpoint_meta, precision
from efficacy.report._shell import ci_text, p_text, shell

__all__ = ["VARIABLE_LABELS", "level_label", "subgroup_section"]

#: Display names of the subgroup variables.
VARIABLE_LABELS: Mapping[str, str] = {
    "fitzpatrick": "Fitzpatrick phototype",
    "sex": "Sex",
    "age_band": "Age (years)",
}
_SEX = {"f": "Female", "female": "Female", "m": "Male", "male": "Male"}


def level_label(variable: str, level: str) -> str:
    """Return a subgroup level for people (``F`` -> ``Female``, ``II`` -> ``Type II``).

    Examples
    --------
    >>> level_label("sex", "F"), level_label("fitzpatrick", "IV"), level_label("age_band", ">=50")
    ('Female', 'Type IV', '≥50')
    """
    if variable == "sex":
        return _SEX.get(level.strip().lower(), level)
    if variable == "fitzpatrick":
        return f"Type {level}"
    if variable == "age_band":
        return level.replace(">=", "≥").replace(" to <", " to <")
    return level


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _grouped(rows: list[dict[Any, Any]], key: str) -> dict[Any, list[dict[Any, Any]]]:
    """Group `rows` by their `key` value, in order of first appearance, missing keys out.

    As ``frame.groupby(key, sort=False)`` groups the rows of ``frame.to_dict("records")``.
    """
    groups: dict[Any, list[dict[Any, Any]]] = {}
    for row in rows:
        if not is_missing(row[key]):
            groups.setdefault(row[key], []).append(row)
    return groups


def _not_run(message: str) -> dict[str, Any]:
    return {"status": "not_run", "message": message, "comparisons": [], "tables": []}


def subgroup_section(analysis: AnalysisResult | None, confidence: float) -> dict[str, Any]:
    """Build the subgroup part of section 6 (JSON-ready).

    Parameters
    ----------
    analysis : AnalysisResult or None
        Its ``subgroups`` rows and its ITT ``primary`` estimand rows are read, nothing
        is recomputed.
    confidence : float
        The plan's confidence level (for the headings).

    Returns
    -------
    dict
        ``status`` (``"run"`` / ``"not_run"``), ``message``, ``endpoint``, ``label``,
        ``unit``, ``direction``, ``visit``, ``population``, ``decimals``,
        ``confidence_pct``, ``comparisons`` (each: ``comparison``, ``overall`` and
        ``variables`` with their ``interaction_*`` and ``levels``) and ``tables``.
    """
    if analysis is None or not analysis.analysed:
        return _not_run("Subgroup analyses not run: the efficacy analysis was not run.")
    sub = analysis.subgroups
    if sub.empty:
        skipped = analysis.skipped
        why = skipped[skipped["analysis"].astype(str).str.startswith("subgroups")]
        reasons = "; ".join(
            f"{a}: {r}" for a, r in zip(why["analysis"], why["reason"], strict=True)
        )
        return _not_run(
            "No subgroup analysis: "
            + (reasons or "the plan declares none ([analysis.subgroups] by)")
        )
    est = analysis.to_frame()
    endpoint = str(sub["endpoint"].iloc[0])
    pop = str(sub["population"].iloc[0])
    primary = est[
        (est["endpoint"] == endpoint)
        & (est["population"] == pop)
        & (est["analysis"] == "mmrm")
        & (est["visit"] == sub["visit"].iloc[0])
    ]
    meta = endpoint_meta(endpoint)
    ses = [*sub["std_error"].tolist(), *primary["std_error"].tolist()]
    comparisons = []
    overall_rows = primary.to_dict("records")
    for comp, rows in _grouped(sub.to_dict("records"), "comparison").items():
        o = next((r for r in overall_rows if r["comparison"] == comp), None)
        overall = {
            k: (_num(o[k]) if o is not None else None)
            for k in ("estimate", "std_error", "conf_low", "conf_high", "p_value")
        } | {
            "n_active": int(float(o["n_active"])) if o is not None else None,
            "n_control": int(float(o["n_control"])) if o is not None else None,
        }
        variables = []
        for var, g in _grouped(rows, "subgroup").items():
            first = g[0]
            variables.append(
                {
                    "subgroup": str(var),
                    "label": VARIABLE_LABELS.get(str(var), str(var)),
                    "interaction_p": _num(first["interaction_p"]),
                    "interaction_statistic": _num(first["interaction_statistic"]),
                    "interaction_num_df": _num(first["interaction_num_df"]),
                    "interaction_den_df": _num(first["interaction_den_df"]),
                    "interaction_note": str(first["interaction_note"]),
                    "levels": [
                        {
                            "level": str(r["level"]),
                            "label": level_label(str(var), str(r["level"])),
                            "n_active": int(float(r["n_active"])),
                            "n_control": int(float(r["n_control"])),
                            "estimate": _num(r["estimate"]),
                            "std_error": _num(r["std_error"]),
                            "conf_low": _num(r["conf_low"]),
                            "conf_high": _num(r["conf_high"]),
                            "p_value": _num(r["p_value"]),
                            "status": str(r["status"]),
                            "reason": str(r["reason"]),
                        }
                        for r in g
                    ],
                }
            )
        comparisons.append({"comparison": str(comp), "overall": overall, "variables": variables})
    data: dict[str, Any] = {
        "status": "run",
        "message": "",
        "endpoint": endpoint,
        "label": meta["label"],
        "unit": meta["unit"],
        "direction": meta["direction"],
        "visit": str(sub["visit"].iloc[0]),
        "population": pop,
        "split": analysis.design == "split_face",
        "decimals": precision([_num(s) for s in ses]),
        "confidence_pct": f"{100 * confidence:g}",
        "comparisons": comparisons,
    }
    data["tables"] = [_shell(data, c, i) for i, c in enumerate(comparisons, start=1)]
    return data


def _shell(data: Mapping[str, Any], comp: Mapping[str, Any], number: int) -> dict[str, Any]:
    d, cl, split = data["decimals"], data["confidence_pct"], data["split"]
    header = ["Subgroup", "n" if split else "n (active, control)"]
    header += [f"Difference ({cl}% CI)", "p", "Interaction p"]

    def n_text(a: int | None, c: int | None) -> str:
        if a is None:
            return ""
        return f"{a}" if split else f"{a}, {c}"

    o = comp["overall"]
    pop = "ITT" if data["population"] == "itt" else data["population"]
    rows = [
        [
            f"All participants ({pop})",
            n_text(o["n_active"], o["n_control"]),
            ci_text(o["estimate"], o["conf_low"], o["conf_high"], d),
            p_text(o["p_value"]),
            "",
        ]
    ]
    indent = [0]
    notes = []
    for v in comp["variables"]:
        p = v["interaction_p"]  # None: not estimable (the note below says why)
        rows.append([v["label"], "", "", "", p_text(p) if p is not None else "not estimable"])
        indent.append(0)
        for lev in v["levels"]:
            if lev["status"] == "estimated":
                cells = [ci_text(lev["estimate"], lev["conf_low"], lev["conf_high"], d)]
                cells.append(p_text(lev["p_value"]))
            else:
                cells = ["not estimable", ""]
                notes.append(f"{v['label']} {lev['label']}: {lev['reason']}.")
            rows.append([lev["label"], n_text(lev["n_active"], lev["n_control"]), *cells, ""])
            indent.append(1)
        if v["interaction_note"]:
            notes.append(f"Interaction, {v['label'].lower()}: {v['interaction_note']}.")
    what = "treated minus control site" if split else comp["comparison"].replace(" vs ", " minus ")
    title = f"Table 6.S{number} {data['label']}: difference at {data['visit']} by subgroup"
    return shell(
        "subgroups" if number == 1 else f"subgroups_{number}",
        title + ("" if number == 1 else f" ({comp['comparison']})"),
        header,
        rows,
        indent=indent,
        footnotes=[
            f"Difference in LS mean change from baseline at {data['visit']} ({what}; unit "
            f"{data['unit'] or 'none'}), the primary model fitted within each subgroup; "
            f"n: participants with a {data['visit']} value.",
            "Interaction p: F test (the plan's df method) that the difference is the same in "
            "every estimable subgroup of the variable, from one model with subgroup crossed "
            "with arm and visit. Subgroup analyses are prespecified and descriptive: no "
            "multiplicity adjustment.",
            *notes,
        ],
    )
