"""Parse ``trial.toml`` into a :class:`~efficacy.trial.Manifest`, collecting problems.

Syntax errors (not TOML at all) raise :class:`~efficacy.errors.InputError`; semantic
problems never raise. The loader keeps what it can (defaults: empty strings, NaN, 0) and
records each problem as an issue with ``table = "manifest"`` and ``column`` = the key
path: ``trial.design``, ``arms[2].id``, ``visits[3].day``, ``tables.subjects``,
``consort.flow.randomised``. Array entries are numbered from 1 in the order written
(``visits[3]`` is the third ``[[visits]]`` block).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from efficacy.errors import InputError
from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.io._convert import grouped_issues
from efficacy.trial import (
    CLAIM_CATEGORIES,
    DESIGNS,
    REFERENCE_FILES,
    TABLE_SCHEMAS,
    Arm,
    Claim,
    Manifest,
    Visit,
    attested_flow,
)

__all__ = ["parse_claims", "parse_manifest", "refuse_duplicate_ids"]


class _Issue(NamedTuple):
    """One manifest issue: key path, the value shown (None when absent), the problem."""

    column: str
    value: str | None
    problem: str


class _Problems:
    """Collects manifest issues as rows of the issues frame (table ``manifest``)."""

    def __init__(self) -> None:
        self.rows: list[_Issue] = []

    def add(self, column: str, value: object, problem: str) -> None:
        shown = None if value is None else str(value)
        self.rows.append(_Issue(column, shown, problem))

    def frame(self) -> pd.DataFrame:
        none = np.array([None], dtype=object)
        return grouped_issues(
            "manifest", [(r.column, none, [r.value], str(r.problem)) for r in self.rows]
        )


def _text(p: _Problems, where: Mapping[str, Any], key: str, path: str, required: bool) -> str:
    value = where.get(key)
    if value is None:
        if required:
            p.add(path, None, f'missing {key!r}: add {key} = "..."')
        return ""
    if not isinstance(value, str):
        p.add(path, value, f"{key!r} must be a quoted string, got {type(value).__name__}")
        return ""
    if required and not value.strip():
        p.add(path, value, f"{key!r} is empty")
    return value.strip()


def _number(p: _Problems, where: Mapping[str, Any], key: str, path: str, whole: bool) -> float:
    """Read a number (``whole``: an integer); NaN and an issue when missing or wrong."""
    value = where.get(key)
    what = "a whole number" if whole else "a number"
    if value is None:
        p.add(path, None, f"missing {key!r}: add {key} = <{what}>")
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        p.add(path, value, f"{key!r} must be {what}, got {value!r}")
        return math.nan
    if whole and value != int(value):
        p.add(path, value, f"{key!r} must be {what}, got {value!r}")
        return math.nan
    return float(value)


def _section(p: _Problems, raw: Mapping[str, Any], key: str, required: bool) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            p.add(key, None, f"missing [{key}] section")
        return {}
    if not isinstance(value, dict):
        p.add(key, value, f"{key!r} must be a [{key}] table, got {type(value).__name__}")
        return {}
    return value


def _entries(p: _Problems, raw: Mapping[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    value = raw.get(key)
    if value is None or value == []:
        p.add(key, None, f"no [[{key}]] entries: declare at least one")
        return []
    if not isinstance(value, list):
        p.add(key, value, f"{key!r} must be an array of tables ([[{key}]] blocks)")
        return []
    out = []
    for i, entry in enumerate(value, start=1):
        if isinstance(entry, dict):
            out.append((f"{key}[{i}]", entry))
        else:
            p.add(f"{key}[{i}]", entry, f"[[{key}]] entry {i} must be a table of keys")
    return out


def _parse_arms(p: _Problems, raw: Mapping[str, Any]) -> tuple[Arm, ...]:
    arms: list[Arm] = []
    for path, entry in _entries(p, raw, "arms"):
        arm_id = _text(p, entry, "id", f"{path}.id", required=True)
        label = _text(p, entry, "label", f"{path}.label", required=True) or arm_id
        control = entry.get("control", False)
        if not isinstance(control, bool):
            p.add(f"{path}.control", control, "'control' must be true or false")
            control = False
        arms.append(Arm(id=arm_id, label=label, control=control))
    return tuple(arms)


def _parse_visit(p: _Problems, path: str, entry: Mapping[str, Any], base_day: int) -> Visit:
    visit_id = _text(p, entry, "id", f"{path}.id", required=True)
    week = _number(p, entry, "week", f"{path}.week", whole=False)
    if "day" not in entry and not math.isnan(week):
        day: float = round(week * 7) + base_day
        p.add(f"{path}.day", None, f"missing 'day': assumed {int(day)} from week {week:g}")
    else:
        day = _number(p, entry, "day", f"{path}.day", whole=True)
    window = 0.0
    if "window_days" not in entry:
        p.add(f"{path}.window_days", None, "missing 'window_days': assumed 0 (no window)")
    else:
        window = _number(p, entry, "window_days", f"{path}.window_days", whole=True)
        if math.isnan(window):
            window = 0.0
        elif window < 0:
            p.add(f"{path}.window_days", int(window), "'window_days' must be 0 or more")
            window = 0.0
    return Visit(
        id=visit_id,
        week=week,
        day=day if math.isnan(day) else int(day),  # type: ignore[arg-type]
        window_days=int(window),
    )


def _parse_visits(p: _Problems, raw: Mapping[str, Any], base_day: int) -> tuple[Visit, ...]:
    visits: list[Visit] = []
    for path, entry in _entries(p, raw, "visits"):
        visits.append(_parse_visit(p, path, entry, base_day))
    return tuple(visits)


def _parse_tables(p: _Problems, raw: Mapping[str, Any]) -> dict[str, str]:
    tables: dict[str, str] = {}
    for key, value in _section(p, raw, "tables", required=True).items():
        if key not in TABLE_SCHEMAS and key not in REFERENCE_FILES:
            p.add(
                f"tables.{key}",
                value,
                f"unknown table {key!r} ignored; known: "
                + ", ".join([*TABLE_SCHEMAS, *REFERENCE_FILES]),
            )
        elif not isinstance(value, str) or not value.strip():
            p.add(f"tables.{key}", value, f"'{key}' must be a file name such as \"{key}.csv\"")
        else:
            tables[key] = value.strip()
    return tables


def _parse_consort(p: _Problems, raw: Mapping[str, Any], arms: tuple[Arm, ...]) -> dict[str, Any]:
    """Read ``[consort]``; ``[consort.flow]`` is checked against the one flow schema.

    The schema (totals, per-arm tables, ``excluded_reasons``) is
    :func:`efficacy.trial.attested_flow`'s, the same the CONSORT flow and validation read.
    """
    consort = _section(p, raw, "consort", required=False)
    for path, value, problem in attested_flow(consort, tuple(a.id for a in arms if a.id)).problems:
        p.add(path, value, problem)
    return consort


def _parse_trial(p: _Problems, raw: Mapping[str, Any]) -> tuple[dict[str, str], int]:
    """Read ``[trial]``: id, title, design, baseline_visit (unchecked) and baseline_day."""
    has_section = isinstance(raw.get("trial"), dict)
    trial = _section(p, raw, "trial", required=True)
    keys = p if has_section else _Problems()  # no [trial]: one issue, not one per key
    out = {
        key: _text(keys, trial, key, f"trial.{key}", required=True)
        for key in ("id", "title", "design", "baseline_visit")
    }
    if out["design"] and out["design"] not in DESIGNS:
        p.add("trial.design", out["design"], "'design' must be one of: " + " | ".join(DESIGNS))
    base_day = trial.get("baseline_day", 0)
    if isinstance(base_day, bool) or base_day not in (0, 1):
        p.add("trial.baseline_day", base_day, "'baseline_day' must be 0 or 1")
        base_day = 0
    return out, int(base_day)


_CLAIM_KEYS = ("text", "category", "endpoint", "min_effect", "arm")


def _claim_arm(p: _Problems, path: str, entry: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    """Return the claim's ``arm`` ("" when it names none), checked against the active arms."""
    arm = _text(p, entry, "arm", path, required=False)
    if not arm:
        return arm
    # the one arms parser; its problems are reported where the arms are read
    arms = [a for a in _parse_arms(_Problems(), raw) if a.id]
    if not arms:  # no arm to check against (the arms' own problem is reported)
        return arm
    active = [a.id for a in arms if not a.control]
    if arm in {a.id for a in arms if a.control}:
        p.add(
            path,
            arm,
            f"arm {arm!r} is the control; a claim rests on an active arm: " + ", ".join(active),
        )
    elif arm not in active:
        p.add(path, arm, f"arm {arm!r} is not an [[arms]] id; use one of: " + ", ".join(active))
    return arm


