"""Benchmark: the PDF of a report (weasyprint), as efficacy renders it and as plain weasyprint.

Usage::

    PYTHONPATH=. python benchmarks/bench_pdf.py                   # parallel_12wk, median of 5
    PYTHONPATH=. python benchmarks/bench_pdf.py --repeat 3 --bundle sample_data/split_face_12wk
    PYTHONPATH=. python benchmarks/bench_pdf.py --heap 3000000    # in a process holding 3M objects
    PYTHONPATH=. python benchmarks/bench_pdf.py --stages          # where the time goes, per step
    PYTHONPATH=. python benchmarks/bench_pdf.py --peer d12b5bb    # another peer commit

Builds the report's HTML once (read, analyse, ``build_report``, ``to_html``), then renders
it, interleaved in one process, ``--repeat`` times each:

- ``weasyprint``: ``weasyprint.HTML(string=html).write_pdf()``, what ``_pdf`` did until
  issue 10 (the peer);
- ``gc paused``: the same with Python's garbage collector off during the render;
- ``no note styles``: weasyprint's HTML without the footnote/note pseudo-element rules of
  its user-agent stylesheet (``efficacy.report._weasy.html_class``), collector on;
- ``html parse cache``: the HTML parsed with tinyhtml5's ``chars_until`` expressions
  found in a cache that answers (``efficacy.report._weasy.fast_html_parsing``), collector
  on;
- ``efficacy _pdf``: all of it (these, and the fonts subset without decompiling the
  tables weasyprint drops, ``efficacy.report._weasy.lean_font_subsetting``), as
  ``Report.to_pdf`` and ``efficacy report`` render;
- ``peer commit _pdf``: the ``_pdf`` of the peer commit (``--peer``, default 6ff67bd),
  unpacked with ``git archive`` and run in its own interpreter on the same HTML, one
  render per ``--repeat`` after a warm-up, timed the same way.

Each timing is the CPU time of the render plus one ``gc.collect()`` (the garbage of the
render, which a paused collector leaves for later, is paid for in every variant). Prints
the median and minimum CPU seconds, the ratio to the peer, and checks that every
variant wrote the same PDF bytes as the peer (``SOURCE_DATE_EPOCH`` is fixed so that the
embedded fonts carry no timestamp). ``--heap N`` keeps N small objects alive first, as
a long-lived process (the test suite, a notebook) does: the collector's cost grows with
them. ``--stages`` times weasyprint's steps (parse, CSS cascade, boxes, layout, drawing,
font subsetting) of one render of the peer and one of ``_pdf``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["SOURCE_DATE_EPOCH"] = "1767225600"  # fontTools: no timestamp in the fonts

import weasyprint

from efficacy.io import read_trial
from efficacy.protocol import load_protocol
from efficacy.report import build_report
from efficacy.report._weasy import fast_html_parsing, gc_paused, html_class
from efficacy.report.model import _pdf
from efficacy.report.outcomes import run_analysis

ROOT = Path(__file__).resolve().parents[1]

#: Run inside the peer tree (cwd): renders argv[1]'s HTML argv[2] times with its ``_pdf``.
_PEER = r"""
import gc, hashlib, json, os, sys, time
os.environ["SOURCE_DATE_EPOCH"] = "1767225600"
sys.path.insert(0, os.getcwd())
from efficacy.report.model import _pdf
html = open(sys.argv[1], encoding="utf-8").read()
_pdf(html)
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.process_time()
    pdf = _pdf(html)
    gc.collect()
    times.append(time.process_time() - t0)
print(json.dumps({"times": times, "sha256": hashlib.sha256(pdf).hexdigest()}))
"""


def _peer_times(commit: str, html: str, repeat: int) -> tuple[list[float], str]:
    """CPU seconds of `repeat` renders of `html` by commit's ``_pdf``, and the PDF's SHA-256."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _timing import extract_commit

    with tempfile.TemporaryDirectory() as tmp:
        tree = extract_commit(commit, Path(tmp) / "tree")
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-c", _PEER, str(page), str(repeat)],
            cwd=tree,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
            check=True,
            capture_output=True,
            text=True,
        )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return [float(t) for t in out["times"]], str(out["sha256"])


