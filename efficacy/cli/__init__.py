"""The ``efficacy`` command line: parse, call the API, render, exit code.

One module per command (:mod:`~efficacy.cli.validate`, :mod:`~efficacy.cli.protocols`,
:mod:`~efficacy.cli.score`, :mod:`~efficacy.cli.analyze`, :mod:`~efficacy.cli.report`,
:mod:`~efficacy.cli.export`, :mod:`~efficacy.cli.classify`, :mod:`~efficacy.cli.plan`,
:mod:`~efficacy.cli.claims`),
registered in :data:`COMMANDS` (name -> :class:`Command`); each adds its own sub-parser
and runs with the parsed arguments, returning the exit code. Every file a command writes
goes through one writer (:mod:`efficacy._atomic`): the output folder is checked before
any work, files are rendered to temporary files and renamed into place together, with
mode 0644 under umask 022, and the command prints where it wrote them.

Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage error or unusable
input (one line on stderr, no traceback), 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM); an interrupted or terminated command leaves no temporary files and the
previous output files as they were.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from efficacy import __version__
from efficacy.cli import analyze as _analyze
from efficacy.cli import claims as _claims
from efficacy.cli import classify as _classify
from efficacy.cli import export as _export
from efficacy.cli import plan as _plan
from efficacy.cli import protocols as _protocols
from efficacy.cli import report as _report
from efficacy.cli import score as _score
from efficacy.cli import validate as _validate
from efficacy.cli._common import EXIT_FINDINGS, EXIT_USAGE, Command, Parser
from efficacy.errors import EfficacyError, one_line

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

#: The sub-commands, in the order ``efficacy --help`` lists them.
COMMANDS: dict[str, Command] = {
    "validate": Command(_validate.HELP, _validate.add_arguments, _validate.run_validate),
    "protocols": Command(_protocols.HELP, _protocols.add_arguments, _protocols.run_protocols),
    "score": Command(_score.HELP, _score.add_arguments, _score.run_score),
    "report": Command(_report.HELP, _report.add_arguments, _report.run_report),
    "analyze": Command(_analyze.HELP, _analyze.add_arguments, _analyze.run_analyze),
    "export": Command(_export.HELP, _export.add_arguments, _export.run_export),
    "classify": Command(_classify.HELP, _classify.add_arguments, _classify.run_classify),
    "plan": Command(_plan.HELP, _plan.add_arguments, _plan.run_plan),
    "claims": Command(_claims.HELP, _claims.add_arguments, _claims.run_claims),
}


def build_parser() -> Parser:
    """Return the ``efficacy`` argument parser with every command of :data:`COMMANDS`."""
    parser = Parser(
        prog="efficacy",
        description="Validate, analyse and report cosmetic efficacy trials.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"efficacy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 clean, 1 findings, 2 usage/input).

    Misuse and unusable input (:class:`~efficacy.errors.EfficacyError`, ``OSError``) give
    one line on stderr and exit code 2, never a traceback; Ctrl-C gives exit code 130
    and SIGTERM 143, and both leave the files of the previous run as they were.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage error (2) or --help / --version (0)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    with _sigterm_as_exception():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command].run(args)
    except _Terminated:  # `kill`: temporary files removed, previous files kept
        sys.stderr.write("efficacy: terminated\n")
        return 128 + signal.SIGTERM
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        _silence_stdout()
        return EXIT_FINDINGS
    except (EfficacyError, OSError) as exc:
        sys.stderr.write(f"efficacy: error: {one_line(exc) or type(exc).__name__}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("efficacy: interrupted\n")
        return 130


class _Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so that every writer cleans up on the way out."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass
