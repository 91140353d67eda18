"""Blocks of report sections 1-5, 8 and 9 (title block to baseline, harms, appendices).

Each adapter takes the whole report data and returns the section's blocks
(:mod:`efficacy.report._blocks`); its tables are :class:`~efficacy.report.shells.TableShell`
values whose strings are the report's values, formatted as the HTML shows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from efficacy.report._blocks import Block, Figure, Heading, Para, Table
from efficacy.report.shells import ShellRow, TableShell

__all__ = [
    "appendices",
    "baseline",
    "checklist",
    "flow",
    "harms",
    "stat_shell",
    "title_block",
    "verdict",
]


def _text(rows: Sequence[Sequence[Any]]) -> tuple[ShellRow, ...]:
    return tuple(ShellRow(tuple("" if c is None else str(c) for c in r)) for r in rows)


def stat_shell(table: Mapping[str, Any], prefix: str, stub: str = "") -> TableShell:
    """Return a baseline or harms table (``columns``, ``rows`` of ``cells``) as a shell.

    Columns are headed by the arm's label and its ``(N=xx)``; ``group`` rows become
    heading rows with their statistics indented under them.
    """
    cols = table["columns"]
    grouped = any(r["kind"] == "group" for r in table["rows"])
    rows = []
    for r in table["rows"]:
        if r["kind"] == "group":
            rows.append(ShellRow((r["label"], *[""] * len(cols)), group=True))
            continue
        cells = [r["cells"][c["key"]]["text"] if c["key"] in r["cells"] else "" for c in cols]
        rows.append(ShellRow((r["label"], *cells), level=1 if grouped else 0))
    header = (stub, *[f"{c['label']}\n{c['head']}" for c in cols])
    return TableShell(f"{prefix}.{table['id']}", table["title"], header, tuple(rows))


def title_block(data: Mapping[str, Any]) -> list[Block]:
    """Section 1: trial, design, arms, protocol, package, time; input files with SHA-256."""
    tb = data["title_block"]
    arms = "; ".join(
        f"{a['id']} ({a['label']})" + (", control" if a.get("control") else "") for a in tb["arms"]
    )
    proto = tb["protocol"]
    kv = TableShell(
        "title_block.summary",
        "Trial and report",
        ("Item", "Value"),
        _text(
            [
                ("Trial", f"{tb['trial_id']}: {tb['title']}"),
                ("Design", tb["design"]),
                ("Arms", arms),
                ("Protocol", f"{proto['id']} version {proto['version']}: {proto['title']}"),
                ("Package", f"efficacy {tb['efficacy_version']}"),
                ("Generated", tb["generated_at"]),
            ]
        ),
        align=("l", "l"),
    )
    files = TableShell(
        "title_block.inputs",
        "Input files (SHA-256)",
        ("Role", "File", "SHA-256"),
        _text([(f.get("label") or f["role"], f["file"], f["sha256"]) for f in tb["inputs"]]),
        align=("l", "l", "l"),
    )
    return [Table(kv), Table(files)]


def verdict(data: Mapping[str, Any]) -> list[Block]:
    """Section 2: the overall verdict and one row per requirement."""
    v = data["verdict"]
    out: list[Block] = [Para(str(v["overall"]), lead="Overall: ")]
    if v.get("data_errors"):
        out.append(
            Para(
                f"The data rules found {v['data_errors']} error finding(s) (appendix): a "
                "dataset with errors is not ready for submission.",
                note=True,
            )
        )
    rows = []
    for q in v["requirements"]:
        verdict_text = q["verdict"] + (f": {q['reason']}" if q.get("reason") else "")
        if q.get("n_findings"):
            found = f"{q['n_findings']} finding(s): {', '.join(q['finding_ids'])}"
            found += "".join(f"\n\u2022 {m}" for m in q.get("findings", []))
        else:
            found = "none"
        label = f"{q['id']}\n{q['title']}"
        if q.get("source"):
            sure = f" [{q['confidence']}]" if q.get("confidence") else ""
            label += f"\nSource: {q['source']}{sure}"
        rows.append((label, verdict_text, q["evidence"], found))
    out.append(
        Table(
            TableShell(
                "verdict.requirements",
                "Verdict per requirement",
                ("Requirement", "Verdict", "Evidence in the data", "Findings"),
                _text(rows),
                footnotes=(
                    "Met: the requirement's rule passed. Not met: it produced findings "
                    "(listed in the appendix under the finding ids). Not assessable: the rule "
                    "could not run or did not apply (reason given).",
                ),
                align=("l", "l", "l", "l"),
            )
        )
    )
    return out


def _count(t: Mapping[str, Any] | None) -> str:
    if t is None:
        return "not recorded"
    return str(t["n"]) if t.get("sites") is None else f"{t['n']} ({t['sites']} sites)"


def _disposition(f: Mapping[str, Any]) -> TableShell:
    """Participant disposition per arm (the flow diagram's per-arm boxes, as a table)."""
    arms = f["arms"] or []
    stages = (
        ("Allocated", "allocated"),
        ("Received allocated intervention", "received"),
        ("Did not receive allocated intervention", "not_received"),
        ("Lost to follow-up", "lost_to_follow_up"),
        ("Discontinued intervention", "discontinued"),
        ("Analysed", "analysed"),
        ("Excluded from analysis", "excluded_from_analysis"),
    )
    rows: list[ShellRow] = []
    for label, key in stages:
        rows.append(ShellRow((label, *[_count(a[key]) for a in arms])))
        reasons = list(
            dict.fromkeys(r["reason"] for a in arms for r in (a[key] or {}).get("reasons", []))
        )
        for reason in reasons:
            cells = []
            for a in arms:
                n = {r["reason"]: r["n"] for r in (a[key] or {}).get("reasons", [])}
                cells.append(str(n.get(reason, 0)))
            rows.append(ShellRow((reason, *cells), level=1))
    split = f["design"] == "split_face"
    notes = ("Counts are participants (body sites in parentheses).",) if split else ()
    return TableShell(
        "flow.disposition",
        "Participant flow by arm",
        ("", *[f"{a['label']}\n[{a['arm']}]" for a in arms]),
        tuple(rows),
        footnotes=notes,
    )


def flow(data: Mapping[str, Any]) -> list[Block]:
    """Section 3: the diagram, the disposition table, exclusions and the count checks."""
    f = data["flow"]
    note = "Counted from the subjects table"
    if f.get("primary_endpoint"):
        note += (
            "; analysed = ITT with at least one post-baseline measurement of the primary "
            f"endpoint {f['primary_endpoint']}"
        )
    if f["design"] == "split_face":
        note += (
            "; per-arm boxes count body sites (the group of sites allocated that arm) and "
            "the participants they belong to (CONSORT within-person extension)"
        )
    out: list[Block] = [
        Figure("flow", f"CONSORT flow diagram of trial {f['trial_id']}."),
        Para(note + ".", note=True),
    ]
    if f.get("paired_analysed"):
        out.append(
            Para(
                "Participants with a within-person difference of the primary endpoint (both "
                f"sites measured at one post-baseline visit): {f['paired_analysed']['n']}."
            )
        )
    if f["arms"]:
        out.append(Table(_disposition(f)))
    if f["excluded"]["reasons"]:
        out.append(Heading("Reasons for exclusion before randomisation"))
        out.append(
            Table(
                TableShell(
                    "flow.excluded",
                    "Reasons for exclusion before randomisation",
                    ("Reason (subjects.discontinuation_reason)", "n"),
                    _text([(x["reason"], x["n"]) for x in f["excluded"]["reasons"]]),
                )
            )
        )
    bad = [c for c in f["checks"] if not c["ok"]]
    out.append(Heading("Arithmetic of the counts"))
    out.append(
        Para(f"all {len(f['checks'])} checks hold" if f["ok"] else f"{len(bad)} mismatch(es)")
    )
    out.append(
        Table(
            TableShell(
                "flow.checks",
                "Arithmetic of the counts",
                ("Rule", "Left", "", "Right", "Result"),
                _text(
                    [
                        (
                            c["rule"],
                            c["left"],
                            c["relation"],
                            c["right"],
                            "holds" if c["ok"] else f"mismatch {c.get('detail', '')}".strip(),
                        )
                        for c in f["checks"]
                    ]
                ),
                align=("l", "r", "l", "r", "l"),
            )
        )
    )
    out.append(Heading("Definitions"))
    out.append(
        Table(
            TableShell(
                "flow.definitions",
                "Definitions of the counts",
                ("Count", "Definition"),
                _text(sorted(f["definitions"].items())),
                align=("l", "l"),
            )
        )
    )
    return out


def checklist(data: Mapping[str, Any]) -> list[Block]:
    """Section 4: the CONSORT 2025 checklist and its extensions, one table each."""
    cl = data["checklist"]
    out: list[Block] = [Para(cl["attribution"], note=True)]
    for name, counts in sorted(cl["counts"].items()):
        parts = ", ".join(f"{s} {counts[s]}" for s in ("data", "attested", "partial", "missing"))
        out.append(Para(parts, lead=f"{name}: "))
    for group in ["CONSORT 2025", *cl["extensions"]]:
        main = group == "CONSORT 2025"
        rows = []
        for e in cl["entries"]:
            if e["checklist"] != group:
                continue
            where = [e["where"]] if e.get("where") else []
            where += [
                f"[consort] {k}: {t}"
                for k, t in zip(
                    e.get("attested_keys", []), e.get("attested_text", []), strict=False
                )
            ]
            if e.get("missing"):
                where.append(f"Missing: {e['missing']}")
            section = f"{e['section']}: {e['topic']}" if main else e["section"]
            rows.append(
                (e["id"], section, e["text"] if main else e["topic"], e["status"], "\n".join(where))
            )
        title = "Within-person extension" if group == "within-person" else group
        out.append(Heading(title))
        out.append(
            Table(
                TableShell(
                    f"checklist.{group.replace(' ', '_').lower()}",
                    f"{title} checklist",
                    (
                        "Item",
                        "Section: topic" if main else "Section",
                        "Item (paraphrase)" if main else "Title (paraphrase)",
                        "Status",
                        "Where / what is missing",
                    ),
                    _text(rows),
                    align=("l", "l", "l", "l", "l"),
                )
            )
        )
    return out


def baseline(data: Mapping[str, Any]) -> list[Block]:
    """Section 5: the baseline tables (arm columns with ``(N=xx)``), then the notes."""
    b = data["baseline"]
    out: list[Block] = [
        Para(f"Population: {b['population']}. n (%); Mean (SD); Median; Min, Max.", note=True)
    ]
    out += [Table(stat_shell(t, "baseline")) for t in b["tables"]]
    out += [Para(n, note=True) for n in b.get("notes", [])]
    return out


def harms(data: Mapping[str, Any]) -> list[Block]:
    """Section 8: the harms tables (cells: participants n (%) [events])."""
    h = data["harms"]
    if h.get("status") == "not supplied":
        return [Para(f"Population: {h['population']}.", note=True), Para(h["message"])]
    out: list[Block] = [Para(f"Population: {h['population']}. Cells: {h['cell']}.", note=True)]
    out += [Para(n, note=True) for n in h.get("notes", [])]
    out += [Table(TableShell.from_dict(t)) for t in h["tables"]]  # shells (notes/SHELLS.md)
    return out


def _where(x: Mapping[str, Any]) -> str:
    text = str(x.get("table", ""))
    if "row" in x:
        text += f" row {x['row']}"
    if "column" in x:
        text += f", {x['column']}"
    if "subject_id" in x:
        text += f"\nsubject {x['subject_id']}"
    if "visit" in x:
        text += f", visit {x['visit']}"
    return text


def appendices(data: Mapping[str, Any]) -> list[Block]:
    """Section 9: validation rules and findings, model specifications, software."""
    from efficacy.report._adapt_outcomes import models

    ap = data["appendices"]["validation"]
    c = ap["counts"]
    out: list[Block] = [
        Heading("9.1 Validation rules"),
        Para(
            f"Findings: {c['error']} error(s), {c['warning']} warning(s), {c['notice']} notice(s)."
        ),
        Table(
            TableShell(
                "appendices.rules",
                "Validation rules",
                ("Rule", "Title", "Severity", "Status", "Findings"),
                _text(
                    [
                        (
                            u["rule_id"],
                            u["title"] + (f"\n{u['reason']}" if u.get("reason") else ""),
                            u["severity"],
                            u["status"].replace("_", " "),
                            u["n_findings"],
                        )
                        for u in ap["rules"]
                    ]
                ),
                align=("l", "l", "l", "l", "r"),
            )
        ),
        Heading("9.2 Validation findings"),
    ]
    if ap["findings"]:
        # grouped by cause, as the HTML appendix (every finding is in the JSON)
        rows = []
        for g in ap.get("groups", []):
            if g["count"] == 1:
                x = ap["findings"][g["first"]]
                rows.append((x["id"], x["rule_id"], x["severity"], _where(x), x["message"]))
            else:
                where = g["table"] + (f".{g['column']}" if g.get("column") else "")
                rows.append(
                    (
                        g["ids"],
                        g["rule_id"],
                        g["severity"],
                        f"{where}\n{g['summary']}",
                        g["message"],
                    )
                )
        notes = (
            "Grouped by cause: one row per rule, column and message, with the number of "
            "findings; the report's JSON and efficacy validate --format json or --format "
            "xlsx list every finding.",
        )
        out.append(
            Table(
                TableShell(
                    "appendices.findings",
                    "Validation findings",
                    ("Id", "Rule", "Severity", "Where", "Message"),
                    _text(rows),
                    footnotes=notes,
                    align=("l",) * 5,
                )
            )
        )
    else:
        out.append(Para("No findings."))
    out.append(Heading("9.3 Model specifications and convergence"))
    out += models(data)
    out.append(Heading("9.4 Software"))
    out.append(
        Table(
            TableShell(
                "appendices.software",
                "Software versions",
                ("Package", "Version"),
                _text(sorted(data["appendices"]["software"].items())),
                align=("l", "l"),
            )
        )
    )
    return out
