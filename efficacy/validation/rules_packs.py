"""The checks of the jurisdiction rule packs: one typed check per requirement kind.

Each check is parameterised by its requirement (see
:data:`efficacy.protocol.params.PACK_CHECKS`) and reused across packs: ``kr-mfds`` and
``cn-nmpa-2021`` both count valid subjects with ``min_valid_subjects``, with their own
``min_n``. Like the standard's checks (:mod:`efficacy.validation.rules_standard`),
findings are about the trial as a whole (``row`` None). Findings about one declared
claim carry ``column = "claims"`` and ``value`` = the claim's text; findings about one
endpoint carry ``column = "endpoint"`` and ``value`` = its id: the claims matrix
(:mod:`efficacy.regulatory.claims`) reads them to know which claims a failure touches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from efficacy.protocol import Requirement
from efficacy.trial import Claim
from efficacy.validation.context import Context, arm_members
from efficacy.validation.findings import CouldNotRun, NotApplicable, Part, at_trial

__all__ = ["PACK_CHECKS", "relevant_claims"]


def relevant_claims(claims: tuple[Claim, ...], req: Requirement) -> tuple[Claim, ...]:
    """Return the claims among `claims` that `req` bears on (its categories; all if none)."""
    if not req.claims:
        return claims
    return tuple(c for c in claims if c.category in req.claims)


def _endpoints(ctx: Context, req: Requirement) -> tuple[str, ...]:
    """Return the requirement's endpoints, else those of the relevant declared claims."""
    given: tuple[str, ...] = req.parameters.get("endpoints", ())
    if given:
        return given
    claims = relevant_claims(ctx.manifest.claims, req)
    return tuple(dict.fromkeys(c.endpoint for c in claims))


def _base_final(ctx: Context) -> tuple[str, str]:
    base, final = ctx.baseline, ctx.final
    if base is None or final is None:
        raise CouldNotRun("baseline or final visit unknown (see SCH-001)")
    return base.id, final.id


def _measured(ctx: Context, endpoints: tuple[str, ...]) -> np.ndarray:
    """Rows of measurements with a usable value, of `endpoints` (every endpoint if empty)."""
    ctx.need("measurements", "subject_id", "visit", "endpoint")
    mask: np.ndarray = ~np.isnan(ctx.meas.value)
    if endpoints:
        mask &= ctx.isin("measurements", "endpoint", endpoints)
    return mask


def _valid_subjects(ctx: Context, mask: np.ndarray) -> set[Any]:
    """Randomised subjects with a `mask` row at baseline and one at the final visit."""
    base, final = _base_final(ctx)
    m = ctx.table("measurements")
    rand = ctx.isin("measurements", "subject_id", ctx.randomised_ids)
    ids = m["subject_id"].to_numpy(dtype=object)
    at_base = set(ids[mask & rand & ctx.isin("measurements", "visit", [base])])
    at_final = set(ids[mask & rand & ctx.isin("measurements", "visit", [final])])
    return at_base & at_final


def check_min_valid_subjects(ctx: Context, req: Requirement) -> Iterator[Part]:
    """At least ``min_n`` valid subjects per endpoint (total, or per arm with ``per_arm``)."""
    p = req.parameters
    if not ctx.present("measurements"):
        yield at_trial(table="measurements", message="no measurements table: no valid subject")
        return
    base, final = _base_final(ctx)
    endpoints = _endpoints(ctx, req)
    groups: list[tuple[str | None, tuple[str, ...]]] = (
        [(e, (e,)) for e in endpoints] if endpoints else [(None, ())]
    )
    members = arm_members(ctx) if p["per_arm"] else None
    for endpoint, eps in groups:
        valid = _valid_subjects(ctx, _measured(ctx, eps))
        what = endpoint or "any endpoint"
        if members is None:
            counts = {"all arms": len(valid)}
        else:
            in_arm = members[members["subject_id"].isin(valid)]
            counts = {a: int((in_arm["arm"] == a).sum()) for a in sorted(ctx.arm_ids)}
        for where, n in counts.items():
            if n < p["min_n"]:
                yield at_trial(
                    table="measurements",
                    column="endpoint" if endpoint else None,
                    value=endpoint,
                    message=f"n = {n} valid < {p['min_n']} for {what} ({where}): {req.id} "
                    f"needs at least {p['min_n']} valid subjects (randomised, measured at "
                    f"baseline {base} and at the final visit {final})",
                )


