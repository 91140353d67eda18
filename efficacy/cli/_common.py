"""Shared pieces of the ``efficacy`` commands: parser, exit codes, output helpers."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from efficacy.errors import one_line

if TYPE_CHECKING:  # rich is imported only when stderr is a terminal
    from rich.status import Status

    from efficacy.trial import Trial

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "Parser",
    "Progress",
    "add_format",
    "add_input",
    "emit_json",
    "is_tty",
    "print_table",
    "print_written",
    "read_input_args",
    "relay_warnings",
    "require_control",
]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem and the help option, then exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


@dataclass(frozen=True)
class Command:
    """A sub-command: help line, argument set-up, and the function that runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def add_format(parser: argparse.ArgumentParser) -> None:
    """Add ``--format text|json`` to `parser`."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (tables on a terminal, plain when piped) or json (default: text)",
    )


#: Help of the input argument every data command takes (see :func:`add_input`).
INPUT_HELP = (
    "trial bundle folder (or its trial.toml), a folder of CDISC ADaM datasets (adsl.* "
    "plus BDS datasets, adae.* / addv.* when present), or a bundle whose trial.toml "
    "points [tables] at ADaM datasets"
)


def add_input(parser: argparse.ArgumentParser) -> None:
    """Add the input argument (``bundle``) and the ADaM options to `parser`."""
    parser.add_argument("bundle", metavar="PATH", help=INPUT_HELP)
    parser.add_argument(
        "--control",
        metavar="ARM",
        default=None,
        help="ADaM input: TRT01P of the control arm (default: the arm with TRT01PN = 0, "
        "else the arm named placebo, vehicle or control)",
    )
    parser.add_argument(
        "--analysis-flag",
        metavar="VAR",
        default=None,
        help="ADaM input: analyse BDS records with VAR = 'Y' (default: ANL01FL when "
        "present; 'none' keeps every record)",
    )


def read_input_args(args: argparse.Namespace) -> Trial:
    """Read the command's input (bundle, ADaM folder or ADaM bundle) as one Trial.

    The one place the commands detect their input (:func:`efficacy.io.read_input`).
    """
    from efficacy.io import read_input

    return read_input(
        args.bundle,
        control=getattr(args, "control", None),
        analysis_flag=getattr(args, "analysis_flag", None),
    )


def require_control(trial: Trial) -> None:
    """Refuse ADaM input whose control arm is unknown (no TRT01PN = 0, no arm named so).

    Raises
    ------
    UsageError
        Naming the arms and the ``--control ARM`` option (exit code 2).
    """
    from efficacy.errors import UsageError

    m = trial.manifest
    if "adam" not in m.raw or len(m.control_arms) == 1 or len(m.arms) < 2:
        return
    arms = ", ".join(repr(a.id) for a in m.arms)
    found = "no arm has TRT01PN = 0 or a name with placebo, vehicle or control"
    if m.control_arms:
        found = f"{len(m.control_arms)} arms qualify"
    raise UsageError(
        f"{m.id or 'ADaM input'}: which arm is the control? {found}; name it with "
        f"--control ARM (one of {arms})"
    )


def is_tty(stream: TextIO) -> bool:
    """Return True when `stream` is a terminal."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def emit_json(data: Any) -> None:
    """Write `data` as indented JSON (UTF-8 text) to standard output."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


@contextmanager
def relay_warnings() -> Iterator[None]:
    """Show the warnings raised in the block as ``efficacy: warning: ...`` lines on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        sys.stderr.write(f"efficacy: warning: {one_line(w.message)}\n")


def print_written(paths: Iterable[Path], what: str = "") -> None:
    """Say where files were written: one ``wrote PATH`` line per file on stdout."""
    for path in paths:
        sys.stdout.write(f"wrote {path}{f' ({what})' if what else ''}\n")


class Progress:
    """A rich spinner on stderr while work runs, only when stderr is a terminal.

    Calling it (``progress("fitting cutometer_r2 (itt)")``) shows that step beside the
    spinner's text: it is the ``progress`` hook the library's long functions take.
    Quiet (a no-op) when stderr is not a terminal.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._status: Status | None = None

    def __enter__(self) -> Progress:
        if is_tty(sys.stderr):
            from rich.console import Console

            self._status = Console(stderr=True).status(self.text)
            self._status.__enter__()
        return self

    def __call__(self, step: str) -> None:
        """Show `step` (what starts now) after the spinner's text."""
        if self._status is not None:
            self._status.update(f"{self.text}: {step}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.__exit__(exc_type, exc, tb)


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """Print a rich table on a terminal, aligned plain text when piped."""
    if is_tty(sys.stdout):
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
