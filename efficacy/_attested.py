"""What ``[consort.flow]`` in trial.toml may attest, checked for shape (one schema).

The manifest reader, the CONSORT flow and validation read the same
:func:`attested_flow`; :mod:`efficacy.trial` re-exports everything here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FLOW_COUNTS", "FLOW_PER_ARM", "FLOW_TOTALS", "AttestedFlow", "attested_flow"]


#: Totals ``[consort.flow]`` may attest, one whole number each. What each counts is
#: defined once, by :func:`efficacy.consort.consort_flow` (``DEFINITIONS``).
FLOW_TOTALS: tuple[str, ...] = ("assessed_for_eligibility", "excluded", "randomised")

#: Per-arm counts ``[consort.flow]`` may attest, each a table of arm id = whole number,
#: e.g. ``analysed = {ACTIVE = 60, VEHICLE = 59}`` (split-face: participants per arm).
FLOW_PER_ARM: tuple[str, ...] = ("allocated", "lost_to_follow_up", "discontinued", "analysed")

#: Every key ``[consort.flow]`` accepts: the totals, the per-arm tables, and
#: ``excluded_reasons`` (a table of reason = whole number, adding up to ``excluded``).
FLOW_COUNTS: tuple[str, ...] = (*FLOW_TOTALS, *FLOW_PER_ARM, "excluded_reasons")


@dataclass(frozen=True)
class AttestedFlow:
    """The counts ``trial.toml`` attests in ``[consort.flow]``, checked for shape.

    Attributes
    ----------
    totals : Mapping[str, int]
        Valid attested totals (keys of :data:`FLOW_TOTALS`).
    per_arm : Mapping[str, Mapping[str, int]]
        Valid attested per-arm counts: key of :data:`FLOW_PER_ARM` -> arm id -> count.
    excluded_reasons : Mapping[str, int] or None
        Attested exclusion reasons (reason -> count), None when not attested.
    problems : tuple of (str, object, str)
        One ``(key path, value, problem with its fix)`` per entry left out because its
        key is unknown or its value has the wrong type or shape; the manifest reader and
        validation (SCH-001) report them.
    """

    totals: Mapping[str, int]
    per_arm: Mapping[str, Mapping[str, int]]
    excluded_reasons: Mapping[str, int] | None
    problems: tuple[tuple[str, object, str], ...] = ()

    @property
    def attested(self) -> bool:
        """True when at least one valid count is attested."""
        return bool(self.totals or self.per_arm or self.excluded_reasons is not None)


def _what(value: object) -> str | None:
    """Why `value` is not a count (a whole number >= 0), or None if it is one."""
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int):
        return None if value >= 0 else f"a negative number ({value})"
    if isinstance(value, float):
        return f"a decimal number ({value!r})"
    if isinstance(value, str):
        return f"text ({value!r}; write the number without quotes)"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def attested_flow(consort: object, arm_ids: tuple[str, ...] = ()) -> AttestedFlow:
    """Read the ``[consort.flow]`` counts of a ``[consort]`` section (never raises).

    Parameters
    ----------
    consort : Mapping
        The manifest's ``[consort]`` table (anything else attests nothing).
    arm_ids : tuple of str
        The declared ``[[arms]]`` ids; a per-arm table must give a count for each of
        them and no other (not checked when empty).

    Returns
    -------
    AttestedFlow
        The counts of the right type and shape, and a problem for every other entry.

    Examples
    --------
    >>> f = attested_flow({"flow": {"randomised": 120, "analysed": {"A": 60, "B": "59"}}},
    ...                   ("A", "B"))
    >>> dict(f.totals), {k: dict(v) for k, v in f.per_arm.items()}
    ({'randomised': 120}, {'analysed': {'A': 60}})
    >>> f.problems[0][0]
    'consort.flow.analysed.B'
    """
    flow = consort.get("flow") if isinstance(consort, Mapping) else None
    if flow is None:
        return AttestedFlow({}, {}, None)
    if not isinstance(flow, Mapping):
        problem = f"'flow' must be a [consort.flow] table of counts; got {_what(flow)}"
        return AttestedFlow({}, {}, None, (("consort.flow", flow, problem),))
    totals: dict[str, int] = {}
    per_arm: dict[str, dict[str, int]] = {}
    reasons: dict[str, int] | None = None
    problems: list[tuple[str, object, str]] = []
    example = "{" + ", ".join(f"{a} = 60" for a in (arm_ids or ("ACTIVE", "VEHICLE"))) + "}"
    for key, value in flow.items():
        path = f"consort.flow.{key}"
        if key in FLOW_TOTALS:
            bad = _what(value)
            if bad is None:
                totals[key] = int(value)
            else:
                problems.append(
                    (
                        path,
                        value,
                        f"{key!r} must be a whole number (0 or more), e.g. {key} = 120; got {bad}",
                    )
                )
        elif key in FLOW_PER_ARM or key == "excluded_reasons":
            if not isinstance(value, Mapping):
                shape = (
                    f"{example}"
                    if key != "excluded_reasons"
                    else '{"not eligible" = 20, "declined" = 10}'
                )
                what = "arm id" if key != "excluded_reasons" else "reason"
                problems.append(
                    (
                        path,
                        value,
                        f"{key!r} must be a table of {what} = whole number, e.g. "
                        f"{key} = {shape}; got {_what(value) or 'a single number'}",
                    )
                )
                continue
            counts: dict[str, int] = {}
            for name, n in value.items():
                bad = _what(n)
                if bad is None:
                    counts[str(name)] = int(n)
                else:
                    problems.append(
                        (
                            f"{path}.{name}",
                            n,
                            f"{key!r} count of {name!r} must be a whole "
                            f"number (0 or more); got {bad}",
                        )
                    )
            if key == "excluded_reasons":  # a sum with a bad entry left out means nothing
                reasons = counts if len(counts) == len(value) else None
                continue
            problems.extend(_arm_problems(key, path, value, arm_ids))
            known = {a: n for a, n in counts.items() if not arm_ids or a in arm_ids}
            if known:
                per_arm[key] = known
        else:
            problems.append(
                (
                    path,
                    value,
                    f"{key!r} is not a [consort.flow] count and is not checked; "
                    f"use one of: {', '.join(FLOW_COUNTS)}",
                )
            )
    return AttestedFlow(totals, per_arm, reasons, tuple(problems))


def _arm_problems(
    key: str, path: str, table: Mapping[str, Any], arm_ids: tuple[str, ...]
) -> list[tuple[str, object, str]]:
    """Arms of a per-arm table that are not declared, and declared arms it omits."""
    if not arm_ids:
        return []
    out: list[tuple[str, object, str]] = []
    for name in table:
        if name not in arm_ids:
            out.append(
                (
                    f"{path}.{name}",
                    table[name],
                    f"{key!r} names arm {name!r}, which is not "
                    f"declared in [[arms]]; use the arm ids {', '.join(arm_ids)}",
                )
            )
    lacking = [a for a in arm_ids if a not in table]
    if lacking:
        out.append(
            (
                path,
                None,
                f"{key!r} gives no count for arm(s) {', '.join(lacking)}; attest a "
                "count for every [[arms]] id",
            )
        )
    return out
