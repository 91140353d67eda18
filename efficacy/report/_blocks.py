"""The report as a sequence of blocks (headings, paragraphs, table shells, figures).

:func:`outline` walks the report data in report order and turns each section into
blocks through its adapter (:mod:`efficacy.report._adapt_main`,
:mod:`efficacy.report._adapt_outcomes`); a section it does not know is rendered
generically when it carries a ``tables`` list of shell dicts (:mod:`efficacy.report.shells`).
The DOCX writer renders every block; the RTF writer the tables of :func:`tlf_tables`.
Nothing here computes a number: every string is a value of the report data, formatted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from efficacy.report.shells import TableShell

__all__ = ["Block", "Figure", "Heading", "Para", "Table", "outline", "tlf_tables"]


@dataclass(frozen=True)
class Heading:
    """A heading: level 1 for a report section, 2 for a part of one."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    """A paragraph; `lead` is printed bold before the text; `note` in the note style."""

    text: str
    lead: str = ""
    note: bool = False


@dataclass(frozen=True)
class Table:
    """A table shell with its number in the report (``5.1``)."""

    shell: TableShell
    number: str = ""


@dataclass(frozen=True)
class Figure:
    """A figure: `key` is ``flow`` or a key of :func:`.outcome_figures.outcome_figures`."""

    key: str
    caption: str


Block = Heading | Para | Table | Figure

#: Sections whose tables the RTF file holds (tables, listings and figures style).
TLF_SECTIONS: tuple[str, ...] = ("baseline", "efficacy", "pros", "harms")


def _adapters() -> dict[str, tuple[str, Callable[[Mapping[str, Any]], list[Block]]]]:
    from efficacy.report import _adapt_main as m
    from efficacy.report import _adapt_outcomes as o

    return {
        "title_block": ("Title block", m.title_block),
        "verdict": ("Verdict", m.verdict),
        "flow": ("CONSORT flow diagram", m.flow),
        "checklist": ("CONSORT 2025 checklist", m.checklist),
        "baseline": ("Baseline characteristics", m.baseline),
        "efficacy": ("Efficacy", o.efficacy),
        "pros": ("Patient-reported outcomes", o.pros),
        "harms": ("Harms", m.harms),
        "appendices": ("Appendices", m.appendices),
    }


def generic(section: Mapping[str, Any]) -> list[Block]:
    """Blocks of a section given as ``title``/``notes``/``message``/``tables`` (shell dicts)."""
    out: list[Block] = []
    if section.get("message"):
        out.append(Para(str(section["message"])))
    out += [Para(str(n), note=True) for n in section.get("notes") or ()]
    out += [Table(TableShell.from_dict(t)) for t in section.get("tables") or ()]
    return out


def _title(key: str, section: Any, known: str | None) -> str:
    if isinstance(section, Mapping) and section.get("title") and known is None:
        return str(section["title"])
    return known or key.replace("_", " ").capitalize()


#: Report order of the known sections (for data whose keys lost it, e.g. a JSON file read
#: back: its keys are sorted).
ORDER: tuple[str, ...] = (
    "synopsis",
    "title_block",
    "verdict",
    "flow",
    "populations",
    "deviations",
    "checklist",
    "baseline",
    "estimands",
    "efficacy",
    "pros",
    "subgroups",  # built after the PROs; shown inside efficacy (PARTS)
    "harms",
    "claims",
    "appendices",
)


def report_order(data: Mapping[str, Any]) -> list[str]:
    """Return the section keys of `data` in report order.

    The data's own key order is the report order (:func:`~efficacy.report.build_report`
    builds it so) unless its known sections are out of :data:`ORDER` (keys sorted, as in
    the JSON file): then known sections follow :data:`ORDER` and the others, in their
    order, come just before the appendices.

    Examples
    --------
    >>> report_order({"appendices": {}, "baseline": {}, "extra": {}, "title_block": {}})
    ['title_block', 'baseline', 'extra', 'appendices']
    """
    keys = list(data)
    # the synopsis is built last and shown first (sections): its place says nothing
    known = [k for k in keys if k in ORDER and k not in UNNUMBERED]
    if known == sorted(known, key=ORDER.index):
        return keys
    others = [k for k in keys if k not in ORDER]
    ordered = [k for k in UNNUMBERED if k in keys] + sorted(known, key=ORDER.index)
    at = ordered.index("appendices") if "appendices" in ordered else len(ordered)
    return ordered[:at] + others + ordered[at:]


#: Parts shown inside a numbered section (ICH E3 order, as the HTML and PDF show them):
#: key -> (host section, placed before the host's own blocks, heading).
PARTS: Mapping[str, tuple[str, bool, str]] = {
    "populations": ("flow", False, "Analysis populations"),
    "deviations": ("flow", False, "Protocol deviations"),
    "estimands": ("efficacy", True, "Estimands (ICH E9(R1))"),
    "subgroups": ("efficacy", False, "Subgroup analyses of the primary endpoint"),
}
#: Sections shown before the numbered ones, without a number.
UNNUMBERED: tuple[str, ...] = ("synopsis",)
#: Sections shown in their place without a number (as the HTML): the claims matrix, a
#: decision-support annex between harms and the appendices, not a study-report section.
UNNUMBERED_IN_PLACE: tuple[str, ...] = ("claims",)
_SELF_NUMBERED = re.compile(r"^(?:Table|Listing|Figure) (\d+)\.(\w+) ")
_SUB_NUMBER = re.compile(r"^(\d+)\.(\d+) ")


def _part_blocks(data: Mapping[str, Any], key: str) -> list[Block]:
    """Blocks of a part: generic, plus the forest plot before each subgroup table."""
    section = data[key]
    if key != "subgroups" or section.get("status") != "run":
        return generic(section)
    out: list[Block] = [Para(str(n), note=True) for n in section.get("notes") or ()]
    who = "participants" if section.get("split") else "active, control"
    for i, t in enumerate(section.get("tables") or ()):
        out.append(
            Figure(
                f"subgroups_{i}",
                f"Figure 6.S{i + 1}. {section.get('label', '')}: difference at "
                f"{section.get('visit', '')} with {section.get('confidence_pct', '')}% CI, "
                f"overall (diamond) and by subgroup (squares; n: {who}), with the "
                "treatment-by-subgroup interaction p of each variable.",
            )
        )
        out.append(Table(TableShell.from_dict(t)))
    return out


def _numbered(blocks: list[Block], number: int) -> list[Block]:
    """Return `blocks` with their tables numbered ``<number>.<k>``.

    A shell whose title carries its own number (``Table 3.1 ...``, ``Listing 8.6 ...``,
    as the HTML prints it) keeps it; when such numbers are numeric, the section's other
    tables stay unnumbered (as in the HTML), so no two tables share a number.
    """
    own = [_SELF_NUMBERED.match(b.shell.title) for b in blocks if isinstance(b, Table)]
    numeric = any(m is not None and m.group(2).isdigit() for m in own)
    k = 0
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, Table) and _SELF_NUMBERED.match(b.shell.title) is None and not numeric:
            k += 1
            b = Table(b.shell, f"{number}.{k}")
        out.append(b)
    return out


def sections(data: Mapping[str, Any]) -> list[tuple[str, str, list[Block]]]:
    """Return ``(key, heading, blocks)`` for each rendered section, in report order.

    Known sections go through their adapter (with the full report, since e.g. the verdict
    heading names the protocol); any other mapping with a ``tables`` list is generic.
    The synopsis comes first, unnumbered; the others are numbered 1, 2, ... with the
    :data:`PARTS` inside their host (analysis populations and protocol deviations in the
    CONSORT flow section, estimands first and subgroups last in efficacy), each under a
    level-2 heading numbered as in the HTML. Tables are numbered ``<section>.<k>`` in order
    unless their title carries a number (:func:`_numbered`).
    """
    adapters = _adapters()
    hosted = {k for k, (host, _b, _h) in PARTS.items() if host in data and k in data}
    out: list[tuple[str, str, list[Block]]] = []
    keys = report_order(data)
    keys = [k for k in keys if k in UNNUMBERED] + [k for k in keys if k not in UNNUMBERED]
    number = 0
    for key in keys:
        if key in hosted:
            continue
        section = data[key]
        if key in adapters:
            title, adapt = adapters[key]
            blocks = adapt(data)
        elif isinstance(section, Mapping) and isinstance(section.get("tables"), list):
            title, blocks = _title(key, section, None), generic(section)
        else:
            continue
        if key in UNNUMBERED or key in UNNUMBERED_IN_PLACE:
            out.append((key, title, blocks))
            continue
        number += 1
        blocks = _with_parts(data, key, number, blocks, hosted)
        if key == "verdict":
            tb = data.get("title_block") or {}
            proto = tb.get("protocol") or {}
            title = f"Verdict against {proto.get('id', '')} {proto.get('version', '')}".strip()
        out.append((key, f"{number}. {title}", _numbered(blocks, number)))
    return out


def _with_parts(
    data: Mapping[str, Any], host: str, number: int, blocks: list[Block], hosted: set[str]
) -> list[Block]:
    """`blocks` of section `host` with its parts, each under a numbered level-2 heading.

    A part before the host takes ``<number>.1`` (the host numbers its own headings after
    it); a part after takes the number after the host's last numbered heading.
    """
    parts = [k for k in PARTS if k in hosted and PARTS[k][0] == host]
    if not parts:
        return blocks
    before = [k for k in parts if PARTS[k][1]]
    after = [k for k in parts if not PARTS[k][1]]
    head: list[Block] = []
    for i, k in enumerate(before):
        head += [Heading(f"{number}.{i + 1} {PARTS[k][2]}"), *_part_blocks(data, k)]
    subs = [
        int(m.group(2))
        for b in head + blocks
        if isinstance(b, Heading) and (m := _SUB_NUMBER.match(b.text)) is not None
    ]
    # a host without numbered headings (flow) gives its parts unnumbered headings
    nxt = max(subs) + 1 if subs else None
    tail: list[Block] = []
    for k in after:
        label = PARTS[k][2] if nxt is None else f"{number}.{nxt} {PARTS[k][2]}"
        tail += [Heading(label), *_part_blocks(data, k)]
        nxt = None if nxt is None else nxt + 1
    return head + blocks + tail


def outline(data: Mapping[str, Any]) -> list[Block]:
    """Every block of the report, each section opened by its level-1 heading."""
    out: list[Block] = []
    for _key, heading, blocks in sections(data):
        out.append(Heading(heading, 1))
        out += blocks
    return out


def tlf_tables(data: Mapping[str, Any]) -> list[Table]:
    """Return the tables of the RTF file: baseline, efficacy, PROs, harms and generic sections."""
    known = _adapters()
    return [
        b
        for key, _heading, blocks in sections(data)
        if key in TLF_SECTIONS or (key not in known and key not in UNNUMBERED)
        for b in blocks
        if isinstance(b, Table)
    ]
