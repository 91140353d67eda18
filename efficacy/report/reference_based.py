"""Report: the reference-based sensitivity analyses (section 6), read from the analysis result.

The analysis stage runs every ``[[analysis.sensitivity.reference_based]]`` declaration
(:mod:`efficacy.analysis.reference`, :attr:`efficacy.AnalysisResult.reference_based`);
this module only arranges their pooled differences at the estimand's visit next to the
primary MMRM estimate under missing at random (the ``mmrm`` row of the same endpoint,
population, visit and comparison), for a table shell. Nothing is recomputed: every
number is a value of the result. Skipped declarations are listed with their reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from efficacy.analysis import AnalysisResult
from efficacy.report._endpoints import POPULATION_LABELS, endpoint_meta, precision
from efficacy.report._format import fixed
from efficacy.report._shell import p_text, shell

__all__ = ["reference_based_section"]

_STRATEGY_NAMES = {
    "MAR": "missing at random",
    "JR": "jump to reference",
    "CR": "copy reference",
    "CIR": "copy increments in reference",
    "LMCF": "last mean carried forward",
}
_TITLE = "Missing-data sensitivity: reference-based multiple imputation"
_KEYS = ("estimate", "std_error", "df", "conf_low", "conf_high", "p_value")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _values(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _num(row[k]) for k in _KEYS}


def _not_run(message: str) -> dict[str, Any]:
    return {
        "title": _TITLE,
        "status": "not_run",
        "message": message,
        "analyses": [],
        "skipped": [],
        "tables": [],
    }


def _skipped(analysis: AnalysisResult) -> list[dict[str, str]]:
    s = analysis.skipped
    hit = s[s["analysis"].astype(str).str.startswith("reference-based")]
    return [{str(k): str(v) for k, v in r.items()} for r in hit.to_dict("records")]


def _record(a: Any, mmrm: pd.DataFrame, visit: str) -> dict[str, Any]:
    """One analysis: settings and, per comparison, its estimate beside the MMRM's (MAR)."""
    comparisons = []
    for row in a.rows:
        if row["visit"] != visit:
            continue
        mar = mmrm[
            (mmrm["endpoint"] == a.endpoint)
            & (mmrm["population"] == a.population)
            & (mmrm["visit"] == visit)
            & (mmrm["active_arm"] == row["active_arm"])
        ]
        comparisons.append(
            {
                "comparison": row["comparison"],
                "active_arm": row["active_arm"],
                "control_arm": row["control_arm"],
                "estimand": row["estimand"],
                "n_active": int(row["n_active"]),
                "n_control": int(row["n_control"]),
                "reference_based": _values(row),
                "mar": _values(mar.iloc[0].to_dict()) if len(mar) else None,
                "mar_n": (
                    [int(mar["n_active"].iloc[0]), int(mar["n_control"].iloc[0])]
                    if len(mar)
                    else None
                ),
            }
        )
    r = a.result
    meta = endpoint_meta(a.endpoint)
    return {
        "endpoint": a.endpoint,
        "label": meta["label"],
        "unit": meta["unit"],
        "population": a.population,
        "population_label": POPULATION_LABELS.get(a.population, a.population),
        "visit": visit,
        "strategy": a.spec.strategy,
        "strategy_name": _STRATEGY_NAMES.get(a.spec.strategy, a.spec.strategy),
        "strategies": dict(r.strategies),
        "settings_label": a.spec.label,
        "method": r.method,
        "resampling": r.resampling,
        "pooling": r.pooling,
        "n_samples": r.n_samples,
        "seed": r.seed,
        "references": dict(a.references),
        "formula": a.formula,
        "covariance": a.covariance,
        "conf_pct": f"{100 * r.conf_level:g}",
        "notes": list(a.notes),
        "comparisons": comparisons,
    }