def check_duration_weeks_between(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Planned follow-up (final minus baseline visit week) within [min_weeks, max_weeks]."""
    p = req.parameters
    base, final = ctx.baseline, ctx.final
    if base is None or final is None or pd.isna(base.week) or pd.isna(final.week):
        raise CouldNotRun("the planned follow-up cannot be computed (baseline or final visit)")
    planned = float(final.week - base.week)
    low, high = float(p["min_weeks"]), float(p["max_weeks"])
    if low <= planned <= high:
        return
    side = "below" if planned < low else "above"
    yield at_trial(
        table="manifest",
        value=f"{planned:g}",
        message=f"planned follow-up is {planned:g} weeks ({base.id} to {final.id}), {side} "
        f"the {low:g}-{high:g} weeks {req.id} asks",
    )


def check_instrument_named_for_endpoint(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Every measurement of the endpoints comes from one of the named instruments."""
    p = req.parameters
    eps: tuple[str, ...] = p["endpoints"]
    claimed = [c for c in relevant_claims(ctx.manifest.claims, req) if c.endpoint in eps]
    rows = _measured(ctx, eps) if ctx.present("measurements") else np.zeros(0, dtype=bool)
    if not rows.any():
        if not claimed:
            raise NotApplicable(f"none of {', '.join(eps)} is measured or claimed")
        for c in claimed:
            yield at_trial(
                table="measurements",
                column="claims",
                value=c.text,
                message=f"the claim rests on {c.endpoint}, which is not measured; {req.id} "
                f"asks for it measured with {' or '.join(p['devices'])}",
            )
        return
    if "device" in ctx.missing("measurements"):
        yield at_trial(
            table="measurements",
            column="device",
            message=f"measurements has no device column; {req.id} asks for "
            f"{' or '.join(p['devices'])}",
        )
        return
    codes, uniques = ctx.codes("measurements", "device")
    names = [str(u).lower() for u in uniques]
    ok = [any(d.lower() in n for d in p["devices"]) for n in names]
    wrong = rows & ~np.append(np.asarray(ok, dtype=bool), False)[codes]
    if wrong.any():
        seen = sorted({str(uniques[c]) if c >= 0 else "(blank)" for c in codes[wrong]})
        yield at_trial(
            table="measurements",
            column="device",
            value=", ".join(seen),
            message=f"{int(wrong.sum())} of {int(rows.sum())} {', '.join(eps)} rows come from "
            f"other devices ({', '.join(seen)}); {req.id} names {' or '.join(p['devices'])}",
        )


def _numeric(ctx: Context, column: str) -> np.ndarray:
    values = ctx.table("measurements")[column]
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def check_environment_conditions(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Room temperature and humidity within the ranges; acclimatisation stated and long enough."""
    p = req.parameters
    if ctx.present("measurements"):
        rows = _measured(ctx, _endpoints(ctx, req))
        for column, unit in (("temperature_c", "°C"), ("humidity_pct", "% RH")):
            low, high = p[column]
            known = (
                rows & ~np.isnan(_numeric(ctx, column))
                if column in ctx.table("measurements")
                else np.zeros_like(rows)
            )
            if rows.any() and not known.any():
                yield at_trial(
                    table="measurements",
                    column=column,
                    message=f"{column} is not recorded on the {int(rows.sum())} rows "
                    f"{req.id} covers; it asks for {low:g}-{high:g} {unit}",
                )
                continue
            values = _numeric(ctx, column)
            out = known & ((values < low) | (values > high))
            if out.any():
                yield at_trial(
                    table="measurements",
                    column=column,
                    value=f"{np.nanmin(values[out]):g} to {np.nanmax(values[out]):g}",
                    message=f"{int(out.sum())} of {int(known.sum())} rows were measured "
                    f"outside {low:g}-{high:g} {unit} ({req.id})",
                )
    need = float(p["min_acclimatisation_min"])
    if need <= 0:
        return
    methods = ctx.manifest.raw.get("methods")
    stated = methods.get("acclimatisation_min") if isinstance(methods, Mapping) else None
    if isinstance(stated, bool) or not isinstance(stated, int | float):
        yield at_trial(
            table="manifest",
            column="methods.acclimatisation_min",
            message=f"the acclimatisation time is not stated: add [methods] "
            f"acclimatisation_min = <minutes> to trial.toml ({req.id} asks at least {need:g})",
        )
    elif stated < need:
        yield at_trial(
            table="manifest",
            column="methods.acclimatisation_min",
            value=stated,
            message=f"acclimatisation of {stated:g} min is below the {need:g} min {req.id} asks",
        )


def check_p_threshold(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Require the protocol's analysis plan to test at a level no larger than ``max_p``."""
    plan = ctx.protocol.analysis
    if plan is None:
        raise CouldNotRun(f"protocol {ctx.protocol.id!r} has no [analysis] plan")
    if plan.alpha > req.parameters["max_p"]:
        yield at_trial(
            table="manifest",
            value=f"{plan.alpha:g}",
            message=f"the analysis plan tests at alpha = {plan.alpha:g}, above the "
            f"p < {req.parameters['max_p']:g} {req.id} asks",
        )


def check_design_stated(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Require the design statements named in ``items`` in ``[consort]``."""
    consort = ctx.manifest.consort
    for item in req.parameters["items"]:
        value = consort.get(item)
        if not isinstance(value, str) or not value.strip():
            yield at_trial(
                table="manifest",
                column=f"consort.{item}",
                message=f"[consort] {item} is not stated; {req.id} asks the design to state it",
            )


def check_claim_evidence(ctx: Context, req: Requirement) -> Iterator[Part]:
    """Each relevant claim's endpoint is measured at baseline and at the final visit."""
    claims = relevant_claims(ctx.manifest.claims, req)
    if not claims:
        if req.parameters["require_claims"]:
            yield at_trial(
                table="manifest",
                column="claims",
                message=f"the trial declares no [[claims]]; {req.id} needs them",
            )
            return
        raise NotApplicable("the trial declares no [[claims]]")
    base, final = _base_final(ctx)
    present = ctx.present("measurements")
    for c in claims:
        if present and _valid_subjects(ctx, _measured(ctx, (c.endpoint,))):
            continue
        yield at_trial(
            table="measurements",
            column="claims",
            value=c.text,
            message=f"no randomised subject has {c.endpoint} at both baseline {base} and "
            f"the final visit {final}: the claim has no evidence ({req.id})",
        )


def check_claim_wording(ctx: Context, req: Requirement) -> Iterator[Part]:
    """No relevant claim's text contains a structure/function term."""
    claims = relevant_claims(ctx.manifest.claims, req)
    if not claims:
        raise NotApplicable("the trial declares no [[claims]]")
    for c in claims:
        hits = [t for t in req.parameters["drug_terms"] if t.lower() in c.text.lower()]
        if hits:
            yield at_trial(
                table="manifest",
                column="claims",
                value=c.text,
                message=f"the claim uses {', '.join(repr(h) for h in hits)}: wording that "
                f"presents the product as acting on the body's structure or function makes "
                f"it a drug by intended use ({req.id})",
            )


#: The code evaluating each rule-pack ``check`` family.
PACK_CHECKS: Mapping[str, Callable[[Context, Requirement], Iterator[Part]]] = {
    "min_valid_subjects": check_min_valid_subjects,
    "duration_weeks_between": check_duration_weeks_between,
    "instrument_named_for_endpoint": check_instrument_named_for_endpoint,
    "environment_conditions": check_environment_conditions,
    "p_threshold": check_p_threshold,
    "design_stated": check_design_stated,
    "claim_evidence": check_claim_evidence,
    "claim_wording": check_claim_wording,
}
