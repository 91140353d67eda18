"""The standard's requirements (ISO-* and user additions), one check per ``check`` family.

A requirement's parameters come from the protocol (e.g. ``min_weeks``), so a user
protocol that tightens them tightens the check. Findings are about the trial as a whole
(``row`` None): a requirement is met or not by the trial, and row-level problems are
the data rules' job. Each check reports one finding per unmet aspect.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.protocol import Requirement
from efficacy.validation.context import Context, arm_members, flag
from efficacy.validation.findings import CouldNotRun, NotApplicable, Part, at_trial

__all__ = ["STANDARD_CHECKS"]

_PRO_LABELS = {"skindex16": "Skindex-16", "faceq": "FACE-Q"}


def _observed_days(ctx: Context) -> tuple[float, int] | None:
    """Median follow-up (days after baseline) of completers with dated measurements."""
    if ctx.baseline is None or not ctx.present("subjects") or not ctx.present("measurements"):
        return None
    first = ctx.subjects_first
    done = flag(first["randomized"], True) & (first["disposition"] == "completed").fillna(False)
    completers = first.index[done.to_numpy(dtype=bool)]
    s_codes = ctx.codes("measurements", "subject_id")[0]
    mine = ctx.isin("measurements", "subject_id", completers) & ~np.isnan(ctx.meas_day)
    if not mine.any():
        return None
    _, subject = np.unique(s_codes[mine], return_inverse=True)
    last = np.full(int(subject.max()) + 1, -np.inf)
    np.maximum.at(last, subject, ctx.meas_day[mine])  # each completer's last day
    return float(np.median(last - ctx.baseline.day)), len(last)


def check_duration(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Planned (schedule) and observed (completers' median) follow-up >= min_weeks."""
    p = req.parameters
    weeks = float(p["min_weeks"])
    base, final = ctx.baseline, ctx.final
    if base is None or final is None or pd.isna(base.week) or pd.isna(final.week):
        yield at_trial(
            table="manifest",
            message="the planned follow-up cannot be computed: declare the baseline_visit "
            "and [[visits]] with weeks",
        )
        return
    planned = float(final.week - base.week)
    observed = _observed_days(ctx) if p["check_observed"] else None
    seen = (
        ""
        if observed is None
        else f"; completers' median observed follow-up is {observed[0] / 7:.1f} weeks "
        f"(n = {observed[1]})"
    )
    if planned < weeks:
        yield at_trial(
            table="manifest",
            value=f"{planned:g}",
            message=f"planned follow-up is {planned:g} weeks ({base.id} to {final.id}), "
            f"below the {weeks:g} weeks {req.id} requires{seen}; extend the schedule",
        )
        return
    if not p["check_observed"]:
        return
    if observed is None:
        yield at_trial(
            table="measurements",
            message="no completer has dated measurements, so the observed follow-up "
            f"cannot be shown to reach {weeks:g} weeks",
        )
    elif observed[0] < weeks * 7 - float(p["observed_tolerance_days"]):
        yield at_trial(
            table="measurements",
            value=f"{observed[0] / 7:.1f}",
            message=f"completers' median observed follow-up is {observed[0] / 7:.1f} weeks "
            f"(n = {observed[1]}), below the {weeks:g} weeks {req.id} requires",
        )


def _coverage(
    ctx: Context, req: Requirement, table: str, mask: np.ndarray, key: np.ndarray, what: str
) -> Iterator[Part]:
    """Yield findings when no `key` value of the `mask` rows is at both baseline and final.

    `key` holds one code per row of `table` (e.g. endpoint codes); the requirement is met
    when some key is present at the baseline visit and at the final visit.
    """
    base, final = ctx.baseline, ctx.final
    if base is None or final is None:
        raise CouldNotRun("baseline or final visit unknown (see SCH-001)")
    at = {
        v.id: set(pd.unique(key[mask & ctx.isin(table, "visit", [v.id])]).tolist())
        for v in (base, final)
    }
    if at[base.id] & at[final.id]:
        return
    lacking = [v for v in (base, final) if not at[v.id]]
    for v in lacking:
        yield at_trial(
            table=table,
            visit=v.id,
            message=f"no {what} at the {'baseline' if v is base else 'final'} visit "
            f"{v.id}; {req.id} needs it at baseline and at the final visit",
        )
    if not lacking:
        yield at_trial(
            table=table,
            message=f"no {what} is measured at both baseline {base.id} and the final visit "
            f"{final.id}; {req.id} needs the same measure at both (a change from baseline)",
        )


def _named(
    ctx: Context, mask: np.ndarray, column: str, modality: str, req: Requirement
) -> Iterator[Part]:
    empty = mask & ctx.blank("measurements", column)
    if empty.any():
        first = ", ".join(map(str, ctx.table("measurements").index[empty][:5]))
        yield at_trial(
            table="measurements",
            column=column,
            message=f"{column} is empty on {int(empty.sum())} of {int(mask.sum())} {modality} "
            f"rows (first rows {first}); {req.id} needs it named on every reading",
        )