def _parse_claim(
    p: _Problems, path: str, entry: Mapping[str, Any], raw: Mapping[str, Any]
) -> Claim | None:
    """One ``[[claims]]`` entry, or None (with one issue per problem) when it is unusable."""
    before = len(p.rows)
    for key in entry:
        if key not in _CLAIM_KEYS:
            p.add(
                f"{path}.{key}",
                entry[key],
                f"unknown key {key!r}; known: " + ", ".join(_CLAIM_KEYS),
            )
    text = _text(p, entry, "text", f"{path}.text", required=True)
    category = _text(p, entry, "category", f"{path}.category", required=True)
    if category and category not in CLAIM_CATEGORIES:
        p.add(
            f"{path}.category",
            category,
            "'category' must be one of: " + ", ".join(CLAIM_CATEGORIES),
        )
    endpoint = _text(p, entry, "endpoint", f"{path}.endpoint", required=True)
    effect = _number(p, entry, "min_effect", f"{path}.min_effect", whole=False)
    known = ENDPOINTS.get(endpoint)
    if endpoint and known is None:
        p.add(
            f"{path}.endpoint",
            endpoint,
            "'endpoint' must be a catalogue endpoint id, e.g. "
            "corneometer, cutometer_r2, wrinkle_rz",
        )
    elif known is not None and known.direction == "none":
        p.add(
            f"{path}.endpoint",
            endpoint,
            f"endpoint {endpoint!r} has no direction of "
            "improvement; a claim needs one (e.g. cutometer_r2, corneometer, wrinkle_rz)",
        )
    elif known is not None and not math.isnan(effect):
        sign = 1.0 if known.direction == "higher" else -1.0
        if effect * sign < 0:
            relation = ">= 0" if sign > 0 else "<= 0"
            p.add(
                f"{path}.min_effect",
                effect,
                f"'min_effect' must be {relation}: "
                f"{endpoint} improves when it is {known.direction}",
            )
    arm = _claim_arm(p, f"{path}.arm", entry, raw)
    if len(p.rows) > before:
        return None
    return Claim(
        text=text, category=category, endpoint=endpoint, min_effect=effect, arm=arm or None
    )


