"""CONSORT rules (CON-*): flow arithmetic, dispositions, populations, attested facts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from efficacy.consort.flow import Check, Flow, consort_flow
from efficacy.trial import FLOW_TOTALS
from efficacy.validation._rule import Rule, rule
from efficacy.validation.context import Context, flag
from efficacy.validation.findings import NotApplicable, Part, at_rows, at_trial

_FLOW = "CONSORT 2010 flow diagram (FACTS.md 1.3)"
_WHAT = {
    "assessed_for_eligibility": "assessed for eligibility (subjects)",
    "excluded": "excluded before randomisation (randomized = false)",
    "randomised": "randomised (randomized = true)",
    "allocated": "randomised subjects allocated to the arm",
    "lost_to_follow_up": "randomised subjects with disposition lost_to_follow_up",
    "discontinued": "randomised subjects with disposition discontinued",
    "excluded_reasons": "excluded before randomisation, but the attested reasons add up to",
}


def _analysed(flow: Flow) -> str:
    endpoint = flow.primary_endpoint
    what = f"the primary endpoint {endpoint}" if endpoint else "any endpoint"
    return f"ITT subjects with a post-baseline measurement of {what}"


def _arithmetic(totals: Mapping[str, int]) -> str:
    """Note when the attested totals do not add up (assessed = excluded + randomised)."""
    a, e, r = (totals.get(k) for k in FLOW_TOTALS)
    if a is not None and e is not None and r is not None and a != e + r:
        return f"; attested counts do not add up: assessed {a} != excluded {e} + randomised {r}"
    return ""


def _message(c: Check, flow: Flow, note: str) -> str:
    if c.key == "excluded_reasons":
        return (
            f"[consort.flow.excluded_reasons] add up to {c.left} but the data have "
            f"{c.right} excluded before randomisation (randomized = false); correct the "
            "attested reasons or the subjects table"
        )
    what = _analysed(flow) if c.key == "analysed" else _WHAT[c.key]
    if c.arm:
        return (
            f"[consort.flow.{c.key}] {c.arm} is {c.left} but the data have {c.right} {what}; "
            "correct the attested count or the data"
        )
    return (
        f"[consort.flow] {c.key} = {c.left} but the data have {c.right} {what}{note}; "
        "correct the attested count or the subjects table"
    )


@rule(
    "CON-001",
    "CONSORT flow adds up",
    "consort",
    "error",
    _FLOW,
    "Attested [consort.flow] counts equal the CONSORT flow counted from the data by "
    "efficacy.consort.consort_flow (the counts the report's flow diagram shows): totals; "
    "per arm allocated, lost_to_follow_up, discontinued and analysed (ITT with a "
    "post-baseline primary-endpoint measurement); excluded_reasons add up to the excluded. "
    "Attested totals that do not add up (assessed = excluded + randomised) are noted. "
    "Counts of the wrong type or shape are manifest problems (SCH-001).",
)
def check_flow(ctx: Context) -> Iterator[Part]:
    """Each attested flow count that differs from the data's flow: one finding."""
    attested = ctx.manifest.attested_flow
    if not attested.attested:
        raise NotApplicable("trial.toml attests no [consort.flow] counts")
    ctx.need("subjects", "subject_id", "randomized")
    column = "allocation" if ctx.split_face else "arm"
    unchecked = column in ctx.missing("subjects") and attested.per_arm
    for key in attested.per_arm if unchecked else ():
        yield at_trial(
            table="manifest",
            column=key,
            severity="warning",
            message=f"[consort.flow.{key}] cannot be checked: subjects lacks column {column}",
        )
    flow = consort_flow(ctx.trial, ctx.protocol)
    note = _arithmetic(attested.totals)
    reported = False
    for c in flow.attested_mismatches:
        if c.arm and unchecked:
            continue
        reported = reported or (c.key in FLOW_TOTALS)
        yield at_trial(
            table="manifest",
            column=c.key,
            value=c.left,
            message=_message(c, flow, note if c.key in FLOW_TOTALS else ""),
        )
    if note and not reported:
        yield at_trial(
            table="manifest",
            column="assessed_for_eligibility",
            value=attested.totals.get("assessed_for_eligibility"),
            message=f"[consort.flow]{note[1:]}; correct the attested counts",
        )


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
    sf = ctx.isin("subjects", "disposition", ["screen_failure"])
    coded = ~ctx.blank("subjects", "disposition")
    bad = no & coded & ~sf
    if bad.any():
        yield at_rows(
            s[bad],
            table="subjects",
            column="disposition",
            message="not randomised, so disposition must be screen_failure",
        )
    if "discontinuation_reason" not in ctx.missing("subjects"):
        bad = no & ctx.blank("subjects", "discontinuation_reason")
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
        bad = yes & ctx.blank("subjects", col)
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
    bad = left & ctx.blank("subjects", "discontinuation_reason")
    if bad.any():
        rows = s[bad]
        yield at_rows(
            rows,
            table="subjects",
            column="discontinuation_reason",
            value=None,
            message=rows["disposition"].astype(str)
            + " without a reason; record why (CONSORT asks reasons for every loss)",
            pattern="discontinued or lost to follow-up without a reason; record why "
            "(CONSORT asks reasons for every loss)",
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
    ctx.need("measurements", "subject_id", "visit")
    if ctx.final is None:
        raise NotApplicable("the manifest declares no visits (see SCH-001)")
    final = ctx.final.id
    codes, uniques = ctx.codes("measurements", "subject_id")
    at_final = set(codes[ctx.isin("measurements", "visit", [final])].tolist()) - {-1}
    seen = {uniques[c] for c in at_final}  # subjects measured at the final visit
    completed = ctx.isin("subjects", "disposition", ["completed"])
    bad = (
        completed & ~ctx.blank("subjects", "subject_id") & ~ctx.isin("subjects", "subject_id", seen)
    )
    if bad.any():
        yield at_rows(
            s[bad],
            table="subjects",
            column="disposition",
            message=f"completed but no measurement at the final visit {final}; correct the "
            "disposition or add the final-visit data",
        )


#: This module's rules, in order (joined by :data:`efficacy.validation.registry.DATA_RULES`).
RULES: tuple[Rule, ...] = (
    check_flow,
    check_randomisation,
    check_populations,
    check_reasons,
    check_attested,
    check_completers,
)
