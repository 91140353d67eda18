"""The ``efficacy`` command line: parse, call the API, render, exit code.

Commands are registered in :data:`COMMANDS` (name -> :class:`Command`); each adds its
own sub-parser and runs with the parsed arguments, returning the exit code. Adding a
command (``score``, ``analyse``, ``report``, ``simulate``) is one more entry.

Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage error or unusable
input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from efficacy import __version__
from efficacy.analysis import command as _analyze
from efficacy.errors import EfficacyError
from efficacy.instruments import command as _score
from efficacy.report import command as _report

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


@dataclass(frozen=True)
class Command:
    """A sub-command: help line, argument set-up, and the function that runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (tables on a terminal, plain when piped) or json (default: text)",
    )


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# -- validate -----------------------------------------------------------------------------
def _validate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", metavar="BUNDLE", help="trial bundle folder (or its trial.toml)")
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="built-in protocol id or protocol TOML file (default: iso-efficacy-2025)",
    )
    _add_format(p)
    p.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="exit 1 when there are findings at or above this severity (default: error)",
    )
    p.add_argument(
        "--max-findings",
        metavar="N",
        type=int,
        default=None,
        help="list at most N findings per rule (counts stay complete); default: text "
        "shows 20 per rule, json lists all",
    )


def _run_validate(args: argparse.Namespace) -> int:
    from efficacy.io import read_trial
    from efficacy.validation import validate

    if args.max_findings is not None and args.max_findings < 1:
        raise EfficacyError(f"--max-findings {args.max_findings}: give a positive number")
    with _Progress(f"Reading and validating {args.bundle}"):
        trial = read_trial(args.bundle)
        report = validate(trial, args.protocol, max_findings_per_rule=args.max_findings)
    if args.format == "json":
        _emit_json({"bundle": str(args.bundle), **report.to_dict()})
    elif _is_tty(sys.stdout):
        from efficacy.validation.render import print_rich

        print_rich(report, max_per_rule=args.max_findings or 20)
    else:
        sys.stdout.write(report.summary(max_per_rule=args.max_findings or 20) + "\n")
    counts = report.counts
    failing = counts["error"] + (counts["warning"] if args.fail_on == "warning" else 0)
    return EXIT_FINDINGS if failing else EXIT_OK


class _Progress:
    """A rich spinner on stderr while work runs, only when stderr is a terminal."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._status: Any = None

    def __enter__(self) -> None:
        if _is_tty(sys.stderr):
            from rich.console import Console

            self._status = Console(stderr=True).status(self.text)
            self._status.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)


# -- protocols ----------------------------------------------------------------------------
def _protocols_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list the built-in protocols")
    _add_format(listing)
    show = sub.add_parser("show", help="show one protocol's requirements and parameters")
    show.add_argument("protocol", metavar="ID|FILE", help="built-in id or protocol TOML file")
    _add_format(show)


def _run_protocols(args: argparse.Namespace) -> int:
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
            _emit_json(rows)
        else:
            _print_table(
                ["id", "version", "requirements", "title"],
                [[r["id"], r["version"], str(len(r["requirements"])), r["title"]] for r in rows],
            )
        return EXIT_OK
    protocol = load_protocol(args.protocol)
    if args.format == "json":
        _emit_json(protocol.to_dict())
        return EXIT_OK
    head = f"{protocol.id} {protocol.version}: {protocol.title}\nsource: {protocol.source}"
    if protocol.extends:
        head += f"\nextends: {protocol.extends}"
    sys.stdout.write(head + "\n\n")
    _print_table(
        ["requirement", "severity", "check", "title", "parameters"],
        [
            [r.id, r.severity, r.check, r.title, _params(r.parameters)]
            for r in protocol.requirements
        ],
    )
    sys.stdout.write("\n[validation] " + _params(protocol.parameters) + "\n")
    return EXIT_OK


def _params(values: Any) -> str:
    def show(v: Any) -> str:
        return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, tuple | list) else str(v)

    return "; ".join(f"{k} = {show(v)}" for k, v in values.items())


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    """Print a rich table on a terminal, aligned plain text when piped."""
    if _is_tty(sys.stdout):
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(*header)
        for row in rows:
            table.add_row(*map(Text, row))
        Console().print(table)
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths[:-1], strict=True)]
        sys.stdout.write("  ".join([*cells, line[-1]]).rstrip() + "\n")


#: The sub-commands, in the order ``efficacy --help`` lists them.
COMMANDS: dict[str, Command] = {
    "validate": Command(
        "validate a trial bundle against a protocol", _validate_arguments, _run_validate
    ),
    "protocols": Command("list or show protocols", _protocols_arguments, _run_protocols),
    "score": Command(_score.HELP, _score.add_arguments, _score.run_score),
    "report": Command(_report.HELP, _report.add_arguments, _report.run_report),
    "analyze": Command(_analyze.HELP, _analyze.add_arguments, _analyze.run_analyze),
}


def build_parser() -> argparse.ArgumentParser:
    """Return the ``efficacy`` argument parser with every command of :data:`COMMANDS`."""
    parser = _Parser(
        prog="efficacy",
        description="Validate, analyse and report cosmetic efficacy trials.",
    )
    parser.add_argument("--version", action="version", version=f"efficacy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 clean, 1 findings, 2 usage/input).

    Misuse and unusable input (:class:`~efficacy.errors.EfficacyError`, ``OSError``) give
    one line on stderr and exit code 2, never a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage error (2) or --help / --version (0)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    try:
        return COMMANDS[args.command].run(args)
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        _silence_stdout()
        return EXIT_FINDINGS
    except (EfficacyError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        sys.stderr.write(f"efficacy: error: {message}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("efficacy: interrupted\n")
        return 130


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
