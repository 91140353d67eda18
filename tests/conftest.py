"""Session-wide test set-up: hypothesis profiles, and the sample bundles computed once.

Hypothesis profiles (issue 11):

* ``ci`` (default): reproducible (derandomized), no example database, no deadline.
* ``long``: random, with an example database outside the repository
  (``$XDG_CACHE_HOME/efficacy-hypothesis``, default ``~/.cache/efficacy-hypothesis``);
  selected by ``EFFICACY_HOSTILE=long`` or ``HYPOTHESIS_PROFILE=long``. Example counts of
  the hostile suite per profile: tests/hostile/profile.py.

Sample bundles: reading a sample bundle, analysing it and building its report are the
expensive steps many tests share (design review, improvement 10: 38 call sites rebuilt
the same analysis or report). :class:`Samples` computes each of them once per test
session (once per xdist worker) under the default protocol and hands the same object to
every test that asks. The results are frozen dataclasses; a test that changes anything
works on a copy (``report.to_dict()`` is a deep copy; ``trial.subjects.copy()``).
Tests that need a result computed under other options (another protocol, a changed
bundle, an environment variable read at build time) still build their own.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from threadpoolctl import threadpool_limits

from tests.hostile.profile import profile_name

if TYPE_CHECKING:  # imported where used: the xdist controller loads this file, runs no test
    from efficacy import Trial
    from efficacy.analysis import AnalysisResult
    from efficacy.protocol import Protocol
    from efficacy.report import Report

_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "efficacy-hypothesis"

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    deadline=None,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(_CACHE),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(profile_name())

# One BLAS thread per test process. xdist already runs one worker per core (-n auto), and
# the matrices here are small: a second OpenBLAS thread per worker only spins for work
# (test_fit_r.py: 21.7 s user CPU with 2 threads, 16.0 s with 1). Results do not depend on
# the thread count (see efficacy/mmrm/_threads.py). An explicit OPENBLAS_NUM_THREADS wins;
# the variable also reaches the CLI subprocesses some tests start, and OpenBLAS reads it
# when numpy is first imported (usually after this file); threadpool_limits covers a numpy
# a plugin imported earlier.
_BLAS_THREADS = int(os.environ.setdefault("OPENBLAS_NUM_THREADS", "1") or 1)
threadpool_limits(limits=_BLAS_THREADS, user_api="blas")

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


class Samples:
    """The sample bundles of ``sample_data/``, each step computed at most once.

    ``trial(name)`` is ``read_trial(sample_data/name)``; ``analysis(name)`` is
    ``analyze(trial, DEFAULT_PROTOCOL)`` with warnings silenced (as the report runs it);
    ``report(name)`` is ``build_report(trial, protocol, analysis=analysis(name))`` and
    ``report(name, analysed=False)`` is ``build_report(trial)`` (sections 6-7 not run).
    ``report(name)`` checks that ``build_report`` left the analysis it was given unchanged.
    """

    def __init__(self) -> None:
        self._trials: dict[str, Trial] = {}
        self._analyses: dict[str, AnalysisResult] = {}
        self._reports: dict[tuple[str, bool], Report] = {}
        self._html: dict[tuple[str, bool], str] = {}
        self._protocol: Protocol | None = None

    @property
    def protocol(self) -> Protocol:
        """The default protocol (``iso-efficacy-2025``)."""
        if self._protocol is None:
            from efficacy.protocol import DEFAULT_PROTOCOL, load_protocol

            self._protocol = load_protocol(DEFAULT_PROTOCOL)
        return self._protocol

    def trial(self, name: str) -> Trial:
        """``read_trial`` of the sample bundle `name`."""
        if name not in self._trials:
            from efficacy.io import read_trial

            self._trials[name] = read_trial(SAMPLES / name)
        return self._trials[name]

    def analysis(self, name: str) -> AnalysisResult:
        """``analyze`` of the sample bundle under the default protocol."""
        if name not in self._analyses:
            from efficacy.analysis import analyze

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._analyses[name] = analyze(self.trial(name), self.protocol)
        return self._analyses[name]

    def report(self, name: str, analysed: bool = True) -> Report:
        """``build_report`` of the sample bundle, with its analysis or without."""
        key = (name, analysed)
        if key not in self._reports:
            from efficacy.report import build_report

            trial = self.trial(name)
            if analysed:
                import pandas as pd

                analysis = self.analysis(name)
                before = analysis.to_frame()
                report = build_report(trial, self.protocol, analysis=analysis)
                # the report reads the analysis, never changes it (checked wherever it is
                # built: tests/report/test_report_outcomes.py relies on this)
                pd.testing.assert_frame_equal(analysis.to_frame(), before)
            else:
                report = build_report(trial)
            self._reports[key] = report
        return self._reports[key]

    def html(self, name: str, analysed: bool = True) -> str:
        """``report(name, analysed).to_html()``."""
        key = (name, analysed)
        if key not in self._html:
            self._html[key] = self.report(name, analysed).to_html()
        return self._html[key]


@pytest.fixture(scope="session")
def samples() -> Samples:
    """The shared, lazily computed results of the sample bundles (see :class:`Samples`)."""
    return Samples()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("validate", path)`` runs ``efficacy validate path`` in this process.

    ``efficacy.cli.main(argv)`` with stdout and stderr captured, returned as the
    ``CompletedProcess`` a ``subprocess.run([... "efficacy", *argv])`` gives (``returncode``,
    ``stdout``, ``stderr``), without the second or so a new interpreter spends importing
    numpy, pandas, scipy and efficacy. What only a real process shows (the exit code of
    ``python -m efficacy``, no traceback on stderr) has its own subprocess tests:
    tests/sim/test_sample_cli.py::test_console_exit_code_and_one_line_error,
    tests/cli/test_cli_output.py::test_one_version_source.
    """

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        from efficacy.cli import main

        capsys.readouterr()  # what the test printed before is not the command's output
        code = main(list(argv))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["efficacy", *argv], code, out, err)

    return run


