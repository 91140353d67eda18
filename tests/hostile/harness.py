"""Run the package on a mutated bundle and turn every broken promise into a :class:`Problem`.

Promises (issue 11): no exception other than an ``EfficacyError`` subclass escapes the
API; no input file changes; every CLI run exits 0, 1 or 2 with no traceback on stderr;
nothing hangs (a per-case time limit turns a runaway case into a ``Timeout`` problem).

:func:`settle` decides what a test does with the problems of one case:

* a problem whose signature is in :data:`KNOWN` (a crash of the issue-11 list that
  another change is fixing) is recorded and tolerated, so CI stays green until the fix
  is merged; ``EFFICACY_HOSTILE_STRICT=1`` makes those fail too (use it after merging);
* any other problem fails the test with its signature and the mutations that caused it;
* with ``EFFICACY_HOSTILE_CENSUS=<file.jsonl>`` every problem is appended to that file
  and nothing fails (the crash census: ``python -m tests.hostile.census``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from efficacy.errors import EfficacyError
from tests.hostile.mutations import Mutation, describe, tree_hashes

PACKAGE = Path(__import__("efficacy").__file__).resolve().parent


@dataclass(frozen=True)
class Problem:
    """One broken promise: what (kind), where (stage, site) and which mutations."""

    kind: str  # exception | modified | exit | traceback | timeout
    stage: str  # read | validate | analyze | report | cli <command>
    type: str
    message: str
    site: str  # file:line of the raise (innermost frame)
    package_site: str  # innermost frame inside efficacy/
    mutations: str
    bundle: str

    @property
    def signature(self) -> str:
        """Type and raise site (package frame), stable across messages and mutations.

        Timeouts are one signature per stage (where the clock ran out is incidental).
        """
        if self.kind == "timeout":
            return f"timeout: {self.stage}"
        if self.kind == "rule-crashed":  # "rule crashed: <Type>: <message>"
            cause = self.message.removeprefix("rule crashed: ").split(":", 1)[0]
            return f"rule-crashed: {self.type} ({cause})"
        return f"{self.kind}: {self.type} at {self.package_site or self.site}"


class Timeout(BaseException):
    """A case ran past its time limit (a BaseException, so that no ``except`` eats it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Timeout` after `seconds` of process CPU time (main thread only).

    CPU time (``ITIMER_PROF``), not wall time, so that a loaded machine does not turn a
    slow-but-finite case into a timeout; a no-op outside the main thread.
    """
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return
    try:
        previous = signal.signal(signal.SIGPROF, _alarm)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _alarm(signum: int, frame: object) -> None:
    raise Timeout("time limit")


def _relative(filename: str) -> str:
    path = Path(filename).resolve()
    for root in (PACKAGE.parent, Path(sys.prefix)):
        with contextlib.suppress(ValueError):
            return str(path.relative_to(root))
    return filename


def _sites(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "", ""
    last = frames[-1]
    site = f"{_relative(last.filename)}:{last.lineno}"
    package = ""
    for frame in reversed(frames):
        if Path(frame.filename).resolve().is_relative_to(PACKAGE):
            package = f"{_relative(frame.filename)}:{frame.lineno}"
            break
    return site, package


_NUMBER = re.compile(r"\d+")


def exception_problem(
    exc: BaseException, stage: str, mutations: Sequence[Mutation], bundle: str
) -> Problem:
    """A :class:`Problem` for an exception that escaped `stage`."""
    site, package = _sites(exc)
    kind = "timeout" if isinstance(exc, Timeout) else "exception"
    message = " ".join(str(exc).split())[:300]
    return Problem(kind, stage, type(exc).__name__, message, site, package,
                   describe(mutations), bundle)  # fmt: skip


def message_problems(
    exc: EfficacyError, stage: str, mutations: Sequence[Mutation], bundle: str
) -> list[Problem]:
    """A ``message`` problem when an EfficacyError's message is empty or not one line."""
    text = str(exc).strip()
    if text and "\n" not in text and "\r" not in text:
        return []
    site, package = _sites(exc)
    return [Problem("message", stage, type(exc).__name__, repr(text)[:300], site, package,
                    describe(mutations), bundle)]  # fmt: skip


def unchanged(before: dict[str, str], folder: Path, stage: str, mutations, bundle) -> list[Problem]:
    """A ``modified`` problem when the input tree's hashes differ from `before`."""
    after = tree_hashes(folder)
    if after == before:
        return []
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return [Problem("modified", stage, "input changed", ", ".join(changed), "", "",
                    describe(mutations), bundle)]  # fmt: skip


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def read_validate(folder: Path, mutations, bundle: str, limit: float) -> list[Problem]:
    """read_trial + validate; return the problems (escaped exceptions, modified inputs)."""
    from efficacy import read_trial, validate

    before = tree_hashes(folder)
    problems: list[Problem] = []
    stage = "read"
    try:
        with quiet(), time_limit(limit):
            trial = read_trial(folder)
            stage = "validate"
            report = validate(trial)
            report.to_frame()
            crashed = {r: s.reason for r, s in report.rules.items() if "crashed" in s.reason}
            for rule, reason in sorted(crashed.items()):
                problems.append(Problem("rule-crashed", "validate", rule, reason[:300], "", "",
                                        describe(mutations), bundle))  # fmt: skip
    except EfficacyError as exc:
        problems += message_problems(exc, stage, mutations, bundle)
    except (Exception, Timeout, RecursionError, MemoryError) as exc:
        problems.append(exception_problem(exc, stage, mutations, bundle))
    return problems + unchanged(before, folder, "read+validate", mutations, bundle)


def analyze_report(folder: Path, out: Path, mutations, bundle: str, limit: float) -> list[Problem]:
    """read, validate, analyze (force) and build_report (html + json, no pdf)."""
    from efficacy import analyze, read_trial, validate
    from efficacy.report.model import build_report

    before = tree_hashes(folder)
    problems: list[Problem] = []
    stage = "read"
    try:
        with quiet(), time_limit(limit):
            trial = read_trial(folder)
            stage = "validate"
            validation = validate(trial)
            stage = "analyze"
            result = analyze(trial, force=True, validation=validation)
            stage = "report"
            report = build_report(trial, validation=validation, analysis=result)
            report.write(out, ("html", "json"))
    except EfficacyError as exc:
        problems += message_problems(exc, stage, mutations, bundle)
    except (Exception, Timeout, RecursionError, MemoryError) as exc:
        problems.append(exception_problem(exc, stage, mutations, bundle))
    return problems + unchanged(before, folder, "analyze+report", mutations, bundle)


def run_cli(argv: list[str], folder: Path, mutations, bundle: str, limit: float) -> list[Problem]:
    """``efficacy.cli.main(argv)`` in-process; exit code in {0, 1, 2}, no traceback."""
    from efficacy.cli import main

    before = tree_hashes(folder)
    stage = "cli " + argv[0]
    problems: list[Problem] = []
    out, err = io.StringIO(), io.StringIO()
    try:
        with quiet(), time_limit(limit), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):  # fmt: skip
            code = main(argv)
    except (Exception, Timeout, RecursionError, MemoryError, SystemExit) as exc:
        problems.append(exception_problem(exc, stage, mutations, bundle))
    else:
        text = err.getvalue()
        if code not in (0, 1, 2):
            problems.append(Problem("exit", stage, f"exit {code}", text[-300:], "", "",
                                    describe(mutations), bundle))  # fmt: skip
        if "Traceback" in text:
            problems.append(Problem("traceback", stage, "stderr", text[-300:], "", "",
                                    describe(mutations), bundle))  # fmt: skip
        if code == 2 and len(text.strip().splitlines()) != 1:
            problems.append(Problem("exit", stage, "not one line", text[-300:], "", "",
                                    describe(mutations), bundle))  # fmt: skip
    return problems + unchanged(before, folder, stage, mutations, bundle)


# -- known crashes ---------------------------------------------------------------------
#: (label, regex on "signature | stage | type | message") of crashes that are known and
#: being fixed, tolerated (recorded, not failed) until their fix lands. Empty: every
#: crash issue 11 listed is fixed, so any crash fails the suite. Never add one here
#: without a fix under way.
KNOWN: list[tuple[str, str]] = []

_TOLERATED: list[tuple[str, Problem]] = []


def known_label(problem: Problem) -> str | None:
    """The :data:`KNOWN` label `problem` matches, or None."""
    text = f"{problem.signature} | {problem.stage} | {problem.type} | {problem.message}"
    for label, pattern in KNOWN:
        if re.search(pattern, text):
            return label
    return None


def tolerated() -> list[tuple[str, Problem]]:
    """Known problems recorded (and tolerated) in this process so far."""
    return list(_TOLERATED)


def settle(problems: list[Problem], kind: str) -> None:
    """Record, tolerate or fail on the problems of one `kind` case (see the module docstring)."""
    census = os.environ.get("EFFICACY_HOSTILE_CENSUS")
    if census:
        with open(census, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"case": kind, "problems": len(problems)}) + "\n")
            for problem in problems:
                handle.write(json.dumps(asdict(problem)) + "\n")
        return
    strict = os.environ.get("EFFICACY_HOSTILE_STRICT") == "1"
    unknown = []
    for problem in problems:
        label = None if strict else known_label(problem)
        if label is None:
            unknown.append(problem)
        else:
            _TOLERATED.append((label, problem))
    assert not unknown, "\n".join(
        f"{p.signature} [{p.stage}] {p.message!r} (raised at {p.site}); bundle {p.bundle}; "
        f"mutations: {p.mutations}"
        for p in unknown
    )
