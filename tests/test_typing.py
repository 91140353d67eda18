"""`mypy` runs in the test suite: the package is type-checked strictly (issue 10).

The configuration is ``[tool.mypy]`` in pyproject.toml (``strict = true`` on
``efficacy``; libraries without type information are listed module by module; tests are
not checked). The test runs ``python -m mypy`` exactly as a developer does. mypy's
incremental cache (``.mypy_cache`` at the repository root, git-ignored) makes a repeated
run take a few seconds; a cold run analyses the package and the stubs it imports.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_clean() -> None:
    command = [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"mypy found problems (exit {proc.returncode}):\n{output}"
    assert output == "", output


def test_no_module_imports_what_mypy_skips() -> None:
    """The packages ``[tool.mypy]`` does not follow are imported by no module of efficacy.

    Their names are Any to mypy (they are reached only through other libraries'
    annotations), so an efficacy module that imported one would be checked loosely.
    """
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    skipped = {
        name.removesuffix(".*")
        for override in config["tool"]["mypy"]["overrides"]
        if override.get("follow_imports") == "skip"
        for name in override["module"]
    }
    assert skipped == {"IPython", "narwhals", "xarray"}
    names = "|".join(sorted(skipped))
    statement = re.compile(rf"^\s*(?:import|from)\s+(?:{names})\b", re.MULTILINE)
    imports = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in sorted((ROOT / "efficacy").rglob("*.py"))
        for match in statement.finditer(path.read_text(encoding="utf-8"))
    ]
    assert imports == []
