"""The ``efficacy protocols`` command: list the built-in protocols, or show one.

``efficacy protocols list [--format text|json]``;
``efficacy protocols show ID|FILE [--format text|json]``. Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from efficacy.cli._common import EXIT_OK, add_format, emit_json, print_table

if TYPE_CHECKING:
    from efficacy.protocol.estimands import Estimand

__all__ = ["HELP", "add_arguments", "run_protocols"]

HELP = "list or show protocols"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``protocols list`` and ``protocols show`` actions to `p`."""
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list the built-in protocols")
    add_format(listing)
    show = sub.add_parser("show", help="show one protocol's requirements and parameters")
    show.add_argument("protocol", metavar="ID|FILE", help="built-in id or protocol TOML file")
    add_format(show)


def run_protocols(args: argparse.Namespace) -> int:
    """Run ``efficacy protocols``; return the exit code (0)."""
    from efficacy.protocol import list_protocols, load_protocol

    if args.action == "list":
        protocols = list_protocols()
        rows = [
            {
                "id": p.id,
                "version": p.version,
                "title": p.title,
                "requirements": list(p.requirement_ids),
            }
            for p in protocols
        ]
        if args.format == "json":
            emit_json(rows)
        else:
            print_table(
                ["id", "version", "requirements", "title"],
                [[p.id, p.version, str(len(p.requirement_ids)), p.title] for p in protocols],
            )
        return EXIT_OK
    protocol = load_protocol(args.protocol)
    if args.format == "json":
        data = protocol.to_dict()
        if protocol.analysis is not None:  # declared or default: what the analysis uses
            data["estimands"] = [
                e.to_dict() | {"declared": e.declared} for e in protocol.analysis.estimands
            ]
        emit_json(data)
        return EXIT_OK
    head = f"{protocol.id} {protocol.version}: {protocol.title}\nsource: {protocol.source}"
    if protocol.extends:
        head += f"\nextends: {protocol.extends}"
    sys.stdout.write(head + "\n\n")
    print_table(
        ["requirement", "severity", "confidence", "check", "title", "source", "parameters"],
        [
            [
                r.id,
                r.severity,
                r.confidence or "-",
                r.check,
                r.title + (f" (claims: {', '.join(r.claims)})" if r.claims else ""),
                r.source,
                _params(r.parameters),
            ]
            for r in protocol.requirements
        ],
    )
    sys.stdout.write("\n[validation] " + _params(protocol.parameters) + "\n")
    if protocol.analysis is not None:
        _estimands(protocol.analysis.estimands)
    return EXIT_OK


def _estimands(estimands: Sequence[Estimand]) -> None:
    """Print the plan's estimands (declared, or the defaults), one table."""
    declared = any(e.declared for e in estimands)
    sys.stdout.write(
        "\n[analysis] estimands" + ("" if declared else " (defaults: none declared)") + "\n"
    )
    print_table(
        ["id", "variable", "visit", "population", "arms", "intercurrent events", "summary"],
        [
            [
                e.id,
                e.variable_of_interest_id,
                e.visit,
                e.analysis_population_id,
                ", ".join(e.intervention_ids) or "every active arm",
                "; ".join(f"{i.name}: {i.strategy}" for i in e.intercurrent_events) or "none",
                e.population_summary,
            ]
            for e in estimands
        ],
    )


def _params(values: Mapping[str, object]) -> str:
    def show(v: object) -> str:
        return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, tuple | list) else str(v)

    return "; ".join(f"{k} = {show(v)}" for k, v in values.items())
