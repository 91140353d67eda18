"""`mypy` runs in the test suite: the package is type-checked strictly (issue 10).

The configuration is ``[tool.mypy]`` in pyproject.toml (``strict = true``; libraries
without type information are listed module by module). Until every module is clean,
the test checks the modules listed in :data:`CLEAN_FILES`; errors in the modules they
import are not reported (``--follow-imports=silent``), so each listed file must be clean
on its own. When the whole package is clean, set ``CLEAN_FILES = ()``: the test then runs
``mypy`` exactly as a developer does (``python -m mypy``, which checks ``efficacy``).

mypy's incremental cache (under ``.mypy_cache`` at the repository root, git-ignored)
makes a repeated run take a few seconds; a cold run analyses the package and its imports
(pandas, numpy and matplotlib stubs). The file-list run keeps its own cache folder: its
options differ from a plain ``mypy`` run's, and sharing one cache would rebuild it at
every switch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Modules (files, or folders checked whole) that are strict-clean; empty = the package.
CLEAN_FILES: tuple[str, ...] = (
    "efficacy/mmrm/__init__.py",
    "efficacy/mmrm/_likelihood.py",
    "efficacy/mmrm/_render.py",
    "efficacy/mmrm/_threads.py",
    "efficacy/mmrm/covariance.py",
    "efficacy/mmrm/ddf.py",
    "efficacy/mmrm/design.py",
    "efficacy/mmrm/inference.py",
    "efficacy/mmrm/modelmatrix.py",
    "efficacy/mmrm/spec.py",
    "efficacy/sim",
    "efficacy/io/_adam_map.py",
    "efficacy/io/_adam_visits.py",
    "efficacy/io/adam.py",
    "efficacy/instruments/_frames.py",
    "efficacy/instruments/_readings.py",
    "efficacy/instruments/catalogue.py",
    "efficacy/instruments/cutometer.py",
    "efficacy/instruments/derive.py",
    "efficacy/instruments/skindex16.py",
    "efficacy/instruments/supportive.py",
    "efficacy/validation/engine.py",
    "efficacy/validation/rules_cutometer.py",
    "efficacy/validation/rules_integrity.py",
    "efficacy/validation/rules_schema.py",
    "efficacy/validation/rules_standard.py",
    "efficacy/report/_format.py",
    "efficacy/report/_stats.py",
    "efficacy/report/figures.py",
    "efficacy/report/harms.py",
    "efficacy/report/outcome_figures.py",
)


def _mypy_command() -> list[str]:
    command = [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"]
    if CLEAN_FILES:
        cache = "--cache-dir=.mypy_cache/test_typing"
        return [*command, cache, "--follow-imports=silent", *CLEAN_FILES]
    return command  # [tool.mypy] files = ["efficacy"]


def test_clean_files_exist() -> None:
    missing = [f for f in CLEAN_FILES if not (ROOT / f).exists()]
    assert not missing, f"CLEAN_FILES names paths that do not exist (renamed?): {missing}"


def test_mypy_strict_clean() -> None:
    proc = subprocess.run(
        _mypy_command(), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"mypy found problems (exit {proc.returncode}):\n{output}"
    assert output == "", output
