"""Property tests (issue 11): mutated sample bundles never crash, hang or get modified.

Each example copies one sample bundle (whole, or cut to its first 12 subjects), applies a
hypothesis-chosen sequence of structure-aware mutations (tests/hostile/mutations.py:
cells, columns, rows, manifest keys and types, deep nesting, encodings, format swaps,
truncated / corrupt / missing files) and checks, per stage:

* read_trial + validate: only ``EfficacyError`` subclasses escape, no rule "crashed",
  no input file changes;
* analyze (``force=True``) + build_report written as html and json: the same;
* ``efficacy.cli.main``: exit code 0, 1 or 2, no traceback on stderr, a one-line
  message with exit 2, no input file changes.

Profiles (tests/hostile/profile.py, hypothesis profiles in tests/conftest.py):

* ``ci`` (default): 40 read+validate, 3 analyze+report, 8 CLI cases, derandomized
  (about 12 s CPU for the whole tests/hostile folder)::

    python -m pytest -q -n 2 tests/hostile

* ``long`` (on demand: 10,000 read+validate, 200 analyze+report, 250 CLI cases, random,
  example database in ~/.cache/efficacy-hypothesis; each property runs on one worker, so
  ~1-1.5 h on an idle 2-core machine, estimated from the census rates)::

    EFFICACY_HOSTILE=long python -m pytest -q -n 2 tests/hostile -p no:cacheprovider

* crash census (records every problem instead of failing, then groups them)::

    python -m tests.hostile.census --read 2500 --analyze 120 --cli 150 --out census.md

Known crashes that other issue-11 changes are fixing are tolerated through
``harness.KNOWN``; ``EFFICACY_HOSTILE_STRICT=1`` makes them fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import harness
from tests.hostile.mutations import SAMPLES, apply_all
from tests.hostile.profile import LIMITS, examples, profile_name
from tests.hostile.strategies import LIGHT, mutation_lists

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def _settings(kind: str) -> settings:
    return settings(max_examples=examples(kind), deadline=None, suppress_health_check=_SUPPRESS)


#: Whole sample bundles, and (three times as likely: 5-10x faster) cut to 12 subjects;
#: only the cut ones with EFFICACY_HOSTILE_BUNDLES=cut (fast long runs).
_CUT_ONLY = os.environ.get("EFFICACY_HOSTILE_BUNDLES") == "cut"
READ_BUNDLES = st.sampled_from(
    [*([] if _CUT_ONLY else SAMPLES), *(f"{s}@12" for s in SAMPLES for _ in range(3))]
)
#: flawed_split_face (15 subjects) takes ~35 s CPU to analyse on main (issue 11's slow
#: fits), so only the long profile uses it.
ANALYSIS_BUNDLES = st.sampled_from(
    ["parallel_12wk@40", "split_face_12wk@16", "flawed_pro"]
    + (["flawed_split_face"] if profile_name() == "long" else [])
)


def _copy(base: Path) -> Path:
    work = Path(tempfile.mkdtemp(prefix="hostile-"))
    return Path(shutil.copytree(base, work / "bundle"))


@_settings("read")
@given(bundle=READ_BUNDLES, mutations=mutation_lists())
def test_read_validate_only_efficacy_errors_inputs_unchanged(bases, bundle, mutations):
    folder = _copy(bases[bundle])
    try:
        apply_all(folder, mutations)
        problems = harness.read_validate(folder, mutations, bundle, LIMITS["read"])
    finally:
        shutil.rmtree(folder.parent)
    harness.settle(problems, "read")


@_settings("analyze")
@given(bundle=ANALYSIS_BUNDLES, mutations=LIGHT)
def test_analyze_report_only_efficacy_errors_inputs_unchanged(bases, bundle, mutations):
    folder = _copy(bases[bundle])
    try:
        apply_all(folder, mutations)
        problems = harness.analyze_report(
            folder, folder.parent / "out", mutations, bundle, LIMITS["analyze"]
        )
        written = sorted(p.name for p in (folder.parent / "out").glob("*"))
        if not problems:  # written completely, or not at all (an EfficacyError)
            assert written in ([], ["report.html", "report.json"]), written
    finally:
        shutil.rmtree(folder.parent)
    harness.settle(problems, "analyze")


#: Command lines; BUNDLE and OUT are replaced per example.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("validate", "BUNDLE"),
    ("validate", "BUNDLE", "--format", "json", "--fail-on", "warning"),
    ("validate", "BUNDLE/trial.toml", "--protocol", "PROTOCOL"),
    ("score", "BUNDLE", "--format", "json"),
    ("score", "BUNDLE", "--out", "OUT", "--faceq-table", "BUNDLE/faceq_conversion_SYNTHETIC.csv"),
    ("analyze", "BUNDLE", "--force", "--format", "json", "--out", "OUT"),
    ("report", "BUNDLE", "--format", "html,json", "--out", "OUT", "--fail-on", "never"),
)
#: Files passed as ``--protocol``: the built-in one, a missing one, a deeply nested one.
PROTOCOLS = ("iso-efficacy-2025", "missing.toml", "deep.toml", "junk.toml")


def _argv(command: tuple[str, ...], folder: Path, protocol: str) -> list[str]:
    out = folder.parent / "out"
    deep = folder.parent / "deep.toml"
    deep.write_text("x = " + "[" * 1000 + "]" * 1000 + "\n", encoding="utf-8")
    (folder.parent / "junk.toml").write_bytes(b"\xff\xfe[analysis\n")
    proto = protocol if "." not in protocol else str(folder.parent / protocol)
    swap = {"BUNDLE": str(folder), "OUT": str(out), "PROTOCOL": proto}
    return [swap.get(a.split("/")[0], a) + a[len(a.split("/")[0]) :] for a in command]


@_settings("cli")
@given(
    bundle=READ_BUNDLES,
    mutations=mutation_lists(max_content=3, max_files=1),
    command=st.sampled_from(COMMANDS),
    protocol=st.sampled_from(PROTOCOLS),
)
def test_cli_exit_0_1_2_no_traceback_inputs_unchanged(bases, bundle, mutations, command, protocol):
    folder = _copy(bases[bundle])
    try:
        apply_all(folder, mutations)
        argv = _argv(command, folder, protocol)
        problems = harness.run_cli(argv, folder, mutations, bundle, LIMITS["cli"])
    finally:
        shutil.rmtree(folder.parent)
    harness.settle(problems, "cli")
