"""Per-endpoint blocks of report sections 6 and 7, built from ``AnalysisResult.to_dict()``.

One block per endpoint (plan order: primary, key secondary in testing order, other
secondary), each holding one entry per population (ITT first, then per protocol) with
the LS means by arm and visit, the treatment difference per visit, Hedges' g at the
final visit and the model specification. Every number is copied from the analysis
result unrounded; the template rounds when rendering, to the ``decimals`` stored here.

Display precision (``decimals``): estimates and confidence limits are shown to the
decimal place of the second significant digit of the smallest standard error of the
endpoint's treatment differences (Cole, "Too many digits", BMJ 2015), at most 6;
standard errors get one decimal more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "POPULATION_LABELS",
    "endpoint_blocks",
    "endpoint_meta",
    "precision",
    "several_comparisons",
]

POPULATION_LABELS: Mapping[str, str] = {"itt": "ITT", "per_protocol": "Per protocol"}
_ROLE_ORDER = {"primary": 0, "key secondary": 1, "secondary": 2}
_POP_ORDER = {"itt": 0, "per_protocol": 1}
_PRO_UNIT = "score 0-100"


def several_comparisons(rows: Iterable[Mapping[str, Any]]) -> bool:
    """Whether `rows` (records with a ``comparison``) hold more than one comparison.

    With several active arms every output names the comparison of each row.
    """
    return len({r["comparison"] for r in rows}) > 1


def precision(std_errors: Sequence[float | None]) -> int:
    """Decimals showing the second significant digit of the smallest finite SE (0-6)."""
    se = [s for s in std_errors if s is not None and math.isfinite(s) and s > 0]
    if not se:
        return 2
    return int(min(6, max(0, 1 - math.floor(math.log10(min(se))))))


def endpoint_meta(endpoint: str) -> dict[str, Any]:
    """Label, unit, direction of improvement and kind (instrumental / faceq / skindex16)."""
    from efficacy.instruments.catalogue import ENDPOINTS

    cat = ENDPOINTS.get(endpoint)
    if cat is not None:
        return {
            "label": cat.label,
            "unit": cat.unit,
            "direction": cat.direction,
            "kind": "instrumental",
        }
    if endpoint.startswith("faceq_"):
        from efficacy.instruments.faceq_tables import FACEQ_SCALES

        scale = FACEQ_SCALES.get(endpoint.removeprefix("faceq_"))
        name = scale.name if scale is not None else endpoint.removeprefix("faceq_")
        return {
            "label": f"FACE-Q {name}",
            "unit": _PRO_UNIT,
            "direction": "higher",
            "kind": "faceq",
        }
    if endpoint.startswith("skindex16_"):
        domain = endpoint.removeprefix("skindex16_").replace("_", " ")
        return {
            "label": f"Skindex-16 {domain}",
            "unit": _PRO_UNIT,
            "direction": "lower",
            "kind": "skindex16",
        }
    return {"label": endpoint, "unit": "", "direction": "none", "kind": "instrumental"}


def _is_mmrm(row: Mapping[str, Any]) -> bool:
    return row.get("analysis") == "mmrm"


def _diff(row: Mapping[str, Any], effect: Mapping[str, Any] | None) -> dict[str, Any]:
    out = {
        "comparison": row["comparison"],
        "estimate": row["estimate"],
        "std_error": row["std_error"],
        "df": row["df"],
        "conf_low": row["conf_low"],
        "conf_high": row["conf_high"],
        "p_value": row["p_value"],
        "p_adjusted": row["p_adjusted"],
        "n_active": row["n_active"],
        "n_control": row["n_control"],
        "hedges_g": None,
        "g_low": None,
        "g_high": None,
    }
    if effect is not None:
        if effect["hedges_g"] is not None:  # records carry NaN as None
            out.update(
                hedges_g=effect["hedges_g"], g_low=effect["conf_low"], g_high=effect["conf_high"]
            )
        else:  # the reason is among the population's notes (`_population`)
            out["g_note"] = "not estimable"
    return out


def _lsmean_rows(
    ls: Sequence[Mapping[str, Any]],
    visits: Sequence[str],
    n_by: Mapping[tuple[str, str], Any],
    order: Sequence[str],
) -> tuple[list[str], list[dict[str, Any]]]:
    """Arms (`order` first, then any other in first-seen order) and one row per visit."""
    seen = list(dict.fromkeys(str(r["arm"]) for r in ls))
    arms = [a for a in order if a in seen] + [a for a in seen if a not in order]
    rows = []
    for visit in visits:
        cells = {}
        for r in ls:
            if r["visit"] == visit:
                arm = str(r["arm"])
                cells[arm] = {
                    "estimate": r["estimate"],
                    "std_error": r["std_error"],
                    "df": r["df"],
                    "conf_low": r["conf_low"],
                    "conf_high": r["conf_high"],
                    "n": n_by.get((arm, visit)),
                }
        rows.append({"visit": visit, "arms": cells})
    return arms, rows


def _population(
    est: list[Mapping[str, Any]],
    ls: list[Mapping[str, Any]],
    effects: Mapping[tuple[str, str], Mapping[str, Any]],
    split: bool,
    fit_notes: Sequence[str],
) -> dict[str, Any]:
    """One population of one endpoint: LS means, differences, model specification."""
    visits = list(dict.fromkeys(str(r["visit"]) for r in est))
    n_by: dict[tuple[str, str], Any] = {}
    for r in est:
        active, control = str(r["active_arm"]), str(r["control_arm"])
        if split:
            n_by[(f"{active} - {control} (within subject)", r["visit"])] = r["n_active"]
        else:
            n_by.setdefault((active, r["visit"]), r["n_active"])
            n_by.setdefault((control, r["visit"]), r["n_control"])
    # the active arm(s), then the control (with two active arms the control came between)
    named = [arm for arm, _visit in n_by]
    if not split:
        named = [str(r["active_arm"]) for r in est] + [str(r["control_arm"]) for r in est]
    arms, ls_rows = _lsmean_rows(ls, visits, n_by, list(dict.fromkeys(named)))
    diffs = [
        {
            "visit": r["visit"],
            "final": bool(r["estimand"]),
            **_diff(r, effects.get((r["visit"], r["comparison"]))),
        }
        for r in est
    ]
    g_notes = {str(e["method"]) for e in effects.values() if e["hedges_g"] is None}
    finals = {d["visit"] for d in diffs if d["final"]}
    for row in ls_rows:
        row["final"] = row["visit"] in finals
    first = est[0]
    return {
        "population": first["population"],
        "label": POPULATION_LABELS.get(str(first["population"]), str(first["population"])),
        "model": first["model"],
        "covariance": sorted({str(r["covariance"]) for r in est}),
        "converged": all(bool(r["converged"]) for r in est),
        "notes": sorted(set(fit_notes) | g_notes),
        "arms": arms,
        "lsmeans": ls_rows,
        "differences": diffs,
    }


def endpoint_blocks(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Blocks for every endpoint analysed by MMRM, in plan order (see module notes).

    Parameters
    ----------
    data : Mapping
        ``AnalysisResult.to_dict()``.

    Returns
    -------
    list of dict
        Keys ``endpoint``, ``role``, ``label``, ``unit``, ``direction``, ``kind``,
        ``decimals``, ``adjusted`` (in the multiplicity family), ``adjustment`` (how),
        ``populations`` (list, ITT first: ``population``, ``label``, ``model``,
        ``covariance``, ``converged``, ``notes``, ``arms``, ``lsmeans``, ``differences``).
    """
    split = data.get("design") == "split_face"
    est = [r for r in data.get("estimates") or [] if _is_mmrm(r)]
    order = list(dict.fromkeys(str(r["endpoint"]) for r in est))
    roles = {str(r["endpoint"]): str(r["role"]) for r in est}
    order.sort(key=lambda e: _ROLE_ORDER.get(roles[e], 3))  # stable: plan order within role
    effects = {
        (str(e["endpoint"]), str(e["population"]), str(e["visit"]), str(e["comparison"])): e
        for e in data.get("effect_sizes") or []
    }
    fit_notes = {
        (str(m["endpoint"]), str(m["population"])): list(m["notes"])
        for m in data.get("model_notes") or []
    }
    blocks = []
    for ep in order:
        rows = [r for r in est if r["endpoint"] == ep]
        pops = sorted(
            dict.fromkeys(str(r["population"]) for r in rows), key=lambda p: _POP_ORDER.get(p, 9)
        )
        populations = []
        for pop in pops:
            pe = [r for r in rows if r["population"] == pop]
            pl = [
                r
                for r in data.get("lsmeans") or []
                if r["endpoint"] == ep and r["population"] == pop
            ]
            eff = {(k[2], k[3]): v for k, v in effects.items() if k[0] == ep and k[1] == pop}
            populations.append(_population(pe, pl, eff, split, fit_notes.get((ep, pop), [])))
        adjust = [str(r["adjustment"]) for r in rows if r["adjustment"]]
        adjusted = roles[ep] != "primary" and any(r["p_adjusted"] is not None for r in rows)
        blocks.append(
            {
                "endpoint": ep,
                "role": roles[ep],
                **endpoint_meta(ep),
                "decimals": precision(
                    [d["std_error"] for p in populations for d in p["differences"]]
                ),
                "adjusted": adjusted,
                "adjustment": adjust[0] if adjust else "",
                "populations": populations,
            }
        )
    return blocks
