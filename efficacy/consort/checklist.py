"""The CONSORT 2025 checklist, evaluated against a trial's data, protocol and metadata.

The checklist is data (``efficacy/consort/data/consort2025.toml``): the 42 entries of
CONSORT 2025 (Hopewell et al. PLOS Med 2025;22(4):e1004587, CC BY 4.0: ids, sections
and topics; each description is our condensed paraphrase), the within-person extension
items (ids and our own paraphrased titles only: the extension is CC BY-NC, FACTS.md 6)
and the CONSORT-PRO items. :func:`evaluate_checklist` says for each entry whether it is
covered by the data (and where), by a statement attested in ``trial.toml`` ``[consort]``
(and which key), only partly, or not at all.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from efficacy.consort._checks import DATA_CHECKS, REPORT_PARTS, Evidence, Inputs
from efficacy.consort.flow import Flow
from efficacy.errors import EfficacyError
from efficacy.protocol import Protocol
from efficacy.trial import Trial

if TYPE_CHECKING:
    from efficacy.analysis import AnalysisResult

__all__ = [
    "REPORT_PARTS",
    "STATUSES",
    "Checklist",
    "ChecklistEntry",
    "checklist_items",
    "evaluate_checklist",
]

#: Entry statuses: covered by the data; attested in trial.toml; partly covered (the data
#: show part of it and nothing attests the rest); missing.
STATUSES: tuple[str, ...] = ("data", "attested", "partial", "missing")
_EXTENSIONS = {"item": "CONSORT 2025", "within_person": "within-person", "pro": "CONSORT-PRO"}


@cache
def _load() -> Mapping[str, Any]:
    text = (
        resources.files("efficacy.consort")
        .joinpath("data/consort2025.toml")
        .read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


def checklist_items() -> dict[str, Any]:
    """Return the checklist data: ``source`` (citation, licence, attribution) and entries.

    Returns
    -------
    dict
        ``source`` and the lists ``item`` (42 CONSORT 2025 entries: id, section, topic,
        text), ``within_person`` and ``pro`` (id, maps_to, title), each with the
        ``attested`` keys and ``data`` check that evaluate it.
    """
    data = _load()
    return {k: [dict(e) for e in v] if isinstance(v, list) else dict(v) for k, v in data.items()}


@dataclass(frozen=True)
class ChecklistEntry:
    """One evaluated checklist entry.

    Attributes
    ----------
    id : str
        ``"1a"`` ... ``"30"``; ``"WP-13a"`` (within-person), ``"P6a"`` (PRO).
    checklist : {"CONSORT 2025", "within-person", "CONSORT-PRO"}
    section, topic, text : str
        For extension items ``section`` is the CONSORT 2025 entry it maps to and
        ``text`` our paraphrased title.
    status : {"data", "attested", "partial", "missing"}
    where : str
        Where the data show it (table, column, protocol key, kind of result), or empty.
    shown_in : str
        The kind of result that shows it, one of :data:`REPORT_PARTS` (``flow``,
        ``baseline``, ``estimates``, ``sensitivity``, ``harms``), or empty; a report
        maps it to its own section.
    attested_keys : tuple of str
        ``[consort]`` keys (or ``items.<id>``) found attesting it.
    attested_text : tuple of str
        Their values (what the trial says and where it is reported).
    missing : str
        What to add when the entry is partial or missing; empty otherwise.
    """

    id: str
    checklist: str
    section: str
    topic: str
    text: str
    status: str
    where: str
    attested_keys: tuple[str, ...]
    attested_text: tuple[str, ...]
    missing: str
    shown_in: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {
            "shown_in": self.shown_in,
            "id": self.id,
            "checklist": self.checklist,
            "section": self.section,
            "topic": self.topic,
            "text": self.text,
            "status": self.status,
            "where": self.where,
            "attested_keys": list(self.attested_keys),
            "attested_text": list(self.attested_text),
            "missing": self.missing,
        }


@dataclass(frozen=True)
class Checklist:
    """The evaluated checklist: entries in order, counts and the attribution line."""

    entries: tuple[ChecklistEntry, ...]
    attribution: str
    citation: str
    extensions: tuple[str, ...]

    def counts(self, checklist: str = "CONSORT 2025") -> dict[str, int]:
        """Entries of `checklist` per status (every status present, zero included)."""
        out = dict.fromkeys(STATUSES, 0)
        for e in self.entries:
            if e.checklist == checklist:
                out[e.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: attribution, citation, extensions, counts and entries."""
        return {
            "attribution": self.attribution,
            "citation": self.citation,
            "extensions": list(self.extensions),
            "counts": {c: self.counts(c) for c in ("CONSORT 2025", *self.extensions)},
            "entries": [e.to_dict() for e in self.entries],
        }


