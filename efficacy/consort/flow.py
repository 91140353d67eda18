"""CONSORT participant (and body-site) flow counted from the subjects table.

:func:`consort_flow` counts every box of the CONSORT flow diagram from the data
(FACTS.md 1.3): enrolment (assessed, excluded by reason, randomised), allocation
(allocated, received, not received), follow-up (lost to follow-up, discontinued, with
reasons) and analysis (analysed, excluded from analysis, with reasons), per arm. For a
split-face (within-person) trial every per-arm box counts participants **and** body
sites, as the CONSORT within-person extension asks (Pandis et al. BMJ 2017;357:j2835):
a *group* is the set of body sites allocated one intervention.

The arithmetic rules of FACTS.md 1.3 are checked on the counts and against the counts
the bundle attests in ``[consort.flow]``; every mismatch is listed in
:attr:`Flow.checks` (nothing is corrected silently).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from efficacy.consort._flowdata import Unit, Units, primary_endpoint, units_frame
from efficacy.errors import EfficacyError
from efficacy.protocol import Protocol
from efficacy.trial import Trial

__all__ = ["DEFINITIONS", "ArmFlow", "Check", "Flow", "Tally", "consort_flow"]

#: How each count is defined (shown in the report beside the diagram).
DEFINITIONS: Mapping[str, str] = {
    "assessed": "distinct subject_id rows of the subjects table (screened people included)",
    "excluded": "assessed people with randomized = false, by discontinuation_reason",
    "randomised": "people with randomized = true",
    "allocated": "randomised people with this arm (split-face: body sites allocated this "
    "arm in `allocation`, and the participants they belong to)",
    "received": "allocated people in the safety population (safety = true: at least one "
    "application); not counted when the safety column is empty",
    "lost_to_follow_up": "allocated people with disposition lost_to_follow_up, by reason",
    "discontinued": "allocated people with disposition discontinued, by reason",
    "analysed": "allocated people in the ITT population (itt = true) with at least one "
    "post-baseline measurement of the primary endpoint (split-face: at that body site); "
    "any endpoint when the protocol names no primary endpoint",
    "excluded_from_analysis": "allocated minus analysed, by reason (not in the ITT "
    "population; no post-baseline primary measurement)",
    "paired_analysed": "split-face only: ITT participants with the primary endpoint "
    "measured at a site of every arm at the same post-baseline visit (a within-person "
    "difference exists)",
}

#: The definitions of a parallel-group trial: no split-face clauses, no paired box.
_PARALLEL_DEFINITIONS: Mapping[str, str] = {
    **{k: v for k, v in DEFINITIONS.items() if k != "paired_analysed"},
    "allocated": "randomised people with this arm",
    "analysed": "allocated people in the ITT population (itt = true) with at least one "
    "post-baseline measurement of the primary endpoint; any endpoint when the protocol "
    "names no primary endpoint",
}

_NO_REASON = "reason not recorded"
_NOT_ITT = "not in the ITT population"
_NO_PRIMARY = "no post-baseline primary-endpoint measurement"
_NO_VALUE = "no post-baseline measurement"  # no primary named (ADaM parameters)
_NOT_RECEIVED = "not in the safety population (no application recorded)"


@dataclass(frozen=True)
class Tally:
    """One box of the diagram: participants, body sites (split-face) and reasons.

    Attributes
    ----------
    n : int
        Participants.
    sites : int or None
        Body sites (split-face designs); None for parallel designs.
    reasons : tuple of (str, int)
        Participants per reason, most frequent first (ties by reason), when the box
        asks for reasons; empty otherwise.
    """

    n: int
    sites: int | None = None
    reasons: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: ``n``, ``sites``, ``reasons`` (list of {reason, n})."""
        return {
            "n": self.n,
            "sites": self.sites,
            "reasons": [{"reason": r, "n": k} for r, k in self.reasons],
        }


