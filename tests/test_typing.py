"""`mypy` runs in the test suite: the package is type-checked strictly (issue 10).

The configuration is ``[tool.mypy]`` in pyproject.toml (``strict = true`` on
``efficacy``; libraries without type information are listed module by module; tests are
not checked). The test runs ``python -m mypy`` exactly as a developer does. mypy's
incremental cache (``.mypy_cache`` at the repository root, git-ignored) makes a repeated
run take a few seconds; a cold run analyses the package and the stubs it imports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_clean() -> None:
    command = [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"mypy found problems (exit {proc.returncode}):\n{output}"
    assert output == "", output