def evaluate_checklist(
    trial: Trial,
    protocol: Protocol | None,
    flow: Flow,
    *,
    analysis: AnalysisResult | None = None,
) -> Checklist:
    """Evaluate every CONSORT 2025 entry (and the extensions that apply) for `trial`.

    Parameters
    ----------
    trial : Trial
        The trial; its ``[consort]`` manifest section holds the attested statements
        (named keys such as ``registration_id``, or ``[consort.items]`` keyed by entry
        id, e.g. ``"16a" = "protocol section 7"``).
    protocol : Protocol or None
        Its ``[analysis]`` plan covers the statistical-methods entries.
    flow : Flow
        From :func:`efficacy.consort.consort_flow` (entries 22a, 22b, 26).
    analysis : AnalysisResult, optional
        When given and analysed (``analysis.analysed``), the estimation entries (26,
        28) are covered by its estimates and sensitivity analyses; otherwise they are
        not, and say why ("efficacy analysis not run", or not performed and the
        reason).

    Returns
    -------
    Checklist
        CONSORT 2025's 42 entries, then the within-person items (split-face designs)
        and the CONSORT-PRO items (trials with PRO responses).

    Notes
    -----
    Status rule: a data check that covers the whole entry gives ``data``; otherwise an
    attested key gives ``attested``; a data check covering part of it gives
    ``partial``; else ``missing``. Entries with ``all_attested`` (registration,
    protocol and SAP) need every key attested; some of them give ``partial``.
    """
    if not isinstance(trial, Trial) or not isinstance(flow, Flow):
        raise EfficacyError(
            "evaluate_checklist(trial, protocol, flow): give an efficacy Trial and the "
            "Flow from efficacy.consort.consort_flow(trial, protocol)"
        )
    data = _load()
    inputs = Inputs(trial, protocol, flow, analysis)
    consort = trial.manifest.consort if isinstance(trial.manifest.consort, Mapping) else {}
    extensions = []
    entries = [_entry(e, "item", consort, inputs) for e in data["item"]]
    if trial.manifest.design == "split_face":
        extensions.append(_EXTENSIONS["within_person"])
        entries += [_entry(e, "within_person", consort, inputs) for e in data["within_person"]]
    if len(trial.pro_responses):
        extensions.append(_EXTENSIONS["pro"])
        entries += [_entry(e, "pro", consort, inputs) for e in data["pro"]]
    src = data["source"]
    return Checklist(tuple(entries), src["attribution"], src["citation"], tuple(extensions))


def _attested(entry: Mapping[str, Any], consort: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Keys (and values) of `consort` that attest `entry`."""
    keys, texts = [], []
    for key in entry.get("attested", ()):
        value = consort.get(key)
        if _given(value):
            keys.append(key)
            texts.append(str(value).strip())
    items = consort.get("items")
    if isinstance(items, Mapping) and _given(items.get(entry["id"])):
        keys.append(f"items.{entry['id']}")
        texts.append(str(items[entry["id"]]).strip())
    return keys, texts


def _given(value: Any) -> bool:
    return value is not None and not isinstance(value, Mapping | list) and bool(str(value).strip())


def _entry(
    entry: Mapping[str, Any], kind: str, consort: Mapping[str, Any], inputs: Inputs
) -> ChecklistEntry:
    keys, texts = _attested(entry, consort)
    wanted = tuple(entry.get("attested", ()))
    if (
        entry.get("all_attested")
        and len([k for k in keys if not k.startswith("items.")]) < len(wanted)
        and f"items.{entry['id']}" not in keys
    ):
        lacking = [k for k in wanted if k not in keys]
        keys_ok = False
    else:
        lacking = list(wanted)
        keys_ok = bool(keys)
    check: Callable[[Inputs], Evidence | None] | None = DATA_CHECKS.get(entry.get("data", ""))
    evidence = check(inputs) if check is not None else None
    reason = ""
    if evidence is not None and not evidence.where:  # not covered, with the reason why
        reason, evidence = evidence.missing, None
    if evidence is not None and evidence.complete:
        status = "data"
    elif keys_ok:
        status = "attested"
    elif evidence is not None or keys:  # part shown by the data, or some keys attested
        status = "partial"
    else:
        status = "missing"
    missing = ""
    if status in ("partial", "missing"):
        parts = [evidence.missing] if evidence is not None and evidence.missing else []
        parts += [reason] if reason else []
        if lacking:
            parts.append(
                "state in trial.toml, [consort] section: "
                + (" and " if entry.get("all_attested") else " or ").join(lacking)
            )
        elif not parts:
            parts.append(
                f"state in trial.toml, [consort.items] section: item {entry['id']} (where "
                "it is reported)"
            )
        missing = "; ".join(parts)
    ext = kind != "item"
    return ChecklistEntry(
        id=entry["id"],
        checklist=_EXTENSIONS[kind],
        section=f"CONSORT 2025 item {entry['maps_to']}" if ext else entry["section"],
        topic=entry["title"] + ("" if entry.get("confirmed", True) else " (unverified)")
        if ext
        else entry["topic"],
        text=entry["title"] if ext else entry["text"],
        status=status,
        where="" if evidence is None else evidence.where,
        shown_in="" if evidence is None or evidence.shown_in is None else evidence.shown_in,
        attested_keys=tuple(keys),
        attested_text=tuple(texts),
        missing=missing,
    )
