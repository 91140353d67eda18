"""CONSORT rules (CON-*): flow arithmetic, dispositions, populations, attested facts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from efficacy.validation.context import Context, blank, flag
from efficacy.validation.findings import CouldNotRun, NotApplicable, Part, at_rows, at_trial
from efficacy.validation.registry import rule
from efficacy.validation.rules_design import arm_members

_FLOW = "CONSORT 2010 flow diagram (FACTS.md 1.3)"
_TOTALS = {
    "assessed_for_eligibility": "assessed for eligibility (rows of subjects)",
    "excluded": "excluded before randomisation (randomized = false)",
    "randomised": "randomised (randomized = true)",
}
_PER_ARM = {
    "allocated": "randomised subjects allocated to the arm",
    "lost_to_follow_up": "randomised subjects with disposition lost_to_follow_up",
    "discontinued": "randomised subjects with disposition discontinued",
    "analysed": "randomised subjects in the itt population",
}
_FLOW_KEYS = (*_TOTALS, *_PER_ARM, "excluded_reasons")


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _data_totals(ctx: Context) -> dict[str, int]:
    first = ctx.subjects_first
    return {
        "assessed_for_eligibility": len(first),
        "excluded": int(flag(first["randomized"], False).sum()),
        "randomised": int(flag(first["randomized"], True).sum()),
    }


def _data_per_arm(ctx: Context, key: str) -> pd.Series:
    members = arm_members(ctx)
    first = ctx.subjects_first.loc[members["subject_id"]]
    if key == "lost_to_follow_up" or key == "discontinued":
        keep = (first["disposition"] == key).fillna(False).to_numpy(dtype=bool)
    elif key == "analysed":
        keep = flag(first["itt"], True).to_numpy()
    else:
        keep = slice(None)
    return members[keep].groupby("arm").size()


def _arithmetic(flow: Mapping[str, Any]) -> str:
    """Note when the attested totals do not add up (assessed = excluded + randomised)."""
    a, e, r = (flow.get(k) for k in _TOTALS)
    if all(_is_count(x) for x in (a, e, r)) and a != e + r:
        return f"; attested counts do not add up: assessed {a} != excluded {e} + randomised {r}"
    return ""


def _flow_totals(ctx: Context, flow: Mapping[str, Any]) -> Iterator[Part]:
    data = _data_totals(ctx)
    note = _arithmetic(flow)
    reported = False
    for key, what in _TOTALS.items():
        if key not in flow:
            continue
        att = flow[key]
        if not _is_count(att):
            yield at_trial(
                table="manifest",
                column=key,
                value=att,
                message=f"[consort.flow] {key} must be a whole number >= 0",
            )
        elif att != data[key]:
            reported = True
            yield at_trial(
                table="manifest",
                column=key,
                value=att,
                message=f"[consort.flow] {key} = {att} but the data have {data[key]} {what}"
                f"{note}; correct the attested count or the subjects table",
            )
    if note and not reported:
        yield at_trial(
            table="manifest",
            column="assessed_for_eligibility",
            value=flow.get("assessed_for_eligibility"),
            message=f"[consort.flow]{note[1:]}; correct the attested counts",
        )
    reasons = flow.get("excluded_reasons")
    if isinstance(reasons, Mapping) and _is_count(flow.get("excluded")):
        total = sum(v for v in reasons.values() if _is_count(v))
        if total != flow["excluded"] or not all(_is_count(v) for v in reasons.values()):
            yield at_trial(
                table="manifest",
                column="excluded_reasons",
                value=total,
                message=f"[consort.flow.excluded_reasons] add up to {total}, not excluded = "
                f"{flow['excluded']}; give a whole count per reason",
            )


def _flow_arms(ctx: Context, flow: Mapping[str, Any]) -> Iterator[Part]:
    for key, what in _PER_ARM.items():
        att = flow.get(key)
        if att is None:
            continue
        if not isinstance(att, Mapping) or not all(_is_count(v) for v in att.values()):
            yield at_trial(
                table="manifest",
                column=key,
                message=f"[consort.flow.{key}] must be a table of arm id = whole number",
            )
            continue
        try:
            data = _data_per_arm(ctx, key)
        except CouldNotRun as exc:
            yield at_trial(
                table="manifest",
                column=key,
                severity="warning",
                message=f"[consort.flow.{key}] cannot be checked: {exc}",
            )
            continue
        for arm in sorted(set(att) | set(data.index)):
            a, d = att.get(arm), int(data.get(arm, 0))
            if a is None or a != d:
                shown = "not attested" if a is None else str(a)
                yield at_trial(
                    table="manifest",
                    column=key,
                    value=a,
                    message=f"[consort.flow.{key}] {arm} is {shown} but the data have {d} "
                    f"{what}; correct the attested count or the data",
                )


@rule(
    "CON-001",
    "CONSORT flow adds up",
    "consort",
    "error",
    _FLOW,
    "Attested [consort.flow] counts add up (assessed = excluded + randomised; excluded "
    "= sum of excluded_reasons) and equal the counts in the data (totals; per arm: "
    "allocated, lost_to_follow_up, discontinued, analysed = itt).",
)
def check_flow(ctx: Context) -> Iterator[Part]:
    """Attested flow counts against their own arithmetic and against the data."""
    flow = ctx.manifest.consort.get("flow") if isinstance(ctx.manifest.consort, Mapping) else None
    if not isinstance(flow, Mapping) or not flow:
        raise NotApplicable("trial.toml attests no [consort.flow] counts")
    ctx.need("subjects", "subject_id", "randomized")
    for key in flow:
        if key not in _FLOW_KEYS:
            yield at_trial(
                table="manifest",
                column=str(key),
                severity="warning",
                message=f"[consort.flow] {key} is not a known count and is not checked; "
                f"known: {', '.join(_FLOW_KEYS)}",
            )
    yield from _flow_totals(ctx, flow)
    yield from _flow_arms(ctx, flow)


@rule(
    "CON-002",
    "Randomisation and disposition agree",
    "consort",
    "error",
    _FLOW,
    "A person not randomised must have disposition screen_failure and a reason; a "
    "randomised person must not be a screen failure and must have an arm (parallel) or "
    "an allocation (split-face).",
)
def check_randomisation(ctx: Context) -> Iterator[Part]:
    """Screen failures and randomised subjects coded consistently."""
    s = ctx.need("subjects", "randomized", "disposition")
    no, yes = flag(s["randomized"], False), flag(s["randomized"], True)
    sf = (s["disposition"] == "screen_failure").fillna(False).astype(bool)
    coded = ~blank(s["disposition"])
    bad = no & coded & ~sf
    if bad.any():
        yield at_rows(
            s[bad],
            table="subjects",
            column="disposition",
            message="not randomised, so disposition must be screen_failure",
        )
    if "discontinuation_reason" not in ctx.missing("subjects"):
        bad = no & blank(s["discontinuation_reason"])
        if bad.any():
            yield at_rows(
                s[bad],
                table="subjects",
                column="discontinuation_reason",
                message="not randomised but no reason given; record why (e.g. not "
                "meeting inclusion criteria, declined)",
            )
    if (yes & sf).any():
        yield at_rows(
            s[yes & sf],
            table="subjects",
            column="disposition",
            message="randomised, so disposition cannot be screen_failure",
        )
    col = "allocation" if ctx.split_face else "arm"
    if col not in ctx.missing("subjects"):
        bad = yes & blank(s[col])
        if bad.any():
            yield at_rows(
                s[bad],
                table="subjects",
                column=col,
                value=None,
                message=f"randomised but {col} is empty; record the allocation",
            )


@rule(
    "CON-003",
    "Populations nested",
    "consort",
    "error",
    "CONSORT 2010 item 16 (numbers analysed; FACTS.md 1.3)",
    "itt, per_protocol and safety are true only for randomised people; per_protocol implies itt.",
)
def check_populations(ctx: Context) -> Iterator[Part]:
    """Find population flags outside the randomised set, and per-protocol outside ITT."""
    s = ctx.need("subjects", "randomized", "itt")
    no = flag(s["randomized"], False)
    for col in ("itt", "per_protocol", "safety"):
        if col in ctx.missing("subjects"):
            continue
        bad = no & flag(s[col], True)
        if bad.any():
            yield at_rows(
                s[bad],
                table="subjects",
                column=col,
                message=f"{col} = true for a person not randomised; set it false",
            )
    if "per_protocol" not in ctx.missing("subjects"):
        bad = ~no & flag(s["per_protocol"], True) & flag(s["itt"], False)
        if bad.any():
            yield at_rows(
                s[bad],
                table="subjects",
                column="itt",
                message="per_protocol = true but itt = false; the per-protocol population "
                "is a subset of the ITT population",
            )


@rule(
    "CON-004",
    "Discontinuation reasons given",
    "consort",
    "warning",
    "CONSORT 2010 item 13b (losses and exclusions with reasons)",
    "A subject discontinued or lost to follow-up has no discontinuation_reason.",
)
def check_reasons(ctx: Context) -> Iterator[Part]:
    """Discontinued / lost subjects without a reason."""
    s = ctx.need("subjects", "disposition", "discontinuation_reason")
    left = s["disposition"].isin(("discontinued", "lost_to_follow_up"))
    bad = left & blank(s["discontinuation_reason"])
    if bad.any():
        rows = s[bad]
        yield at_rows(
            rows,
            table="subjects",
            column="discontinuation_reason",
            value=None,
            message=rows["disposition"].astype(str)
            + " without a reason; record why (CONSORT asks reasons for every loss)",
        )


@rule(
    "CON-005",
    "CONSORT facts attested",
    "consort",
    "warning",
    "CONSORT 2010/2025 items on registration, protocol, blinding, randomisation, "
    "funding, data sharing (FACTS.md 1.1, 1.2)",
    "Every [consort] item of the protocol's [validation] consort_items (registration "
    "id, registry and date, protocol and SAP location, blinding, randomisation method, "
    "allocation concealment, funding, data sharing) is attested in trial.toml.",
)
def check_attested(ctx: Context) -> Iterator[Part]:
    """Missing or empty attested [consort] items (one finding per item)."""
    consort = ctx.manifest.consort if isinstance(ctx.manifest.consort, Mapping) else {}
    for item in ctx.params["consort_items"]:
        value = consort.get(item)
        if value is None or (isinstance(value, str) and not value.strip()):
            yield at_trial(
                table="manifest",
                column=item,
                message=f"[consort] {item} is not attested; add it to trial.toml (say where "
                "it is reported)",
            )


@rule(
    "CON-006",
    "Completers reached the final visit",
    "consort",
    "warning",
    _FLOW,
    "A subject with disposition completed has no measurement at the final visit.",
)
def check_completers(ctx: Context) -> Iterator[Part]:
    """Completed subjects without a final-visit measurement."""
    s = ctx.need("subjects", "subject_id", "disposition")
    m = ctx.need("measurements", "subject_id", "visit")
    if ctx.final is None:
        raise NotApplicable("the manifest declares no visits (see SCH-001)")
    final = ctx.final.id
    seen = pd.Index(m.loc[(m["visit"] == final).fillna(False).astype(bool), "subject_id"].unique())
    completed = (s["disposition"] == "completed").fillna(False).astype(bool)
    bad = completed & ~blank(s["subject_id"]) & ~s["subject_id"].isin(seen)
    if bad.any():
        yield at_rows(
            s[bad],
            table="subjects",
            column="disposition",
            message=f"completed but no measurement at the final visit {final}; correct the "
            "disposition or add the final-visit data",
        )
