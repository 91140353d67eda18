"""The table shells of report section 8 (harms), from the section's row data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from efficacy.report._shell import shell

__all__ = ["harms_shells"]


def _cell_note(split: bool) -> str:
    who = "participants (site groups: body sites)" if split else "participants"
    return f"n (%) [events]: {who} with at least one event, % of N, number of events."


def _header(cols: Sequence[Mapping[str, Any]], first: str = "") -> list[str]:
    # arms by their id (the title block gives each arm's label), as submission shells do
    names = [c["label"] if c["key"] in ("SYSTEMIC", "ALL", "TOTAL") else c["key"] for c in cols]
    return [first, *(f"{n} {c['head']}" for n, c in zip(names, cols, strict=True))]


def _cells(rows: Sequence[Mapping[str, Any]], cols: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    return [[str(r["label"]), *(r["cells"][c["key"]]["text"] for c in cols)] for r in rows]


def _listing(
    table_id: str, title: str, events: Sequence[Mapping[str, Any]], none: str
) -> dict[str, Any]:
    header = ["Participant", "Group", "Organ class", "Event", "Onset day", "Severity"]
    header += ["Serious", "Related", "Fatal"]

    def yes(v: Any) -> str:
        return "" if v is None else ("yes" if v else "no")

    rows = [
        [
            e["subject_id"],
            e["group"],
            e["soc"] or "",
            e["term"],
            "" if e["onset_day"] is None else str(e["onset_day"]),
            e["severity"] or "",
            yes(e["serious"]),
            yes(e["related"]),
            yes(e["fatal"]),
        ]
        for e in events
    ]
    return shell(table_id, title, header, rows, footnotes=[] if rows else [none])


def harms_shells(data: Mapping[str, Any], split: bool) -> list[dict[str, Any]]:
    """Return the shells of section 8 (summary, by class or term, listings).

    Summary, SOC/PT (or reported term), maximum severity, relatedness, body site, and
    the listings of serious events, discontinuations and deaths.
    """
    cols = data["columns"]
    cell = [_cell_note(split), f"N: {data['population']}."]
    tables = [
        shell(
            "harms_summary",
            "Table 8.1 Adverse events: summary",
            _header(cols),
            _cells(data["summary"], cols),
            footnotes=[
                *cell,
                "Leading to discontinuation: from "
                + data["discontinuation_source"].replace(".", " column ", 1)
                + ".",
                *(
                    []
                    if data["deaths_recorded"]
                    else ["Deaths: not shown, the adverse_events table has no fatal column."]
                ),
            ],
        )
    ]
    if data["coded"]:
        rows = data["by_soc_pt"]
        tables.append(
            shell(
                "harms_soc_pt",
                "Table 8.2 Adverse events by system organ class and preferred term",
                _header(cols, "System organ class / preferred term"),
                _cells(rows, cols),
                indent=[max(0, int(r["level"]) - 1) for r in rows],
                footnotes=[
                    *cell,
                    "Coding as supplied in adverse_events.soc and .pt (efficacy ships no "
                    "MedDRA dictionary); a participant counts once per class and per term.",
                ],
            )
        )
    else:
        tables.append(
            shell(
                "harms_term",
                "Table 8.2 Adverse events by reported term (most participants first)",
                _header(cols, "Reported term"),
                _cells(data["by_term"], cols),
                footnotes=[
                    *cell,
                    "The adverse events are not coded (no soc and pt columns): shown by the "
                    "reported term.",
                ],
            )
        )
    tables += [
        shell(
            "harms_severity",
            "Table 8.3 Adverse events by maximum severity",
            _header(cols, "Worst severity"),
            _cells(data["by_severity"], cols),
            footnotes=[
                *cell,
                "Each participant (site) counts once, at the worst severity of their "
                "events; [events]: every event of the participants in that row.",
            ],
        ),
        shell(
            "harms_relatedness",
            "Table 8.4 Adverse events by relatedness to the product",
            _header(cols, "Relatedness"),
            _cells(data["by_relatedness"], cols),
            footnotes=[*cell, "A participant with related and unrelated events counts in both."],
        ),
        shell(
            "harms_body_site",
            "Table 8.5 Adverse events by body site",
            _header(cols, "Body site"),
            _cells(data["by_body_site"], cols),
            footnotes=cell,
        ),
        _listing(
            "harms_serious_listing",
            "Listing 8.6 Serious adverse events, per participant",
            data["serious"],
            "No serious adverse event was reported.",
        ),
        _listing(
            "harms_discontinuation_listing",
            "Listing 8.7 Adverse events leading to discontinuation, per participant",
            data["discontinued"],
            "No adverse event led to discontinuation.",
        ),
    ]
    if data["deaths"] is not None:
        tables.append(
            _listing(
                "harms_deaths_listing",
                "Listing 8.8 Deaths (fatal adverse events)",
                data["deaths"],
                "No death was reported.",
            )
        )
    if split:
        for t in tables:
            t["footnotes"].append(
                "Split-face: an event at a body site counts in that site's group; events "
                "without a site are not site-specific."
            )
    return tables