def _parse_claims(p: _Problems, raw: Mapping[str, Any]) -> tuple[Claim, ...]:
    """Read the optional ``[[claims]]`` entries; bad entries are issues and are left out."""
    if raw.get("claims") in (None, []):
        return ()
    claims = []
    for path, entry in _entries(p, raw, "claims"):
        claim = _parse_claim(p, path, entry, raw)
        if claim is not None:
            claims.append(claim)
    return tuple(claims)


def parse_claims(raw: Mapping[str, Any]) -> tuple[Claim, ...]:
    """Return the well-formed ``[[claims]]`` entries of a parsed ``trial.toml``.

    Bad entries are left out (:func:`parse_manifest` reports them as issues).
    """
    return _parse_claims(_Problems(), raw)


#: Manifest id lists: [[key]] blocks whose ``id`` keys the trial's data (word for messages).
_ID_LISTS: dict[str, str] = {"arms": "arm", "visits": "visit"}


def refuse_duplicate_ids(manifest: Manifest, path: Path | None) -> None:
    """Raise InputError when two ``[[arms]]`` or two ``[[visits]]`` share an id.

    Ids key every table (``subjects.arm``, ``measurements.visit``), so a repeated id
    makes the trial ambiguous: it is unusable input, refused before any validation or
    analysis. Ids are compared as read (surrounding whitespace stripped); blocks without
    an id are left to the manifest issues.

    Raises
    ------
    InputError
        One line: the manifest, the id, the two key paths (numbered from 1) and the fix.
    """
    for key, word in _ID_LISTS.items():
        first: dict[str, int] = {}
        for i, entry in enumerate(getattr(manifest, key), start=1):
            if not entry.id:
                continue
            if entry.id in first:
                raise InputError(
                    f"{path or 'manifest'}: [[{key}]] id {entry.id!r} is declared twice "
                    f"({key}[{first[entry.id]}].id and {key}[{i}].id); give every {word} "
                    "its own id"
                )
            first[entry.id] = i


def parse_manifest(raw: Mapping[str, Any], path: Path | None) -> tuple[Manifest, pd.DataFrame]:
    """Build a :class:`Manifest` from parsed TOML; return it with its issues frame."""
    p = _Problems()
    trial, base_day = _parse_trial(p, raw)
    arms = _parse_arms(p, raw)
    visits = _parse_visits(p, raw, base_day)
    baseline = trial["baseline_visit"]
    if baseline and visits and baseline not in {v.id for v in visits}:
        p.add(
            "trial.baseline_visit", baseline, f"baseline_visit {baseline!r} is not a [[visits]] id"
        )
    manifest = Manifest(
        id=trial["id"],
        title=trial["title"],
        design=trial["design"],
        baseline_visit=baseline,
        arms=arms,
        visits=visits,
        tables=_parse_tables(p, raw),
        consort=_parse_consort(p, raw, arms),
        path=path,
        raw=dict(raw),
    )
    _parse_claims(p, raw)  # issues only: Manifest.claims reads the same parser
    return manifest, p.frame()
