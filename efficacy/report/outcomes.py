"""Report sections 6 (efficacy) and 7 (PROs) from an :class:`~efficacy.AnalysisResult`.

:func:`outcome_sections` turns the analysis result (``to_dict()``) into the JSON of
sections 6 and 7; the HTML template renders only that JSON (rounding at render time).

Section 6 holds the instrumental endpoints (primary, key secondary in testing order,
other secondary; ITT then per protocol), an overview of the estimand (final-visit
difference) of every endpoint, the Hedges' g forest plot data, the delta-adjusted
tipping-point analyses and any responder analyses. Section 7 holds the FACE-Q and
Skindex-16 endpoints in the same layout, with the FACE-Q conversion-table status
(validated Rasch 0-100 scores vs raw sums; whether the table is a synthetic stand-in)
and the Skindex-16 direction (higher = worse). PRO endpoints are recognised by their
endpoint id (``faceq_*``, ``skindex16_*``), never by a key prefix of the result.

Without an analysis both sections say plainly that the efficacy analysis was not run;
a trial the analysis refused (validation errors) is reported as not analysed, with why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from efficacy._cells import is_missing
from efficacy.analysis import AnalysisResult
from efficacy.errors import EfficacyError
from efficacy.instruments import ScoredTrial
from efficacy.protocol import Protocol
from efficacy.report._endpoints import POPULATION_LABELS, endpoint_blocks, endpoint_meta
from efficacy.trial import Trial
from efficacy.validation import ValidationReport

__all__ = ["NOT_RUN", "outcome_sections", "run_analysis"]

#: The text sections 6 and 7 show when no analysis result is given.
NOT_RUN = (
    "Efficacy analysis not run: no analysis result was given to the report, so this "
    "section has no estimates. Run the analysis plan (efficacy analyze) and pass its "
    "result to build the efficacy and PRO sections."
)
_PRO_KINDS = ("faceq", "skindex16")
_SHOWN_GRID = 7  # tipping-point grid rows shown (the JSON holds the whole grid)


def run_analysis(
    trial: Trial,
    protocol: Protocol,
    validation: ValidationReport | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> AnalysisResult | None:
    """Run :func:`efficacy.analyze` for the report (warnings silenced).

    `validation`, the trial's validation report when the caller has it, saves
    validating the trial a second time. `force` analyses a trial whose validation has
    errors (``efficacy report --force``); `progress` is the analysis's progress hook.

    Returns
    -------
    AnalysisResult or None
        None when `protocol` has no ``[analysis]`` plan (sections 6-7 then say the
        analysis was not run); a trial the plan cannot analyse gives a result with
        status ``"not analysed"`` whose note is the error message, instead of stopping
        the report.
    """
    import warnings

    from efficacy.analysis import analyze

    if protocol.analysis is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return analyze(trial, protocol, validation=validation, force=force, progress=progress)
    except EfficacyError as exc:
        return AnalysisResult.not_analysed(
            trial_id=str(trial.manifest.id or ""),
            protocol=f"{protocol.id}@{protocol.version}",
            design=str(trial.manifest.design),
            notes=(" ".join(str(exc).split()),),
        )


def _plain(value: Any) -> Any:
    """Return `value` as plain JSON data: NaN / inf become None; other types are refused."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # the common cases first
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN / inf: shown as "-"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise EfficacyError(
        f"analysis.to_dict() holds a {type(value).__name__}; it must return plain data "
        "(numbers, strings, lists, dicts)"
    )


def _visits(trial: Trial | None) -> list[dict[str, Any]]:
    """Scheduled visits with study day and week since baseline (figure x axis)."""
    if trial is None:
        return []
    m = trial.manifest
    days = {v.id: v.day for v in m.visits}
    base = days.get(m.baseline_visit)
    out = []
    for v in m.visits:
        week = (v.day - base) / 7 if v.day is not None and base is not None else None
        out.append({"visit": v.id, "day": v.day, "week": week})
    return out


