"""Benchmark: what a fresh process pays to start a command (imports), here and on a peer.

Usage::

    python benchmarks/bench_imports.py                      # median of 5, peer 0433ae2
    python benchmarks/bench_imports.py --repeat 9 --only validate,protocols
    python benchmarks/bench_imports.py --peer ""            # this checkout only
    python benchmarks/bench_imports.py --collect            # add a worker's collection

Each case is a new interpreter (``python -c``) started in the checkout's root, so that
``import efficacy`` is that checkout's package; its CPU time (user + system, from
``resource.getrusage(RUSAGE_CHILDREN)``: interpreter start, imports, the command, exit)
is the quantity, medians of `--repeat` runs, the runs of this checkout and of the peer
(``git archive`` of `--peer` into a temporary folder) alternating so that a change in
the machine's load hits both alike. The child also reports which of the costly
libraries it loaded (``sys.modules``), so a ratio comes with its reason.

Cases: ``import efficacy``; ``efficacy --version``; ``protocols list``; ``classify`` of
a product file; ``validate``, ``analyze`` and ``report --format json`` of the sample
bundle; the child of tests/io/test_io_hostile.py (``efficacy.io._files`` alone); and
with ``--collect`` the test collection of one xdist worker (``pytest --collect-only
-n0``, the same in every worker). Commands run in process through
``efficacy.cli.main`` with stdout discarded (what ``python -m efficacy`` does, minus
``runpy``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import ROOT, extract_commit

#: Libraries whose presence in ``sys.modules`` the children report.
WATCHED = (
    "pandas",
    "pyarrow",
    "pyreadstat",
    "scipy.stats",
    "scipy.optimize",
    "patsy",
    "statsmodels",
    "pingouin",
    "matplotlib",
    "jinja2",
    "weasyprint",
    "openpyxl",
    "docx",
    "hypothesis",
)

_REPORT = """
import contextlib, io, json, sys
def _loaded():
    return sorted(n for n in {watched!r} if n in sys.modules)
"""

_CLI = """
from efficacy.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({argv!r})
assert code in (0, 1), code
"""

#: Case name -> Python code (after `_REPORT`); ``{out}`` is a scratch folder.
CASES: dict[str, str] = {
    "import efficacy": "import efficacy",
    "--version": _CLI.format(argv=["--version"]).replace("assert code in (0, 1), code", ""),
    "protocols list": _CLI.format(argv=["protocols", "list"]),
    "classify": _CLI.format(argv=["classify", "sample_data/products/exosome_serum.toml"]),
    "validate": _CLI.format(argv=["validate", "sample_data/parallel_12wk"]),
    "analyze": _CLI.format(argv=["analyze", "sample_data/parallel_12wk"]),
    "report json": _CLI.format(
        argv=["report", "sample_data/parallel_12wk", "--format", "json", "--out", "{out}"]
    ),
    "io child": "from efficacy.io._files import read_text",
}

_COLLECT = "collect (worker)"


def _cpu_of(argv: list[str], cwd: Path) -> tuple[float, list[str]]:
    """CPU seconds (user + system) of the child `argv` run in `cwd`, and its report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[-1][:60]!r} in {cwd} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = proc.stdout.strip().splitlines()
    loaded = json.loads(lines[-1]) if lines and lines[-1].startswith("[") else []
    return cpu, loaded


def _argv(case: str, out: Path) -> list[str]:
    if case == _COLLECT:
        return [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-n0",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
    code = _REPORT.format(watched=WATCHED) + CASES[case].replace("{out}", str(out))
    return [sys.executable, "-c", code + "\nprint(json.dumps(_loaded()))\n"]


def run(
    cases: list[str], trees: dict[str, Path], repeat: int
) -> dict[str, dict[str, tuple[float, list[str]]]]:
    """Median CPU and the loaded libraries of every case in every tree (runs alternate)."""
    times: dict[tuple[str, str], list[float]] = {}
    loaded: dict[tuple[str, str], list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        for case in cases:
            for i in range(repeat):
                for name, root in trees.items():
                    out = Path(tmp) / f"{name}-{i}"
                    cpu, mods = _cpu_of(_argv(case, out), root)
                    times.setdefault((case, name), []).append(cpu)
                    loaded[case, name] = mods
    return {
        case: {name: (statistics.median(times[case, name]), loaded[case, name]) for name in trees}
        for case in cases
    }


def main() -> None:
    """Run the benchmark and print medians, ratios and the libraries each side loaded."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--peer", default="0433ae2", help="commit to compare with ('' = none)")
    ap.add_argument("--only", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--collect", action="store_true", help="add a worker's test collection")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.only or c in args.only.split(",")]
    if args.collect:
        cases.append(_COLLECT)
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        trees = {"this": ROOT}
        if args.peer:
            trees["peer"] = extract_commit(args.peer, Path(tmp))
        results = run(cases, trees, args.repeat)
    print(f"median CPU s (user+sys) of {args.repeat} fresh processes; peer = {args.peer or '-'}")
    print(f"{'case':<18}{'this':>8}{'peer':>8}{'peer/this':>11}  loaded here / only on the peer")
    for case, sides in results.items():
        this_cpu, this_mods = sides["this"]
        line = f"{case:<18}{this_cpu:8.2f}"
        extra = ""
        if "peer" in sides:
            peer_cpu, peer_mods = sides["peer"]
            line += f"{peer_cpu:8.2f}{peer_cpu / this_cpu:11.2f}"
            gone = sorted(set(peer_mods) - set(this_mods))
            extra = f" / {' '.join(gone)}" if gone else ""
        print(f"{line}  {' '.join(this_mods) or '-'}{extra}")


if __name__ == "__main__":
    main()
