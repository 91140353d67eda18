"""The ``efficacy protocols`` command: list the built-in protocols, or show one.

``efficacy protocols list [--format text|json]``;
``efficacy protocols show ID|FILE [--format text|json]``. Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from efficacy.cli._common import EXIT_OK, add_format, emit_json, print_table

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
        emit_json(protocol.to_dict())
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
    return EXIT_OK


def _params(values: Mapping[str, object]) -> str:
    def show(v: object) -> str:
        return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, tuple | list) else str(v)

    return "; ".join(f"{k} = {show(v)}" for k, v in values.items())
