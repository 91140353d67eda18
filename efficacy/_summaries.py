"""Short summaries of the main objects, as plain text and as notebook HTML.

Each ``*_rows`` function returns ``(title, [(label, text), ...])``; :func:`as_text` and
:func:`as_html` render it (the HTML escapes every value). ``Trial``, ``Protocol`` and
``Report`` call these from their ``summary()`` and ``_repr_html_()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from efficacy.protocol import Protocol
    from efficacy.trial import Trial

__all__ = [
    "Rows",
    "as_html",
    "as_text",
    "protocol_html",
    "protocol_repr",
    "protocol_rows",
    "protocol_summary",
    "report_rows",
    "trial_html",
    "trial_repr",
    "trial_rows",
    "trial_summary",
]

Rows = tuple[str, list[tuple[str, str]]]


def as_text(rows: Rows) -> str:
    """Render ``(title, rows)`` as lines: the title, then ``label: text`` indented."""
    title, items = rows
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join([title, *(f"  {k:<{width}}  {v}" for k, v in items)])


def as_html(rows: Rows) -> str:
    """Render ``(title, rows)`` as a bold title and a two-column table (escaped)."""
    title, items = rows
    body = "".join(
        f'<tr><th style="text-align:left">{escape(k)}</th>'
        f'<td style="text-align:left">{escape(v)}</td></tr>'
        for k, v in items
    )
    return f"<p><b>{escape(title)}</b></p><table>{body}</table>"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def trial_rows(trial: Trial) -> Rows:
    """Summarise a trial: design, arms, visits, tables with their rows and files."""
    m = trial.manifest
    arms = "; ".join(f"{a.id} ({a.label}{', control' if a.control else ''})" for a in m.arms)
    final = m.final_visit.id if m.final_visit else None
    visits = ", ".join(
        v.id
        + (" baseline" if v.id == m.baseline_visit else "")
        + (" final" if v.id == final else "")
        + f" (day {v.day})"
        for v in m.visits
    )
    s = trial.subjects
    randomised = int(s["randomized"].astype("boolean").fillna(False).sum())
    items = [
        ("design", str(m.design)),
        ("arms", arms or "none declared"),
        ("visits", visits or "none declared"),
        ("participants", f"{trial.subjects_unique().shape[0]} listed, {randomised} randomised"),
    ]
    for name in ("subjects", "measurements", "pro_responses", "adverse_events"):
        src = trial.sources.get(name)
        where = f" ({src.path.name})" if src is not None and src.path is not None else ""
        items.append((name, _plural(len(trial.table(name)), "row") + where))
    n_issues = len(trial.issues)
    if n_issues:
        items.append(("reading issues", f"{n_issues} (validation lists them as findings)"))
    return f"Trial {m.id or '(no id)'}: {m.title}", items


def protocol_rows(protocol: Protocol) -> Rows:
    """Summarise a protocol: source, requirements, and its analysis plan's endpoints."""
    items = [("source", protocol.source)]
    if protocol.extends:
        items.append(("extends", protocol.extends))
    items += [(r.id, f"{r.title} ({r.severity})") for r in protocol.requirements]
    plan = protocol.analysis
    if plan is None:
        items.append(("analysis plan", "none"))
    else:
        items.append(("primary endpoint", plan.primary))
        if plan.key_secondary:
            items.append(("key secondary", ", ".join(plan.key_secondary)))
    return f"Protocol {protocol.id} {protocol.version}: {protocol.title}", items


def report_rows(data: Mapping[str, Any]) -> Rows:
    """Summarise a report: verdict per requirement, findings, primary estimate, inputs."""
    tb, v = data["title_block"], data["verdict"]
    items = [("verdict", str(v["overall"]))]
    items += [(q["id"], f"{q['verdict']}: {q['title']}") for q in v["requirements"]]
    c = data["appendices"]["validation"]["counts"]
    items.append(
        (
            "findings",
            f"{_plural(c['error'], 'error')}, {_plural(c['warning'], 'warning')}, "
            f"{_plural(c['notice'], 'notice')}",
        )
    )
    eff = data.get("efficacy") or {}
    if eff.get("status") == "run":
        items += _primary(eff["result"])
    else:
        items.append(("efficacy", str(eff.get("message") or "not run")))
    items.append(("input files", ", ".join(f["file"] for f in tb["inputs"])))
    title = f"Conformance report {tb['trial_id']} against {tb['protocol']['id']} "
    return title + str(tb["protocol"]["version"]), items


def _primary(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows: Sequence[Mapping[str, Any]] = result.get("summary") or []
    out = []
    for x in rows:
        if x.get("role") == "primary":
            out.append(
                (
                    f"primary, {x['population_label']}",
                    f"{x['label']} at {x['visit']}: {x['estimate']:.4g} "
                    f"({x['conf_low']:.4g} to {x['conf_high']:.4g}), p = {x['p_value']:.3g}",
                )
            )
    return out or [("efficacy", "no estimates")]


def trial_summary(trial: Trial) -> str:
    """Plain-text summary: design, arms, visits, participants, tables and their files."""
    return as_text(trial_rows(trial))


def trial_html(trial: Trial) -> str:
    """Notebook view of a trial (the summary as an escaped table)."""
    return as_html(trial_rows(trial))


def trial_repr(trial: Trial) -> str:
    """Return a one-line repr: id, design and table sizes (not the tables themselves)."""
    sizes = ", ".join(
        f"{len(trial.table(n))} {n}"
        for n in ("subjects", "measurements", "pro_responses", "adverse_events")
    )
    return f"<Trial {trial.manifest.id or '(no id)'}: {trial.manifest.design}, {sizes}>"


def protocol_summary(protocol: Protocol) -> str:
    """Plain-text summary: source, requirements and the analysis plan's endpoints."""
    return as_text(protocol_rows(protocol))


def protocol_html(protocol: Protocol) -> str:
    """Notebook view of a protocol (the summary as an escaped table)."""
    return as_html(protocol_rows(protocol))


def protocol_repr(protocol: Protocol) -> str:
    """Return a one-line repr: id, version, requirement ids, whether it has a plan."""
    plan = "analysis plan" if protocol.analysis is not None else "no analysis plan"
    ids = ", ".join(r.id for r in protocol.requirements) or "no requirements"
    return f"<Protocol {protocol.id} {protocol.version}: {ids}; {plan}>"