def _html(bundle: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = read_trial(bundle)
        protocol = load_protocol("iso-efficacy-2025")
        report = build_report(trial, protocol, analysis=run_analysis(trial, protocol))
    return report.to_html()


def _variants(html: str) -> dict[str, Callable[[], bytes]]:
    def paused() -> bytes:
        with gc_paused():
            pdf: bytes = weasyprint.HTML(string=html).write_pdf()
        return pdf

    def parse_cache() -> bytes:
        with fast_html_parsing():
            pdf: bytes = weasyprint.HTML(string=html).write_pdf()
        return pdf

    return {
        "weasyprint (peer)": lambda: weasyprint.HTML(string=html).write_pdf(),
        "gc paused": paused,
        "html parse cache": parse_cache,
        "no note styles": lambda: html_class()(string=html).write_pdf(),
        "efficacy _pdf (all)": lambda: _pdf(html),
    }


def _cpu(fn: Callable[[], bytes]) -> tuple[float, bytes]:
    t0 = time.process_time()
    out = fn()
    gc.collect()
    return time.process_time() - t0, out


def _stages(render: Callable[[], bytes]) -> dict[str, float]:
    """CPU seconds of weasyprint's steps in one call of `render` (wrapped functions)."""
    import weasyprint.document as document
    import weasyprint.pdf.fonts as fonts

    spent: dict[str, float] = {}
    wrapped: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, step: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[step] = spent.get(step, 0.0) + time.process_time() - t0

        wrapped.append((owner, name, original))
        setattr(owner, name, timed)

    wrap(weasyprint.HTML, "__init__", "parse HTML")
    wrap(document, "get_all_computed_styles", "CSS cascade")
    wrap(document, "build_formatting_structure", "boxes")
    wrap(document.Document, "_render", "render")
    wrap(document, "draw_page", "draw pages")
    wrap(fonts.Font, "clean", "font subsetting")
    t0 = time.process_time()
    try:
        render()
        gc.collect()
    finally:
        for owner, name, original in wrapped:
            setattr(owner, name, original)
    spent["total"] = time.process_time() - t0
    spent["layout"] = spent.pop("render") - spent["CSS cascade"] - spent["boxes"]
    spent["rest (PDF objects, gc.collect)"] = spent["total"] - sum(
        v for k, v in spent.items() if k != "total"
    )
    return spent


def main() -> None:
    """Run the benchmark and print one line per variant."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(ROOT / "sample_data" / "parallel_12wk"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--heap", type=int, default=0, help="small objects kept alive first")
    ap.add_argument("--stages", action="store_true", help="time weasyprint's steps")
    ap.add_argument("--peer", default="6ff67bd", help="commit whose _pdf to compare with")
    args = ap.parse_args()
    html = _html(args.bundle)
    ballast = [{"i": i} for i in range(args.heap)]
    variants = _variants(html)
    _pdf(html)  # warm-up: imports, fontconfig, the trimmed user-agent stylesheet
    times: dict[str, list[float]] = {name: [] for name in variants}
    pdfs: dict[str, bytes] = {}
    for _ in range(args.repeat):
        for name, fn in variants.items():
            seconds, pdfs[name] = _cpu(fn)
            times[name].append(seconds)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"bundle: {args.bundle}; HTML {len(html) / 1e3:.0f} kB; repeat {args.repeat}; "
        f"extra objects alive {len(ballast)}; weasyprint {weasyprint.__version__}; "
        f"load average {load}"
    )
    peer = statistics.median(times["weasyprint (peer)"])
    same = pdfs["weasyprint (peer)"]
    for name, values in times.items():
        med = statistics.median(values)
        print(
            f"{name:<22} CPU median {med:6.2f} s  min {min(values):6.2f} s  "
            f"x{med / peer:5.2f} of the peer  same PDF bytes: {pdfs[name] == same}  "
            f"({' '.join(f'{v:.2f}' for v in values)})"
        )
    peer_times, peer_sha = _peer_times(args.peer, html, args.repeat)
    mine = statistics.median(times["efficacy _pdf (all)"])
    same_peer = peer_sha == hashlib.sha256(pdfs["efficacy _pdf (all)"]).hexdigest()
    print(
        f"{'peer ' + args.peer + ' _pdf':<22} CPU median {statistics.median(peer_times):6.2f} s  "
        f"min {min(peer_times):6.2f} s  ratio peer/this {statistics.median(peer_times) / mine:5.2f}"
        f"  same PDF bytes: {same_peer}  ({' '.join(f'{v:.2f}' for v in peer_times)})"
    )
    if args.stages:
        before = _stages(variants["weasyprint (peer)"])
        after = _stages(variants["efficacy _pdf (all)"])
        print(f"{'step (CPU s, one render)':<32} {'peer':>7} {'_pdf':>7}")
        for step in before:
            print(f"{step:<32} {before[step]:7.2f} {after[step]:7.2f}")


if __name__ == "__main__":
    main()
