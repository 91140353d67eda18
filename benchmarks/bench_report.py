"""Benchmark: the full conformance report of the sample parallel trial.

Usage::

    python benchmarks/bench_report.py              # median of 3
    python benchmarks/bench_report.py --repeat 5 --bundle sample_data/split_face_12wk
    python benchmarks/bench_report.py --cli         # also the cold command line

Times, in one process and on the same bundle: ``read_trial``; ``validate`` alone (the
peer); the analysis plan (``efficacy.analyze``: MMRM per endpoint and population,
tipping point); ``build_report`` (validation, CONSORT flow and checklist, baseline,
efficacy, PRO and harms sections); each renderer (JSON, HTML with its figures, PDF via
weasyprint from that HTML, DOCX with its figures rasterised, RTF); and the full report
(read + analyse + build + html, pdf, json written, as ``efficacy report`` does), then the
same with docx added. Prints medians, minima and median CPU time (this process and its
children: on a shared machine wall time grows with the load, CPU time hardly), the
full-report / validate ratio, what docx adds, and the load average. With ``--cli``,
also the cold command line as a user runs it (a fresh interpreter each time: imports
included): ``efficacy report BUNDLE --out TMP`` (default formats, then with ``docx``
added) against ``efficacy validate BUNDLE`` as its peer. Goals (issues 6 and 12): full
report of the sample parallel trial under 15 s cold on the 2-core CI machine; docx adds
at most 3 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from efficacy.io import read_trial
from efficacy.protocol import load_protocol
from efficacy.report import build_report
from efficacy.report.outcomes import run_analysis
from efficacy.validation import validate

ROOT = Path(__file__).resolve().parents[1]


#: Median CPU seconds (this process and its finished children) of each timed call, in
#: call order: on a shared machine the wall time grows with the load, the CPU time not.
CPU: list[float] = []


def _cpu() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, cpus, out = [], [], None
    for _ in range(repeat):
        c0, t0 = _cpu(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    CPU.append(statistics.median(cpus))
    return statistics.median(times), min(times), out


def _cli(args: list[str], repeat: int) -> tuple[float, float, Any]:
    """Time ``efficacy ARGS`` in a fresh interpreter (cold start, as a user runs it)."""
    code = "import sys; from efficacy.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, *args]
    return _time(lambda: subprocess.run(cmd, check=True, capture_output=True), repeat)


def _cli_rows(bundle: str, repeat: int) -> list[tuple[str, float, float]]:
    peer = _cli(["validate", bundle], repeat)[:2]
    with tempfile.TemporaryDirectory() as tmp:
        report = _cli(["report", bundle, "--out", tmp], repeat)[:2]
        formats = "html,pdf,json,docx"
        with_docx = _cli(["report", bundle, "--out", tmp, "--format", formats], repeat)[:2]
    return [
        ("cold CLI: efficacy validate (peer)", *peer),
        ("cold CLI: efficacy report (html, pdf, json)", *report),
        ("cold CLI: efficacy report (html, pdf, json, docx)", *with_docx),
    ]


def main() -> None:
    """Run the benchmark and print one line per step."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(ROOT / "sample_data" / "parallel_12wk"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli", action="store_true", help="also time the cold command line")
    args = ap.parse_args()
    protocol = load_protocol("iso-efficacy-2025")
    rows: list[tuple[str, float, float]] = []
    med, lo, trial = _time(lambda: read_trial(args.bundle), args.repeat)
    rows.append(("read_trial", med, lo))
    med, lo, _ = _time(lambda: validate(trial, protocol), args.repeat)
    rows.append(("validate (peer)", med, lo))
    t_validate = med
    med, lo, analysis = _time(lambda: run_analysis(trial, protocol), args.repeat)
    rows.append(("analyze", med, lo))
    med, lo, report = _time(lambda: build_report(trial, protocol, analysis=analysis), args.repeat)
    rows.append(("build_report (incl. validate)", med, lo))
    for name, fn in (
        ("to_json", report.to_json),
        ("to_html", report.to_html),
        ("to_pdf (incl. to_html)", report.to_pdf),
        ("to_docx (incl. figures)", report.to_docx),
        ("to_rtf", report.to_rtf),
    ):
        med, lo, _ = _time(fn, args.repeat)
        rows.append((name, med, lo))
    with tempfile.TemporaryDirectory() as tmp:

        def full(formats: tuple[str, ...]) -> None:
            t = read_trial(args.bundle)
            report = build_report(t, protocol, analysis=run_analysis(t, protocol))
            report.write(Path(tmp) / "r", formats)

        med, lo, _ = _time(lambda: full(("html", "pdf", "json")), args.repeat)
        rows.append(("full report (read + analyze + build + html/pdf/json)", med, lo))
        med_docx, lo_docx, _ = _time(lambda: full(("html", "pdf", "json", "docx")), args.repeat)
        rows.append(("full report with docx (html/pdf/json/docx)", med_docx, lo_docx))
    print(
        f"bundle: {args.bundle}; repeat {args.repeat}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    cpu = CPU[: len(rows)]
    for (name, m, low), c in zip(rows, cpu, strict=True):
        print(f"{name:<55} median {m:8.3f} s   min {low:8.3f} s   CPU {c:8.3f} s")
    print(f"full report / validate alone: {med / t_validate:.1f}x (goal: full report < 15 s)")
    print(
        f"docx adds: {med_docx - med:.2f} s wall, {cpu[-1] - cpu[-2]:.2f} s CPU (median "
        "difference; goal: at most 3 s)"
    )
    if args.cli:
        cli = _cli_rows(args.bundle, args.repeat)
        cli_cpu = CPU[len(rows) :]
        for (name, m, low), c in zip(cli, cli_cpu, strict=True):
            print(f"{name:<55} median {m:8.3f} s   min {low:8.3f} s   CPU {c:8.3f} s")
        print(f"cold report / cold validate: {cli[1][1] / cli[0][1]:.1f}x wall")
        print(
            f"cold CLI: docx adds {cli[2][1] - cli[1][1]:.2f} s wall, "
            f"{cli_cpu[2] - cli_cpu[1]:.2f} s CPU (median difference)"
        )


if __name__ == "__main__":
    main()