def _excluded_devices(
    ctx: Context, req: Requirement, mask: np.ndarray
) -> Iterator[Part | np.ndarray]:
    """Yield a finding for rows from excluded devices, then the mask without them."""
    excluded = req.parameters["exclude_devices"]
    if not excluded or "device" in ctx.missing("measurements") or not mask.any():
        yield mask
        return
    codes, uniques = ctx.codes("measurements", "device")
    names = [str(u).lower() for u in uniques]
    hit = [any(x.lower() in n for x in excluded) for n in names]
    out = mask & np.append(np.asarray(hit, dtype=bool), False)[codes]
    if out.any():
        m = ctx.table("measurements")
        first = ", ".join(map(str, m.index[out][:5]))
        yield at_trial(
            table="measurements",
            column="device",
            value=", ".join(sorted(set(uniques[pd.unique(codes[out])].astype(str)))),
            message=f"{int(out.sum())} {req.parameters['modality']} rows come from devices "
            f"that cannot satisfy {req.id} ({', '.join(excluded)}; first rows {first}); "
            "they are not counted",
        )
    yield mask & ~out


def check_instrumental(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Require the endpoints at baseline and final visit, with device and settings."""
    p = req.parameters
    endpoints = p["endpoints"] or tuple(
        e.id for e in ENDPOINTS.values() if e.modality == p["modality"]
    )
    what = f"{p['modality']} endpoint ({', '.join(endpoints)})"
    if not ctx.present("measurements"):
        yield at_trial(table="measurements", message=f"no measurements table: no {what}")
        return
    ctx.need("measurements", "visit", "endpoint")
    mask = ctx.isin("measurements", "endpoint", endpoints) & ~np.isnan(ctx.meas.value)
    for part in _excluded_devices(ctx, req, mask):
        if isinstance(part, np.ndarray):
            mask = part
        else:
            yield part
    if not mask.any():
        yield at_trial(table="measurements", message=f"no {what} is measured")
        return
    codes = ctx.codes("measurements", "endpoint")[0]
    yield from _coverage(ctx, req, "measurements", mask, codes, what)
    needs = (("device", "require_device"), ("device_settings", "require_settings"))
    for column, flag_name in needs:
        if not p[flag_name]:
            continue
        if column in ctx.missing("measurements"):
            yield at_trial(
                table="measurements",
                column=column,
                message=f"measurements has no {column} column; {req.id} needs it named",
            )
        else:
            yield from _named(ctx, mask, column, p["modality"], req)


def check_pro(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Require the PRO (and its required scales) at baseline and final visit."""
    p = req.parameters
    t = "pro_responses"
    label = _PRO_LABELS.get(p["instrument"], p["instrument"])
    if not ctx.present(t):
        yield at_trial(table=t, message=f"no pro_responses table: no {label}")
        return
    r = ctx.need(t, "visit", "instrument", "scale", "response")
    mask = ctx.isin(t, "instrument", [p["instrument"]]) & r["response"].notna().to_numpy()
    if not mask.any():
        yield at_trial(table=t, message=f"no {label} responses are recorded")
        return
    if not p["scales"]:
        yield from _coverage(ctx, req, t, mask, np.zeros(len(r), dtype=np.int64), label)
        return
    for scale in p["scales"]:
        mine = mask & ctx.isin(t, "scale", [scale])
        if not mine.any():
            yield at_trial(
                table=t,
                column="scale",
                value=scale,
                message=f"no {label} {scale} responses are recorded",
            )
        else:
            key = np.zeros(len(r), dtype=np.int64)
            yield from _coverage(ctx, req, t, mine, key, f"{label} {scale}")


def check_controlled(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Randomised, with a concurrent control arm or control body site."""
    p = req.parameters
    wanted = p["control"]
    if (wanted == "arm" and ctx.split_face) or (wanted == "body_site" and not ctx.split_face):
        need = "a control arm (parallel)" if wanted == "arm" else "a control body site (split-face)"
        yield at_trial(
            table="manifest",
            column="design",
            value=ctx.manifest.design,
            message=f"{req.id} asks for {need}; this trial's design is {ctx.manifest.design}",
        )
    where = "body site" if ctx.split_face else "arm"
    if not ctx.control_ids:
        yield at_trial(
            table="manifest",
            message=f"no concurrent control: no arm has control = true, so there is no "
            f"control {where}",
        )
        return
    ctx.need("subjects", "subject_id", "randomized")
    if len(ctx.randomised_ids) == 0:
        yield at_trial(table="subjects", column="randomized", message="no subject is randomised")
        return
    members = arm_members(ctx)
    counts = Counter(members["arm"].tolist())  # members' arms are non-blank text
    arms = sorted(ctx.arm_ids) if p["require_randomised"] else sorted(ctx.control_ids)
    for arm in arms:
        if counts.get(arm, 0) == 0:
            kind = "control " if arm in ctx.control_ids else ""
            yield at_trial(
                table="subjects",
                column="allocation" if ctx.split_face else "arm",
                value=arm,
                message=f"no randomised subject is allocated to the {kind}{where} {arm}",
            )


def check_checklist(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Checklist completeness: judged by the report on its checklist, not here."""
    raise NotApplicable(
        "judged by the conformance report (efficacy report) on its CONSORT 2025 checklist, "
        "which needs the analysis results"
    )
    yield  # pragma: no cover - a generator, like the other checks


#: The code evaluating each requirement ``check`` family.
STANDARD_CHECKS: Mapping[str, Callable[[Context, Requirement], Iterator[Part]]] = {
    "duration": check_duration,
    "instrumental": check_instrumental,
    "pro": check_pro,
    "controlled": check_controlled,
    "consort_checklist": check_checklist,
}
