"""A command imports what it uses: the libraries of other commands stay unloaded.

Starting a command costs the imports it triggers (pandas ~0.3 s, scipy.stats ~0.5 s,
matplotlib ~0.2 s, weasyprint ~0.5 s on the 2-core machine). The packages import their
names lazily (PEP 562, ``efficacy._lazy``) and the modules import a costly optional
library in the function that needs it; this test pins the result in one fresh process:
``protocols`` and ``classify`` load no pandas, numpy or pyarrow, and ``validate`` of a
CSV bundle loads none of the analysis, figure, document and SAS-file libraries.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Run in the child, in this order (each command sees the modules the ones before it loaded).
_CHILD = """
import contextlib, io, json, sys
from efficacy.cli import main

WATCHED = sys.argv[1].split(",")

def loaded(*argv):
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return [code, sorted(name for name in WATCHED if name in sys.modules)]

print(json.dumps({
    "protocols": loaded("protocols", "list"),
    "classify": loaded("classify", "sample_data/products/exosome_serum.toml"),
    "validate": loaded("validate", "sample_data/parallel_12wk"),
}))
"""

#: Data libraries a protocol or product file does not need.
DATA = ["numpy", "pandas", "pyarrow"]
#: What validating a CSV bundle does not need: the analysis (scipy, patsy, statsmodels,
#: the MMRM), figures and documents (matplotlib, jinja2, weasyprint, docx, openpyxl) and
#: SAS XPORT files (pyreadstat).
NOT_FOR_VALIDATE = [
    "docx",
    "efficacy.analysis",
    "efficacy.mmrm",
    "efficacy.report",
    "jinja2",
    "matplotlib",
    "openpyxl",
    "patsy",
    "pyreadstat",
    "scipy",
    "statsmodels",
    "weasyprint",
]


def test_commands_load_only_the_libraries_they_use() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, ",".join(DATA + NOT_FOR_VALIDATE)],
        cwd=ROOT,  # this checkout's package and sample data
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["protocols"] == [0, []]
    assert seen["classify"] == [0, []]
    assert seen["validate"] == [0, DATA]
