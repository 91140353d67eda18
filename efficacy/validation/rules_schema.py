"""Schema rules (SCH-*): the manifest, tables, columns, cell types and coded values.

Every check is vectorised over the table: boolean masks select the offending rows and
:func:`~efficacy.validation.findings.at_rows` turns them into findings in one step.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator
from typing import Any

import pandas as pd

from efficacy.instruments.catalogue import CANONICAL_UNITS, ENDPOINTS
from efficacy.trial import DESIGNS, DISPOSITIONS, OPTIONAL_TABLES, TABLE_SCHEMAS
from efficacy.validation._rule import Rule, rule
from efficacy.validation.context import Context, cell_rows
from efficacy.validation.findings import (
    CouldNotRun,
    NotApplicable,
    Part,
    at_rows,
    at_trial,
    text_by,
)

_INTEGRITY = "data integrity"
_CONTRACT = "bundle format (README, trial.py TABLE_SCHEMAS)"
_REQUIRED_TABLES = {"subjects": "error", "measurements": "error"}
_RECORD_TABLES = ("measurements", "pro_responses", "adverse_events")
_AE_SEVERITIES = ("mild", "moderate", "severe")


def _suggest(value: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _manifest_direct(ctx: Context) -> list[dict[str, Any]]:
    """Manifest problems visible on the parsed Manifest (column = manifest key)."""
    m = ctx.manifest
    out: list[dict[str, Any]] = []

    def add(column: str, value: object, message: str) -> None:
        out.append(at_trial(table="manifest", column=column, value=value, message=message))

    for key in ("id", "title"):
        if not isinstance(getattr(m, key), str) or not getattr(m, key).strip():
            add(key, None, f"[trial] {key} is empty; set it in trial.toml")
    if m.design not in DESIGNS:
        add(
            "design",
            m.design,
            f"[trial] design {m.design!r} is not one of {', '.join(DESIGNS)}"
            f"{_suggest(m.design, DESIGNS)}; set it in trial.toml",
        )
    if not m.arms:
        add("arms", None, "trial.toml has no [[arms]]; declare each arm with id, label, control")
    arm_ids = [a.id for a in m.arms]
    for i, a in enumerate(m.arms, start=1):
        if not isinstance(a.id, str) or not a.id.strip():
            add("arms", None, f"[[arms]] number {i} has no id; give every arm an id")
    for dup in sorted({a for a in arm_ids if a and arm_ids.count(a) > 1}):
        add("arms", dup, f"arm id {dup!r} is declared more than once in [[arms]]; make ids unique")
    out += _manifest_visits(ctx)
    for path, value, problem in m.attested_flow.problems:  # the reader's own check
        add(path, value, f"trial.toml: {problem}")
    if m.visits and m.baseline_visit not in ctx.visits:
        add(
            "baseline_visit",
            m.baseline_visit,
            f"[trial] baseline_visit {m.baseline_visit!r} is not a [[visits]] id"
            f"{_suggest(m.baseline_visit or '', list(ctx.visits))}; use one of "
            f"{', '.join(ctx.visits)}",
        )
    return out


def _manifest_visits(ctx: Context) -> list[dict[str, Any]]:
    m = ctx.manifest
    if not m.visits:
        return [
            at_trial(
                table="manifest",
                column="visits",
                message="trial.toml has no [[visits]]; declare id, week, day, window_days",
            )
        ]
    out = []
    ids = [v.id for v in m.visits]
    for i, v in enumerate(m.visits, start=1):
        bad = [
            name
            for name, val in (("week", v.week), ("day", v.day), ("window_days", v.window_days))
            if not isinstance(val, int | float) or isinstance(val, bool) or math.isnan(val)
        ]
        if isinstance(v.window_days, int | float) and v.window_days < 0:
            bad.append("window_days (negative)")
        if not isinstance(v.id, str) or not v.id.strip():
            bad.insert(0, "id")
        if bad:
            out.append(
                at_trial(
                    table="manifest",
                    column="visits",
                    value=v.id or None,
                    message=f"[[visits]] number {i} ({v.id or 'no id'}) has a missing or "
                    f"invalid {', '.join(bad)}; give numbers for week, day, window_days >= 0",
                )
            )
    for dup in sorted({x for x in ids if x and ids.count(x) > 1}):
        out.append(
            at_trial(
                table="manifest",
                column="visits",
                value=dup,
                message=f"visit id {dup!r} is declared more than once in [[visits]]",
            )
        )
    return out


def _issue_column(column: object) -> str | None:
    """Return the ``column`` cell of a ``trial.issues`` row: a column name, or None."""
    return column if isinstance(column, str) else None


def _key(column: object) -> str:
    text = str(column or "")
    for sep in ("[", "."):
        text = text.split(sep)[0]
    return text


@rule(
    "SCH-001",
    "Manifest well formed",
    "schema",
    "error",
    _CONTRACT,
    "trial.toml problems: design value, baseline_visit not among the visits, arms or "
    "visits missing or malformed, and every manifest problem the reader recorded.",
)
def check_manifest(ctx: Context) -> Iterator[Part]:
    """Manifest problems recorded by the reader, plus those visible on the Manifest.

    A direct check is dropped when the reader already recorded an issue for the same
    manifest key (e.g. ``visits``), so one defect gives one finding.
    """
    i = ctx.issues
    recorded = set()
    for table, column, value, problem in cell_rows(i, "table", "column", "value", "problem"):
        if not (isinstance(table, str) and table == "manifest"):
            continue
        recorded.add(_key(column))
        yield at_trial(
            table="manifest",
            column=_issue_column(column),
            value=value,
            message=f"trial.toml: {problem}",
        )
    for f in _manifest_direct(ctx):
        if _key(f["column"]) not in recorded:
            yield f


def _header_hints(ctx: Context) -> dict[tuple[str, str], str]:
    """Reader issues about a header (row missing) keyed by (table, column)."""
    i = ctx.issues
    if i.empty:
        return {}
    sel = i["row"].isna() & i["table"].isin(list(TABLE_SCHEMAS))
    rows = cell_rows(i[sel.to_numpy(dtype=bool)], "table", "column", "problem")
    return {
        (str(table), column): str(problem)
        for table, column, problem in rows
        if isinstance(column, str)  # a header issue names its column
    }


def _is_required(ctx: Context, table: str, column: str, required: bool) -> bool | None:
    """Whether a column counts as required in this design (None: not reported at all).

    ``subjects.arm`` is required in a parallel design and irrelevant in a split-face
    one; ``subjects.allocation`` the other way round.
    """
    if table == "subjects" and column in ("arm", "allocation"):
        wanted = "allocation" if ctx.split_face else "arm"
        return True if column == wanted else None
    return required


def _missing_columns(ctx: Context, required: bool) -> Iterator[Part]:
    hints = _header_hints(ctx)
    for name, cols in TABLE_SCHEMAS.items():
        if not ctx.present(name):
            continue
        missing = ctx.missing(name)
        for c in cols:
            if not (required or c.noted_when_absent):
                continue
            if _is_required(ctx, name, c.name, c.required) is required and c.name in missing:
                hint = hints.get((name, c.name))
                kind = "required" if required else "optional"
                fix = f"; {hint}" if hint else f"; add a column headed {c.name!r}"
                yield at_trial(
                    table=name,
                    column=c.name,
                    message=f"{name} has no {kind} column {c.name!r} "
                    f"({c.description.rstrip('.')}){fix}",
                )


@rule(
    "SCH-002",
    "Required column present",
    "schema",
    "error",
    _CONTRACT,
    "A required column is missing from a table's header (a near-miss header is not "
    "renamed silently: the message suggests the rename). subjects.arm is required in a "
    "parallel design, subjects.allocation in a split-face one.",
)
def check_required_columns(ctx: Context) -> Iterator[Part]:
    """Find required schema columns missing from present tables."""
    return _missing_columns(ctx, True)


@rule(
    "SCH-003",
    "Optional column present",
    "schema",
    "notice",
    _CONTRACT,
    "An optional column is missing; rules that need it report could_not_run. Columns "
    "whose absence the report states itself (coded AE terms, pp_exclusion_reason) are "
    "not noted.",
)
def check_optional_columns(ctx: Context) -> Iterator[Part]:
    """Find optional schema columns missing from present tables."""
    return _missing_columns(ctx, False)


@rule(
    "SCH-004",
    "Cells readable as their type",
    "schema",
    "error",
    _CONTRACT,
    "A cell could not be read as its column's type (number, integer, flag, date, "
    "Fitzpatrick type); the reader kept it as missing and recorded it.",
)
def check_cell_types(ctx: Context) -> Iterator[Part]:
    """Reader issues about cells (and other non-manifest issues not about a header).

    A header issue about a column that is missing is reported by SCH-002/003 (with the
    reader's rename hint), not here.
    """
    i = ctx.issues
    if i.empty:
        return
    hints = _header_hints(ctx)
    for name, group in i[i["table"] != "manifest"].groupby("table", sort=False):
        name = str(name)
        subj = visit = None
        if name in TABLE_SCHEMAS:
            missing = ctx.missing(name)
            header = [
                pd.isna(r) and (name, c) in hints and c in missing
                for r, c in zip(group["row"], group["column"], strict=True)
            ]
            group = group[~pd.Series(header, index=group.index, dtype=bool)]
            table = ctx.table(name)
            subj = group["row"].map(table["subject_id"]).astype(object).to_numpy()
            if "visit" in table.columns:
                visit = group["row"].map(table["visit"]).astype(object).to_numpy()
        if group.empty:
            continue
        frame = pd.DataFrame(
            {
                "severity": None,
                "table": name,
                "column": group["column"].astype(object).to_numpy(),
                "subject_id": subj,
                "visit": visit,
                "row": group["row"].to_numpy(),
                "value": group["value"].astype(object).to_numpy(),
                "message": (f"{name}: " + group["problem"].astype(str) + "; correct the cell")
                .astype(object)
                .to_numpy(),
            }
        )
        yield frame.astype(object).where(frame.notna(), None)


@rule(
    "SCH-013",
    "Records left out on reading",
    "schema",
    "notice",
    _CONTRACT,
    "A reader deliberately left records out (e.g. imputed ADaM rows with DTYPE LOCF); "
    "listed so that nothing disappears silently.",
)
def check_excluded_records(ctx: Context) -> Iterator[Part]:
    """Report each reader exclusion recorded in ``trial.issues`` (kind ``excluded``)."""
    x = ctx.exclusions
    for table, column, value, problem in cell_rows(x, "table", "column", "value", "problem"):
        yield at_trial(
            table=str(table),
            column=_issue_column(column),
            value=value,
            message=str(problem),
        )


def _unknown_values(
    ctx: Context, table: str, column: str, allowed: pd.Index | list[str], what: str, fix: str
) -> Iterator[Part]:
    df = ctx.need(table, column)
    bad = ~ctx.blank(table, column) & ~ctx.isin(table, column, allowed)
    if not bad.any():
        return
    rows = df[bad]
    hint = {u: _suggest(u, list(allowed)) for u in pd.unique(rows[column].astype(object))}
    msg = text_by(rows[column], lambda u: f"{what} {u!r} is not {fix}{hint.get(u, '')}")
    yield at_rows(rows, table=table, column=column, message=msg, pattern=f"{what} is not {fix}")


@rule(
    "SCH-005",
    "Endpoint in the catalogue",
    "schema",
    "error",
    "endpoint catalogue (efficacy.instruments.catalogue)",
    "measurements.endpoint is not a catalogue endpoint id.",
)
def check_endpoints(ctx: Context) -> Iterator[Part]:
    """Unknown endpoint ids (endpoints the data declare: one notice each)."""
    declared = [e for e in ctx.trial.manifest.data_endpoints if e.id not in ENDPOINTS]
    for e in declared:  # ADaM parameters: analysed as the data define them
        yield at_trial(
            table="measurements",
            column="endpoint",
            value=e.id,
            severity="notice",
            message=f"{e.source} ({e.label}) is not a catalogue endpoint: no catalogue "
            "unit, range or direction applies; the cosmetic standard's endpoint rules "
            "cannot count it",
        )
    yield from _unknown_values(
        ctx,
        "measurements",
        "endpoint",
        [*ENDPOINTS, *(e.id for e in declared)],
        "endpoint",
        "a catalogue endpoint id; use one of efficacy's endpoint ids",
    )


@rule(
    "SCH-006",
    "Unit known and convertible",
    "schema",
    "error",
    "endpoint catalogue (units and conversions)",
    "measurements.unit is unknown, or cannot be converted to the endpoint's canonical "
    "unit (mm and um are converted; a.u. and ratio are not convertible).",
)
def check_units(ctx: Context) -> Iterator[Part]:
    """Unknown units, and known units not convertible to the endpoint's unit."""
    m = ctx.need("measurements", "unit")
    info = ctx.meas
    given = ~ctx.blank("measurements", "unit")
    declared = [e.id for e in ctx.trial.manifest.data_endpoints if e.id not in ENDPOINTS]
    if declared:  # ADaM parameters keep the unit the data give (no catalogue unit)
        given &= ~ctx.isin("measurements", "endpoint", declared)
    unknown = given & pd.isna(info.unit)
    if unknown.any():
        rows = m[unknown]
        yield at_rows(
            rows,
            table="measurements",
            column="unit",
            message=text_by(
                rows["unit"],
                lambda u: f"unit {u!r} is not known; use one of {', '.join(CANONICAL_UNITS)}",
            ),
            pattern=f"unit is not known; use one of {', '.join(CANONICAL_UNITS)}",
        )
    wrong = given & ~unknown & info.known & pd.isna(info.factor)
    if wrong.any():
        rows = m[wrong]
        target = pd.Series(info.target_unit[wrong], index=rows.index)
        msg = (
            "unit "
            + text_by(rows["unit"], repr)
            + " cannot be converted to "
            + rows["endpoint"].astype(str)
            + "'s unit "
            + text_by(target, repr)
            + "; record the value in "
            + target.astype(str)
        )
        yield at_rows(
            rows,
            table="measurements",
            column="unit",
            message=msg,
            pattern="unit cannot be converted to the endpoint's unit; record the value in "
            "the endpoint's unit",
        )


@rule(
    "SCH-007",
    "Visit declared in the manifest",
    "schema",
    "error",
    _CONTRACT,
    "A measurement or PRO visit id is not among the manifest's [[visits]].",
)
def check_visits(ctx: Context) -> Iterator[Part]:
    """Visit ids absent from the schedule."""
    if not ctx.visits:
        raise NotApplicable("the manifest declares no visits (see SCH-001)")
    fix = f"one of the scheduled visits ({', '.join(ctx.visits)})"
    for table in ("measurements", "pro_responses"):
        if ctx.present(table):
            yield from _unknown_values(ctx, table, "visit", list(ctx.visits), "visit", fix)


@rule(
    "SCH-008",
    "Arm declared in the manifest",
    "schema",
    "error",
    _CONTRACT,
    "subjects.arm, or an arm in a split-face allocation, is not among the manifest's [[arms]].",
)
def check_arms(ctx: Context) -> Iterator[Part]:
    """Unknown arm ids in subjects.arm and in split-face allocations."""
    if not ctx.arm_ids:
        raise NotApplicable("the manifest declares no arms (see SCH-001)")
    arms = sorted(ctx.arm_ids)
    fix = f"a declared arm ({', '.join(arms)})"
    s = ctx.need("subjects")
    if "arm" not in ctx.missing("subjects"):
        yield from _unknown_values(ctx, "subjects", "arm", arms, "arm", fix)
    if "allocation" in ctx.missing("subjects"):
        return
    a = ctx.allocation
    bad = a[a["ok"] & ~a["arm"].isin(arms)]
    if len(bad):
        rows = bad.set_index("row")
        rows = rows.assign(subject_id=s["subject_id"].reindex(rows.index).to_numpy(dtype=object))
        yield at_rows(
            rows,
            table="subjects",
            column="allocation",
            value=rows["pair"],
            message="allocation names arm " + rows["arm"].map(repr) + f", which is not {fix}",
            pattern=f"allocation names an arm which is not {fix}",
        )


@rule(
    "SCH-009",
    "Record belongs to a listed subject",
    "schema",
    "error",
    _INTEGRITY,
    "A measurement, PRO response or adverse event names a subject_id absent from the "
    "subjects table.",
)
def check_subject_refs(ctx: Context) -> Iterator[Part]:
    """Find records whose subject is not in subjects."""
    if not ctx.present("subjects"):
        raise CouldNotRun("the subjects table is absent (see SCH-010)")
    if "subject_id" in ctx.missing("subjects"):
        raise CouldNotRun("subjects lacks column subject_id")
    known = ctx.subject_ids
    for table in _RECORD_TABLES:
        if not ctx.present(table) or "subject_id" in ctx.missing(table):
            continue
        df = ctx.table(table)
        bad = ~ctx.blank(table, "subject_id") & ~ctx.isin(table, "subject_id", known)
        if bad.any():
            rows = df[bad]
            yield at_rows(
                rows,
                table=table,
                column="subject_id",
                message="subject_id "
                + text_by(rows["subject_id"], repr)
                + " is not in the subjects table; add the subject or correct the id",
                pattern="subject_id is not in the subjects table; add the subject or "
                "correct the id",
            )


@rule(
    "SCH-010",
    "Table present",
    "schema",
    "error",
    _CONTRACT,
    "A table is absent from the bundle: subjects and measurements are errors, "
    "pro_responses and adverse_events warnings; deviations and intercurrent_events are "
    "optional (no finding).",
)
def check_tables(ctx: Context) -> Iterator[Part]:
    """Tables absent from the bundle."""
    for name in TABLE_SCHEMAS:
        if name not in OPTIONAL_TABLES and not ctx.present(name):
            yield at_trial(
                table=name,
                severity=_REQUIRED_TABLES.get(name, "warning"),
                message=f"the bundle has no {name} table; add it to [tables] in trial.toml",
            )


@rule(
    "SCH-011",
    "Required cell filled",
    "schema",
    "error",
    _CONTRACT,
    "A cell of a required column is empty (measurements.value is INT-009; cells the "
    "reader could not convert are SCH-004).",
)
def check_required_cells(ctx: Context) -> Iterator[Part]:
    """Empty cells in required columns."""
    for name, cols in TABLE_SCHEMAS.items():
        if not ctx.present(name):
            continue
        df = ctx.table(name)
        missing = ctx.missing(name)
        for c in cols:
            if not c.required or c.name in missing or (name, c.name) == ("measurements", "value"):
                continue
            empty = ctx.blank(name, c.name) if c.kind == "str" else df[c.name].isna().to_numpy()
            if not empty.any():
                continue
            empty = empty & ~df.index.isin(ctx.issue_rows(name, c.name))
            if empty.any():
                yield at_rows(
                    df[empty],
                    table=name,
                    column=c.name,
                    value=None,
                    message=f"required {c.name} is empty; fill it in ({c.description})",
                )


@rule(
    "SCH-012",
    "Coded value allowed",
    "schema",
    "error",
    _CONTRACT,
    "subjects.disposition is not completed, discontinued, lost_to_follow_up or "
    "screen_failure; adverse_events.severity is not mild, moderate or severe.",
)
def check_codes(ctx: Context) -> Iterator[Part]:
    """Values outside the code lists of disposition and AE severity."""
    checks = (
        ("subjects", "disposition", DISPOSITIONS),
        ("adverse_events", "severity", _AE_SEVERITIES),
    )
    ran = False
    for table, column, codes in checks:
        if ctx.present(table) and column not in ctx.missing(table):
            ran = True
            yield from _unknown_values(
                ctx, table, column, list(codes), column, f"one of {', '.join(codes)}"
            )
    if not ran:
        raise NotApplicable("no disposition or adverse-event severity column to check")


#: This module's rules, in order (joined by :data:`efficacy.validation.registry.DATA_RULES`).
RULES: tuple[Rule, ...] = (
    check_manifest,
    check_required_columns,
    check_optional_columns,
    check_cell_types,
    check_excluded_records,
    check_endpoints,
    check_units,
    check_visits,
    check_arms,
    check_subject_refs,
    check_tables,
    check_required_cells,
    check_codes,
)