#: The longest test files (CPU seconds per file under load on the 2-core machine, issue
#: 10), started first. Under ``--dist loadfile`` each file is one unit of work handed to
#: the next free worker in collection order (``--no-loadscope-reorder`` in pyproject.toml:
#: xdist would otherwise order the files by their number of tests, and test_typing.py and
#: test_readme.py, with 2 and 3 tests, came last); a long file started last leaves the
#: other core idle while it finishes. Longest first keeps both busy.
LONGEST_FIRST = (
    "tests/test_typing.py",  # cold mypy cache (a fresh checkout): ~25 s; warm: ~2 s
    "tests/test_readme.py",  # ~25 s: the README's commands, its report PDF among them
    "tests/analysis/test_analysis_plan.py",  # ~12 s
    "tests/report/test_report_build.py",  # ~12 s
    "tests/test_robustness.py",  # ~11 s
    "tests/io/test_adam_real.py",  # ~10 s
    "tests/mmrm/test_fit_r.py",  # ~10 s
    "tests/hostile/test_hostile.py",  # ~10 s
    "tests/report/test_report_outcomes.py",  # ~9 s
    "tests/report/test_report_docx.py",  # ~8 s, LibreOffice
    "tests/analysis/test_analysis_small_trials.py",  # ~8 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files of `LONGEST_FIRST` first, in that order; the rest keep theirs."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    root = Path(__file__).resolve().parents[1]
    ranks: dict[Path, int] = {}  # per file: resolving a path is a few system calls

    def key(item: pytest.Item) -> int:
        if item.path not in ranks:
            try:
                relative = item.path.resolve().relative_to(root).as_posix()
            except ValueError:
                ranks[item.path] = len(rank)
            else:
                ranks[item.path] = rank.get(relative, len(rank))
        return ranks[item.path]

    items.sort(key=key)  # stable: the order within a file, and of the others, is kept


def pytest_configure(config: pytest.Config) -> None:
    """Collect tests with the garbage collector off; one collection at the session's end.

    `_collect_without_gc` says why the first. pytest's unraisable-exception plugin
    collects garbage five times as it unconfigures (to flush exceptions raised in
    finalisers); on a worker's heap at the end of the suite that is about 1.5 s, of which
    one pass finds every cycle the tests left. The passes after it only matter for
    finalisers that create new garbage (none here). Another pytest without this setting
    keeps its default.
    """
    _collect_without_gc(config)
    try:
        from _pytest.unraisableexception import gc_collect_iterations_key
    except ImportError:
        return
    config.stash[gc_collect_iterations_key] = 1


def _collect_without_gc(config: pytest.Config) -> None:
    """Switch the garbage collector off until `pytest_collection_finish` switches it on.

    Collecting imports every module and rewrites the asserts of every test file: hundreds
    of thousands of objects that live for the whole session, and the syntax trees of the
    rewriting, which refcounting frees. With CPython's default thresholds the collector
    ran about 19 full collections per worker meanwhile, each tracing the whole growing
    heap. Whole suite, two workers, timed with ``gc.callbacks`` (issue 10): the
    collector's CPU per worker fell from 3.3 s (2,150 young and 19 full collections) to
    1.4 s (150 and 3); peak memory did not change (630-710 MB per worker). Not in the
    xdist controller, which collects nothing and would never switch it back on.
    """
    import gc

    controller = getattr(config, "workerinput", None) is None and config.getoption(
        "numprocesses", None
    ) not in (None, 0)
    if not controller:
        gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the objects of the collected session out of every later garbage collection.

    Also switches the collector back on (`_collect_without_gc` switched it off).

    After collection a worker holds every imported module and test function; none of them
    becomes garbage during the run. ``gc.freeze()`` moves them to the permanent generation,
    so the collector stops re-scanning them, and a gen-0 threshold of 10 000 allocations
    (CPython's default is 700) runs the young collections less often. Measured on
    tests/analysis and tests/report, serial (issue 10): 3.1 s of the collector's CPU with
    the defaults, 1.8 s with these. The tests do not depend on when garbage is collected;
    the session's end still collects once (`pytest_configure`).
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    gc.enable()