def _summary(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Estimand row (final-visit difference) of every endpoint and population."""
    rows = []
    for b in blocks:
        for p in b["populations"]:
            for d in p["differences"]:
                if d["final"]:
                    rows.append(
                        {
                            "endpoint": b["endpoint"],
                            "label": b["label"],
                            "role": b["role"],
                            "kind": b["kind"],
                            "unit": b["unit"],
                            "direction": b["direction"],
                            "decimals": b["decimals"],
                            "adjusted": b["adjusted"],
                            "population": p["population"],
                            "population_label": p["label"],
                            **d,
                        }
                    )
    return rows


def _shown(grid: list[Mapping[str, Any]]) -> list[int]:
    """Grid rows to print: first, last, the two around the tipping point, evenly spaced."""
    n = len(grid)
    if n <= _SHOWN_GRID:
        return list(range(n))
    keep = {0, n - 1}
    flips = [i for i in range(1, n) if grid[i]["significant"] != grid[i - 1]["significant"]]
    for i in flips[:1]:
        keep |= {i - 1, i}
    step = (n - 1) / (_SHOWN_GRID - 1)
    for k in range(_SHOWN_GRID):
        if len(keep) >= _SHOWN_GRID:
            break
        keep.add(round(k * step))
    return sorted(keep)


def _sensitivity(data: Mapping[str, Any], blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tipping-point analyses with the rows shown and the MAR estimate they start from.

    Split-face: the penalised and control units are the sites allocated each arm
    (``ACTIVE site``).
    """
    dec = {b["endpoint"]: b for b in blocks}
    unit = " site" if data.get("design") == "split_face" else ""
    out = []
    for tp in data.get("sensitivity") or []:
        grid = list(tp["grid"])
        mar = grid[0] if grid and grid[0]["delta"] == 0 else None
        delta = tp["tipping_delta"]
        ratio = (
            delta / abs(mar["estimate"])
            if delta is not None and mar is not None and mar["estimate"]
            else None
        )
        meta = dec.get(tp["endpoint"]) or endpoint_meta(tp["endpoint"])
        out.append(
            {
                **{k: v for k, v in tp.items() if k != "active_arm"},
                "label": meta["label"],
                "unit": meta["unit"],
                "better": meta["direction"],
                "decimals": dec[tp["endpoint"]]["decimals"] if tp["endpoint"] in dec else 3,
                "population_label": POPULATION_LABELS.get(tp["population"], tp["population"]),
                "penalised_arm": f"{tp['active_arm']}{unit}",
                "control_arm": f"{tp['control_arm']}{unit}",
                "mar": mar,
                "delta_over_effect": ratio,
                "shown": _shown(grid),
            }
        )
    return out


_SPEC_FIELDS = ("formula", "method", "df_method", "covariance_planned")


def _models(data: Mapping[str, Any], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Model specification and convergence rows (appendix 9.3), in the report's order.

    Specification fields with one value across all models (``formula``, ``method``,
    ``df_method``, ``covariance_planned``) go to ``common``; the others are ``varying``
    and get a table column.
    """
    order = {b["endpoint"]: i for i, b in enumerate(blocks)}
    rows = []
    for m in data.get("models") or []:
        meta = endpoint_meta(str(m["endpoint"]))
        pop = str(m["population"])
        rows.append(
            {**m, "label": meta["label"], "population_label": POPULATION_LABELS.get(pop, pop)}
        )
    rows.sort(
        key=lambda r: (
            r["population"] != "itt",
            order.get(r["endpoint"], len(order)),
            r["endpoint"],
        )
    )
    common = {f: rows[0][f] for f in _SPEC_FIELDS if rows and len({r[f] for r in rows}) == 1}
    return {
        "rows": rows,
        "common": common,
        "varying": [f for f in _SPEC_FIELDS if f not in common],
        "n_not_converged": sum(not r["converged"] for r in rows),
    }


def _faceq_status(scored: ScoredTrial | None, analysed: set[str]) -> dict[str, Any] | None:
    """FACE-Q conversion-table status: metric of the scores the analysis used, the table."""
    if scored is None or not any(e.startswith("faceq_") for e in analysed):
        return None
    pro = scored.pro
    # each FACE-Q scale's metrics (``groupby("scale", sort=True)``, missing left out)
    of_scale: dict[Any, set[str]] = {}
    for instrument, scale, metric in zip(
        pro["instrument"].tolist(), pro["scale"].tolist(), pro["metric"].tolist(), strict=True
    ):
        if isinstance(instrument, str) and instrument == "faceq" and not is_missing(scale):
            found = of_scale.setdefault(scale, set())
            if not is_missing(metric):
                found.add(str(metric))
    metrics = {str(scale): sorted(of_scale[scale]) for scale in sorted(of_scale)}
    source = scored.conversion_source
    name = source.replace("\\", "/").rsplit("/", 1)[-1] if source else None
    return {
        "conversion_table": name,
        "synthetic": bool(name and "synthetic" in name.lower()),
        "metrics": metrics,
        "all_rasch": bool(metrics) and all(m == ["rasch_0_100"] for m in metrics.values()),
    }


def _levels(protocol: Protocol | None) -> dict[str, Any]:
    """Alpha and confidence level of the plan (protocol ``[analysis]``; default 0.05 / 0.95)."""
    plan = protocol.analysis if protocol is not None else None
    level = plan.confidence_level if plan is not None else 0.95
    return {
        "alpha": plan.alpha if plan is not None else 0.05,
        "confidence_level": level,
        "confidence_pct": f"{100 * level:g}",
    }


def _not_run(message: str) -> dict[str, Any]:
    return {"status": "not_run", "message": message, "result": None}


def outcome_sections(
    analysis: AnalysisResult | None,
    trial: Trial | None = None,
    protocol: Protocol | None = None,
) -> dict[str, Any]:
    """Build sections 6 and 7 (JSON-ready) from an analysis result, or say it was not run.

    Parameters
    ----------
    analysis : AnalysisResult or None
        From :func:`efficacy.analyze`. Its tables and its scored trial
        (:attr:`~efficacy.AnalysisResult.scored`, for the FACE-Q table status) are
        read, never recomputed.
    trial : Trial, optional
        For the visit schedule (weeks on the figure axis).
    protocol : Protocol, optional
        For the plan's alpha and confidence level.

    Returns
    -------
    dict
        ``{"efficacy": {...}, "pros": {...}}``, each with ``status`` ("run" / "not_run" /
        "not_analysed"), ``message`` and ``result`` (None unless run). Efficacy
        ``result`` keys: ``analysis`` (trial, protocol, design, status, notes),
        ``visits``, ``endpoints`` (see :func:`efficacy.report._endpoints.endpoint_blocks`),
        ``summary`` (every endpoint's estimand rows, PROs included, for the overview
        and the forest plot), ``sensitivity``, ``responders``, ``skipped``, ``models``
        (specification and convergence of every MMRM, PROs included; appendix 9.3). PRO
        ``result`` keys: ``endpoints``, ``faceq`` (conversion status or None),
        ``skindex16`` (whether analysed), ``skipped``.

    Raises
    ------
    EfficacyError
        If `analysis` is not an :class:`~efficacy.AnalysisResult`.
    """
    if analysis is None:
        return {"efficacy": _not_run(NOT_RUN), "pros": _not_run(NOT_RUN)}
    if not isinstance(analysis, AnalysisResult):
        raise EfficacyError(
            f"analysis must be an AnalysisResult from efficacy.analyze(trial, protocol), "
            f"not {type(analysis).__name__}"
        )
    data = _plain(analysis.to_dict())
    if not isinstance(data, Mapping) or not isinstance(data.get("estimates"), list):
        raise EfficacyError("analysis.to_dict() must return a mapping with 'estimates' records")
    if data.get("status") == "not analysed":
        why = "; ".join(data.get("notes") or []) or "the analysis plan was not run"
        return {
            key: {
                "status": "not_analysed",
                "message": f"{what} analysis not performed: {why}.",
                "result": None,
            }
            for key, what in (("efficacy", "Efficacy"), ("pros", "PRO"))
        }
    blocks = endpoint_blocks(data)
    skipped = list(data.get("skipped") or [])

    def is_pro(endpoint: object) -> bool:
        return endpoint_meta(str(endpoint)).get("kind") in _PRO_KINDS

    analysed = {b["endpoint"] for b in blocks}
    efficacy = {
        "analysis": {k: data.get(k) for k in ("trial_id", "protocol", "design", "status")}
        | {"validation_errors": data.get("validation_errors"), "notes": data.get("notes") or []}
        | _levels(protocol),
        "visits": _visits(trial),
        "endpoints": [b for b in blocks if not is_pro(b["endpoint"])],
        "summary": _summary(blocks),
        "sensitivity": _sensitivity(data, blocks),
        "responders": [
            r for r in data["estimates"] if r["analysis"] in ("responder_difference", "logistic")
        ],
        "ancova": [r for r in data["estimates"] if r["analysis"] == "ancova"],
        "skipped": [s for s in skipped if not is_pro(s["endpoint"])],
        "models": _models(data, blocks),
    }
    pros = {
        "endpoints": [b for b in blocks if is_pro(b["endpoint"])],
        "faceq": _faceq_status(analysis.scored, analysed),
        "skindex16": any(e.startswith("skindex16_") for e in analysed),
        "skipped": [s for s in skipped if is_pro(s["endpoint"])],
    }
    has_pro = bool(pros["endpoints"] or pros["skipped"])
    return {
        "efficacy": {"status": "run", "message": "", "result": efficacy},
        "pros": {
            "status": "run" if has_pro else "not_run",
            "message": "" if has_pro else "The analysis plan has no PRO endpoints.",
            "result": pros if has_pro else None,
        },
    }