def reference_based_section(analysis: AnalysisResult | None, visit: str = "") -> dict[str, Any]:
    """Build the reference-based sensitivity part of section 6 (JSON-ready).

    Parameters
    ----------
    analysis : AnalysisResult or None
        Its ``reference_based`` analyses, its ``mmrm`` estimate rows and its skipped
        analyses are read; nothing is recomputed.
    visit : str
        The estimand's visit (default: the last visit of the analyses' rows).

    Returns
    -------
    dict
        ``title``, ``status`` (``"run"`` / ``"not_run"``), ``message``, ``decimals``,
        ``analyses`` (one record per analysis: endpoint, population, strategy, method,
        samples, references, notes and ``comparisons``, each with the
        ``reference_based`` and the ``mar`` (primary MMRM) estimate, SE, df, interval
        and p, ``mar_n`` the MMRM's n per arm), ``skipped`` (declared analyses that
        could not run, with the reason) and ``tables`` (one shell per endpoint and
        population).
    """
    if analysis is None or not analysis.analysed:
        return _not_run("Reference-based sensitivity analyses not run: no analysis.")
    skipped = _skipped(analysis)
    if not analysis.reference_based:
        why = "; ".join(f"{s['analysis']}: {s['reason']}" for s in skipped)
        return _not_run("No reference-based sensitivity analysis: " + (why or "none declared")) | {
            "skipped": skipped
        }
    est = analysis.to_frame()
    mmrm = est[est["analysis"] == "mmrm"]
    records = []
    for a in analysis.reference_based:
        at = visit or (str(a.rows[-1]["visit"]) if a.rows else "")
        records.append(_record(a, mmrm, at))
    ses = [
        v["std_error"]
        for rec in records
        for c in rec["comparisons"]
        for v in (c["reference_based"], c["mar"] or {})
        if v
    ]
    data: dict[str, Any] = {
        "title": _TITLE,
        "status": "run",
        "message": "",
        "decimals": precision(ses),
        "analyses": records,
        "skipped": skipped,
    }
    data["tables"] = _tables(data)
    return data


def _tables(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for rec in data["analyses"]:
        groups.setdefault((rec["endpoint"], rec["population"]), []).append(rec)
    d = data["decimals"]
    out = []
    for number, recs in enumerate(groups.values(), start=1):
        first = recs[0]
        header = ["Analysis (missing-data assumption)", "Comparison", "n (active, control)"]
        header += ["Difference (SE)", f"{first['conf_pct']}% CI", "p"]
        rows: list[list[str]] = []
        indent: list[int] = []
        notes: list[str] = []

        def cells(v: Mapping[str, Any]) -> list[str]:
            return [
                f"{fixed(v['estimate'], d)} ({fixed(v['std_error'], d + 1)})",
                f"{fixed(v['conf_low'], d)}, {fixed(v['conf_high'], d)}",
                p_text(v["p_value"]),
            ]

        mar_seen = set()
        for rec in recs:
            for c in rec["comparisons"]:
                n = f"{c['n_active']}, {c['n_control']}"
                if c["mar"] is not None and c["comparison"] not in mar_seen:
                    mar_seen.add(c["comparison"])
                    mar_n = c["mar_n"]
                    rows.append(
                        [
                            "Primary: MMRM (missing at random)",
                            c["comparison"],
                            f"{mar_n[0]}, {mar_n[1]}" if mar_n else "",
                            *cells(c["mar"]),
                        ]
                    )
                    indent.append(0)
                rows.append(
                    [
                        f"Reference-based MI: {rec['settings_label']}",
                        c["comparison"],
                        n,
                        *cells(c["reference_based"]),
                    ]
                )
                indent.append(1)
            notes.append(f"{rec['settings_label']}: {'; '.join(rec['notes'])}.")
        out.append(
            shell(
                "reference_based" if number == 1 else f"reference_based_{number}",
                f"Table 6.R{number} {first['label']}, {first['population_label']}: "
                f"reference-based sensitivity analyses at {first['visit']}",
                header,
                rows,
                indent=indent,
                footnotes=[
                    f"Difference in mean change from baseline at {first['visit']} (active minus "
                    f"control; unit {first['unit'] or 'none'}). Reference-based multiple "
                    "imputation (R rbmi's methods): imputation MMRM "
                    f"{first['formula']} ({first['covariance']}), ANCOVA per visit; the "
                    "primary MMRM row is the analysis under missing at random. n: participants "
                    "analysed (missing values imputed); primary MMRM: participants with a value at "
                    f"{first['visit']}.",
                    *notes,
                ],
            )
        )
    return out
