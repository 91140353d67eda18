"""Benchmark: what a fresh process pays to start a command (imports), here and on a peer.

Usage::

    python benchmarks/bench_imports.py                      # median of 5, peer 0433ae2
    python benchmarks/bench_imports.py --repeat 9 --only validate,protocols
    python benchmarks/bench_imports.py --peer ""            # this checkout only
    python benchmarks/bench_imports.py --collect            # add a worker's collection
    python benchmarks/bench_imports.py --bytecode           # add: compiled modules kept

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

With ``--bytecode`` a third side runs this checkout with ``PYTHONDONTWRITEBYTECODE``
unset and ``PYTHONPYCACHEPREFIX`` in a temporary folder (nothing is written into the
checkout), each case once untimed first: what a process pays where compiled modules are
kept, as on a developer's machine or a CI runner. With the variable set (as on the
2-core machine), every process compiles the efficacy modules it imports, and pytest
rewrites the assertions of every test module it collects, from source.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _cpu_of(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, list[str]]:
    """CPU seconds (user + system) of the child `argv` run in `cwd`, and its report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
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


def _with_bytecode(pycache: Path) -> dict[str, str]:
    """This environment with compiled modules kept, in `pycache` (never in the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


#: A checkout and the environment of its children (None: this process's).
Side = tuple[Path, dict[str, str] | None]


def run(
    cases: list[str], sides: dict[str, Side], repeat: int
) -> dict[str, dict[str, tuple[float, list[str]]]]:
    """Median CPU and the loaded libraries of every case on every side (runs alternate).

    A side is a checkout and the environment of its children (None: this one's). A side
    that keeps bytecode runs each case once untimed first, so that its timed runs read
    compiled modules as a second run on a developer's machine does.
    """
    times: dict[tuple[str, str], list[float]] = {}
    loaded: dict[tuple[str, str], list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        for case in cases:
            for name, (root, env) in sides.items():
                if env is not None:
                    _cpu_of(_argv(case, Path(tmp) / f"{name}-warm"), root, env)
            for i in range(repeat):
                for name, (root, env) in sides.items():
                    out = Path(tmp) / f"{name}-{i}"
                    cpu, mods = _cpu_of(_argv(case, out), root, env)
                    times.setdefault((case, name), []).append(cpu)
                    loaded[case, name] = mods
    return {
        case: {name: (statistics.median(times[case, name]), loaded[case, name]) for name in sides}
        for case in cases
    }


def main() -> None:
    """Run the benchmark and print medians, ratios and the libraries each side loaded."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--peer", default="0433ae2", help="commit to compare with ('' = none)")
    ap.add_argument("--only", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--collect", action="store_true", help="add a worker's test collection")
    ap.add_argument(
        "--bytecode",
        action="store_true",
        help="add this checkout with compiled modules kept (PYTHONDONTWRITEBYTECODE unset)",
    )
    args = ap.parse_args()
    cases = [c for c in CASES if not args.only or c in args.only.split(",")]
    if args.collect:
        cases.append(_COLLECT)
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        sides: dict[str, Side] = {"this": (ROOT, None)}
        if args.peer:
            sides["peer"] = (extract_commit(args.peer, Path(tmp) / "peer"), None)
        if args.bytecode:
            sides["pyc"] = (ROOT, _with_bytecode(Path(tmp) / "pycache"))
        results = run(cases, sides, args.repeat)
    print(f"median CPU s (user+sys) of {args.repeat} fresh processes; peer = {args.peer or '-'}")
    print(
        "PYTHONDONTWRITEBYTECODE="
        + os.environ.get("PYTHONDONTWRITEBYTECODE", "(unset)")
        + (" (pyc: the same with compiled modules kept)" if args.bytecode else "")
    )
    head = f"{'case':<18}{'this':>8}"
    head += f"{'peer':>8}{'peer/this':>11}" if args.peer else ""
    head += f"{'pyc':>8}{'this/pyc':>10}" if args.bytecode else ""
    print(head + "  loaded here / only on the peer")
    for case, by_side in results.items():
        this_cpu, this_mods = by_side["this"]
        line = f"{case:<18}{this_cpu:8.2f}"
        extra = ""
        if "peer" in by_side:
            peer_cpu, peer_mods = by_side["peer"]
            line += f"{peer_cpu:8.2f}{peer_cpu / this_cpu:11.2f}"
            gone = sorted(set(peer_mods) - set(this_mods))
            extra = f" / {' '.join(gone)}" if gone else ""
        if "pyc" in by_side:
            pyc_cpu = by_side["pyc"][0]
            line += f"{pyc_cpu:8.2f}{this_cpu / pyc_cpu:10.2f}"
        print(f"{line}  {' '.join(this_mods) or '-'}{extra}")


if __name__ == "__main__":
    main()