@dataclass(frozen=True)
class ArmFlow:
    """The allocation, follow-up and analysis boxes of one arm.

    ``received`` and ``not_received`` are None when the safety column is empty for
    every allocated person (receipt not recorded).
    """

    arm: str
    label: str
    control: bool
    allocated: Tally
    received: Tally | None
    not_received: Tally | None
    lost_to_follow_up: Tally
    discontinued: Tally
    analysed: Tally
    excluded_from_analysis: Tally

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form of every box (None where not recorded)."""
        boxes = (
            "allocated",
            "received",
            "not_received",
            "lost_to_follow_up",
            "discontinued",
            "analysed",
            "excluded_from_analysis",
        )
        out: dict[str, Any] = {"arm": self.arm, "label": self.label, "control": self.control}
        for name in boxes:
            tally = getattr(self, name)
            out[name] = None if tally is None else tally.to_dict()
        return out


@dataclass(frozen=True)
class Check:
    """One arithmetic rule of the flow diagram, evaluated.

    Attributes
    ----------
    id : str
        Stable id, e.g. ``"assessed=excluded+randomised"``.
    rule : str
        The rule in words.
    left, right : int
        The two sides compared.
    relation : {"=", "<="}
    ok : bool
    detail : str
        What differs, or empty.
    key : str
        For a check of an attested count: its ``[consort.flow]`` key (``left`` is the
        attested count, ``right`` the data's); empty for the data's own arithmetic.
    arm : str
        For an attested per-arm count: the arm id; empty otherwise.
    """

    id: str
    rule: str
    left: int
    right: int
    relation: str
    ok: bool
    detail: str = ""
    key: str = ""
    arm: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "id": self.id,
            "rule": self.rule,
            "left": self.left,
            "right": self.right,
            "relation": self.relation,
            "ok": self.ok,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Flow:
    """The CONSORT flow of a trial, counted from its data.

    Attributes
    ----------
    trial_id, design : str
    primary_endpoint : str or None
        Endpoint whose post-baseline measurement defines "analysed".
    assessed, excluded, randomised : Tally
        Enrolment boxes (``excluded.reasons``: each recorded reason).
    excluded_categories : tuple of (str, int)
        Excluded people in the CONSORT template's three categories: not meeting
        inclusion criteria (reason starting "not eligible"), declined to participate
        (reason mentioning "declin"), other reasons.
    arms : tuple of ArmFlow
        One per declared arm, in manifest order (plus any undeclared arm found in the
        data, after them).
    paired_analysed : Tally or None
        Split-face only (see :data:`DEFINITIONS`).
    checks : tuple of Check
        Every arithmetic rule evaluated; :attr:`ok` is True when all hold.
    """

    trial_id: str
    design: str
    primary_endpoint: str | None
    assessed: Tally
    excluded: Tally
    excluded_categories: tuple[tuple[str, int], ...]
    randomised: Tally
    arms: tuple[ArmFlow, ...]
    paired_analysed: Tally | None
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when every arithmetic check holds."""
        return all(c.ok for c in self.checks)

    @property
    def split_face(self) -> bool:
        """True for a within-person (split-face) design."""
        return self.design == "split_face"

    @property
    def mismatches(self) -> tuple[Check, ...]:
        """The checks that fail."""
        return tuple(c for c in self.checks if not c.ok)

    @property
    def attested_mismatches(self) -> tuple[Check, ...]:
        """The attested ``[consort.flow]`` counts that differ from the data's.

        Validation (CON-001) reports exactly these, so the report's diagram and the
        validation findings show the same disagreement.
        """
        return tuple(c for c in self.mismatches if c.key)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data (JSON-ready) form, with the box definitions of this design.

        Split-face: :data:`DEFINITIONS`; parallel groups: the same without the
        split-face clauses and the paired box.
        """
        return {
            "trial_id": self.trial_id,
            "design": self.design,
            "primary_endpoint": self.primary_endpoint,
            "assessed": self.assessed.to_dict(),
            "excluded": self.excluded.to_dict(),
            "excluded_categories": [{"category": c, "n": n} for c, n in self.excluded_categories],
            "randomised": self.randomised.to_dict(),
            "arms": [a.to_dict() for a in self.arms],
            "paired_analysed": (
                None if self.paired_analysed is None else self.paired_analysed.to_dict()
            ),
            "checks": [c.to_dict() for c in self.checks],
            "ok": self.ok,
            "definitions": dict(DEFINITIONS if self.split_face else _PARALLEL_DEFINITIONS),
        }


def consort_flow(
    trial: Trial, protocol: Protocol | None = None, *, primary: str | None = None
) -> Flow:
    """Count the CONSORT flow diagram of `trial` from its subjects and measurements.

    Parameters
    ----------
    trial : Trial
        The trial (not modified).
    protocol : Protocol, optional
        Its ``[analysis] primary`` endpoint defines "analysed" (see :data:`DEFINITIONS`).
    primary : str, optional
        Primary endpoint id overriding the protocol's.

    Returns
    -------
    Flow
        Every box of the diagram and the arithmetic checks (see :class:`Flow`).

    Raises
    ------
    EfficacyError
        If `trial` is not a :class:`~efficacy.trial.Trial`.

    Notes
    -----
    Checks (FACTS.md 1.3, derived from the box definitions): assessed = excluded +
    randomised; excluded = sum of its reasons; randomised = sum of allocated over arms
    (parallel; split-face: every randomised participant has a site in every arm);
    allocated = received + not received; allocated = completed + lost + discontinued
    (every randomised person has a follow-up disposition); analysed + excluded from
    analysis = allocated; each attested ``[consort.flow]`` count equals the data's.
    Counts were checked by hand on small trials (tests/consort/test_flow_counts.py) and
    against the sample bundles' READMEs (disposition table by arm). Counted once per
    trial and primary endpoint (memoised on the trial; the Flow is immutable).
    """
    if not isinstance(trial, Trial):
        raise EfficacyError(
            f"trial must be an efficacy Trial, not {type(trial).__name__}; read one with "
            "efficacy.read_trial(path)"
        )
    endpoint = primary or primary_endpoint(protocol, trial)
    # one flow per trial and primary endpoint: validation (CON-001), the checklist and
    # the report read the same object (Flow is immutable)
    return trial._memo(f"consort_flow:{endpoint}", lambda _: _count(trial, endpoint))


def _count(trial: Trial, endpoint: str | None) -> Flow:
    units = units_frame(trial, endpoint)
    people = units.people
    excluded = [p.reason for p in people if p.randomized is False]
    randomised = sum(p.randomized is True for p in people)
    excluded_tally = Tally(len(excluded), None, _reasons(excluded))
    arms = tuple(_arm_flow(units, arm, endpoint) for arm in units.arm_order)
    paired = _paired(units) if units.split_face else None
    flow_checks = _checks(units, len(people), excluded_tally, randomised, arms, trial)
    return Flow(
        trial_id=trial.manifest.id,
        design=trial.manifest.design,
        primary_endpoint=endpoint,
        assessed=Tally(len(people)),
        excluded=excluded_tally,
        excluded_categories=_categories(excluded),
        randomised=Tally(randomised, units.total_sites),
        arms=arms,
        paired_analysed=paired,
        checks=flow_checks,
    )


def _reasons(reasons: list[str | None]) -> tuple[tuple[str, int], ...]:
    """Count people per reason (blank -> 'reason not recorded'), most frequent first."""
    counts = Counter(r if r else _NO_REASON for r in reasons)
    return tuple(sorted(((str(k), v) for k, v in counts.items()), key=lambda t: (-t[1], t[0])))


def _categories(reasons: list[str | None]) -> tuple[tuple[str, int], ...]:
    # stripped and lower-cased by Arrow, as pandas' text methods do (Arrow's lower case
    # of a few letters differs from Python's: the counts stay those of the Arrow text)
    text = pa.array([r if r else "" for r in reasons], type=pa.large_string())
    lower = pc.utf8_lower(pc.utf8_trim_whitespace(text)).to_pylist()
    not_eligible = [t.startswith("not eligible") or "inclusion" in t for t in lower]
    declined = [not n and "declin" in t for t, n in zip(lower, not_eligible, strict=True)]
    n_not, n_declined = sum(not_eligible), sum(declined)
    return (
        ("Not meeting inclusion criteria", n_not),
        ("Declined to participate", n_declined),
        ("Other reasons", len(lower) - n_not - n_declined),
    )


def _tally(rows: list[Unit], split_face: bool, reasons: list[str | None] | None = None) -> Tally:
    """Participants (distinct subjects) and sites (rows, split-face) of `rows`.

    `reasons` (one per row): each participant is counted under the reason of their first row.
    """
    first: dict[Any, int] = {}
    for i, u in enumerate(rows):
        first.setdefault(u.subject_id, i)
    sites = len(rows) if split_face else None
    if reasons is None:
        return Tally(len(first), sites)
    return Tally(len(first), sites, _reasons([reasons[i] for i in first.values()]))


def _arm_flow(units: Units, arm: str, endpoint: str | None) -> ArmFlow:
    u = [x for x in units.units if x.arm == arm]
    sf = units.split_face
    recorded = any(x.safety is not None for x in u)
    received = [x for x in u if x.safety is True]
    not_received = [x for x in u if x.safety is not True]
    lost = [x for x in u if x.disposition == "lost_to_follow_up"]
    disc = [x for x in u if x.disposition == "discontinued"]
    analysed = [x for x in u if x.analysed]
    excl = [x for x in u if not x.analysed]
    no_value = _NO_PRIMARY if endpoint is not None else _NO_VALUE
    why = [no_value if x.itt else _NOT_ITT for x in excl]
    declared = units.arms.get(arm)
    return ArmFlow(
        arm=arm,
        label=declared.label if declared else f"{arm} (not declared in [[arms]])",
        control=bool(declared and declared.control),
        allocated=_tally(u, sf),
        received=_tally(received, sf) if recorded else None,
        not_received=(
            _tally(not_received, sf, [_NOT_RECEIVED] * len(not_received)) if recorded else None
        ),
        lost_to_follow_up=_tally(lost, sf, [x.reason for x in lost]),
        discontinued=_tally(disc, sf, [x.reason for x in disc]),
        analysed=_tally(analysed, sf),
        excluded_from_analysis=_site_reasons(excl, why, sf),
    )


def _site_reasons(rows: list[Unit], why: list[str], split_face: bool) -> Tally:
    """Excluded-from-analysis tally; reasons count participants (sites in split-face)."""
    tally = _tally(rows, split_face)
    reasons = tuple(sorted(Counter(why).items()))
    if split_face:  # reasons are per site here: a participant may lose one site only
        return Tally(tally.n, tally.sites, reasons)
    return Tally(tally.n, None, reasons)


def _paired(units: Units) -> Tally:
    n = len(units.paired_subjects)
    return Tally(n, n * len(units.arm_order) if units.arm_order else 0)


def _checks(
    units: Units,
    assessed: int,
    excluded: Tally,
    randomised: int,
    arms: tuple[ArmFlow, ...],
    trial: Trial,
) -> tuple[Check, ...]:
    out = [
        _eq(
            "assessed=excluded+randomised",
            "assessed = excluded + randomised",
            assessed,
            excluded.n + randomised,
        ),
        _eq(
            "excluded=sum(reasons)",
            "excluded = sum of the exclusion reasons",
            excluded.n,
            sum(k for _, k in excluded.reasons),
        ),
    ]
    if units.unknown_randomised:
        out.append(
            _eq(
                "randomized recorded",
                "every assessed person has randomized true or false",
                0,
                units.unknown_randomised,
                f"{units.unknown_randomised} people have no randomized value",
            )
        )
    if units.split_face:
        for a in arms:
            out.append(
                _eq(
                    f"randomised=allocated[{a.arm}]",
                    f"randomised participants = participants with a site allocated {a.arm}",
                    randomised,
                    a.allocated.n,
                )
            )
    else:
        out.append(
            _eq(
                "randomised=sum(allocated)",
                "randomised = sum of allocated over arms",
                randomised,
                sum(a.allocated.n for a in arms),
                units.unallocated_detail,
            )
        )
    for a in arms:
        out.extend(_arm_checks(a, units))
    out.extend(_attested(trial, assessed, excluded, randomised, arms))
    return tuple(out)


def _arm_checks(a: ArmFlow, units: Units) -> list[Check]:
    unit = "sites" if units.split_face else "participants"

    def count(t: Tally | None) -> int:
        if t is None:
            return 0
        return int(t.sites) if units.split_face and t.sites is not None else t.n

    size = count(a.allocated)

    done = sum(u.arm == a.arm and u.disposition == "completed" for u in units.units)
    out = []
    if a.received is not None:
        out.append(
            _eq(
                f"allocated=received+not_received[{a.arm}]",
                f"{a.arm}: allocated = received + did not receive ({unit})",
                size,
                count(a.received) + count(a.not_received),
            )
        )
    follow = done + count(a.lost_to_follow_up) + count(a.discontinued)
    out.append(
        _eq(
            f"allocated=completed+lost+discontinued[{a.arm}]",
            f"{a.arm}: allocated = completed + lost to follow-up + discontinued ({unit})",
            size or 0,
            follow,
            ""
            if size == follow
            else f"{(size or 0) - follow} {unit} have another or no disposition",
        )
    )
    out.append(
        _eq(
            f"allocated=analysed+excluded[{a.arm}]",
            f"{a.arm}: analysed + excluded from analysis = allocated ({unit})",
            size or 0,
            count(a.analysed) + count(a.excluded_from_analysis),
        )
    )
    return out


def _attested(
    trial: Trial, assessed: int, excluded: Tally, randomised: int, arms: tuple[ArmFlow, ...]
) -> list[Check]:
    """Attested ``[consort.flow]`` counts against the data's.

    Only counts of the right type and shape are compared (:attr:`Manifest.attested_flow
    <efficacy.trial.Manifest.attested_flow>`); the others are manifest problems.
    """
    attested = trial.manifest.attested_flow
    data = {"assessed_for_eligibility": assessed, "excluded": excluded.n, "randomised": randomised}
    per_arm = {
        "allocated": {a.arm: a.allocated.n for a in arms},
        "lost_to_follow_up": {a.arm: a.lost_to_follow_up.n for a in arms},
        "discontinued": {a.arm: a.discontinued.n for a in arms},
        "analysed": {a.arm: a.analysed.n for a in arms},
    }
    out = [
        _eq(f"attested:{key}", f"[consort.flow] {key} (attested) = data", n, data[key], key=key)
        for key, n in attested.totals.items()
    ]
    for key, table in attested.per_arm.items():
        for arm, n in table.items():
            out.append(
                _eq(
                    f"attested:{key}[{arm}]",
                    f"[consort.flow] {key} {arm} (attested) = data",
                    n,
                    per_arm[key].get(arm, 0),
                    key=key,
                    arm=arm,
                )
            )
    if attested.excluded_reasons is not None:
        out.append(
            _eq(
                "attested:excluded_reasons",
                "[consort.flow] excluded_reasons add up to the data's excluded",
                sum(attested.excluded_reasons.values()),
                excluded.n,
                key="excluded_reasons",
            )
        )
    return out


def _eq(
    cid: str, rule: str, left: int, right: int, detail: str = "", *, key: str = "", arm: str = ""
) -> Check:
    ok = left == right
    if not ok and not detail:
        detail = f"{left} != {right} (difference {left - right})"
    return Check(cid, rule, int(left), int(right), "=", ok, "" if ok else detail, key, arm)
