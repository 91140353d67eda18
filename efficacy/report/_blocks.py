"""The report as a sequence of blocks (headings, paragraphs, table shells, figures).

:func:`outline` walks the report data in report order and turns each section into
blocks through its adapter (:mod:`efficacy.report._adapt_main`,
:mod:`efficacy.report._adapt_outcomes`); a section it does not know is rendered
generically when it carries a ``tables`` list of shell dicts (:mod:`efficacy.report.shells`).
The DOCX writer renders every block; the RTF writer the tables of :func:`tlf_tables`.
Nothing here computes a number: every string is a value of the report data, formatted.
"""

from __future__ import annotations

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
    "title_block",
    "synopsis",
    "verdict",
    "flow",
    "checklist",
    "baseline",
    "efficacy",
    "pros",
    "harms",
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
    >>> report_order({"appendices": {}, "baseline": {}, "subgroups": {}, "title_block": {}})
    ['title_block', 'baseline', 'subgroups', 'appendices']
    """
    keys = list(data)
    known = [k for k in keys if k in ORDER]
    if known == sorted(known, key=ORDER.index):
        return keys
    others = [k for k in keys if k not in ORDER]
    ordered = sorted(known, key=ORDER.index)
    at = ordered.index("appendices") if "appendices" in ordered else len(ordered)
    return ordered[:at] + others + ordered[at:]


def sections(data: Mapping[str, Any]) -> list[tuple[str, str, list[Block]]]:
    """Return ``(key, heading, blocks)`` for each rendered section, in report order.

    Known sections go through their adapter (with the full report, since e.g. the verdict
    heading names the protocol); any other mapping with a ``tables`` list is generic.
    Tables are numbered ``<section>.<k>`` in order.
    """
    adapters = _adapters()
    out: list[tuple[str, str, list[Block]]] = []
    for key in report_order(data):
        section = data[key]
        if key in adapters:
            title, adapt = adapters[key]
            blocks = adapt(data)
        elif isinstance(section, Mapping) and isinstance(section.get("tables"), list):
            title, blocks = _title(key, section, None), generic(section)
        else:
            continue
        number = len(out) + 1
        k = 0
        numbered: list[Block] = []
        for b in blocks:
            if isinstance(b, Table):
                k += 1
                b = Table(b.shell, f"{number}.{k}")
            numbered.append(b)
        if key == "verdict":
            tb = data.get("title_block") or {}
            proto = tb.get("protocol") or {}
            title = f"Verdict against {proto.get('id', '')} {proto.get('version', '')}".strip()
        out.append((key, f"{number}. {title}", numbered))
    return out


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
        if key in TLF_SECTIONS or key not in known
        for b in blocks
        if isinstance(b, Table)
    ]
