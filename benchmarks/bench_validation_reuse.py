"""Benchmark: validation computed once per trial, reused by the analysis, report and packs.

Usage::

    python benchmarks/bench_validation_reuse.py                 # median of 5, with baseline
    python benchmarks/bench_validation_reuse.py --repeat 9 --bundle sample_data/flawed_design
    python benchmarks/bench_validation_reuse.py --baseline ""   # skip the baseline commit

``validate`` stores each rule's result on the trial, keyed by what the rule read of the
protocol (``efficacy/validation/_cache.py``): the analysis, the report and the claims
matrix (one validation per jurisdiction pack) validate one trial up to seven times, and
the packs share every data rule with the default protocol. Peers, timed in this process
on the same trial (median CPU seconds, ``time.process_time``):

* ``kept``: the steady state, the trial's stored results reused (a second report of the
  same trial, or a test reusing a session trial);
* ``first``: the trial's stored results emptied before each run (what the first report
  of a freshly read trial pays: its packs still share the data rules);
* ``none``: no reuse at all, every ``validate`` call runs every rule (the engine's
  cache replaced by an empty one per call);
* ``baseline``: the same calls on the commit before this work (``git archive`` of
  `--baseline` into a temporary folder, run in a subprocess).

Also ``load_faceq_conversion`` of the bundle's table with the kept tables against a
cleared store. Ratios are peer / kept (or peer / first).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _timing import ROOT, cpu_median, extract_commit, run_in_checkout


def _calls(bundle: str) -> tuple[Any, dict[str, Callable[[], Any]]]:
    """The trial and the timed calls (the same code in this checkout and the baseline)."""
    import efficacy
    from efficacy.analysis import analyze
    from efficacy.regulatory.claims import claims_matrix
    from efficacy.report.model import build_report

    trial = efficacy.read_trial(bundle)
    protocol = efficacy.load_protocol("iso-efficacy-2025")
    result = analyze(trial, protocol)
    calls: dict[str, Callable[[], Any]] = {
        "validate": lambda: efficacy.validate(trial, protocol),
        "claims_matrix (5 packs)": lambda: claims_matrix(trial, result),
        "build_report": lambda: build_report(trial, protocol, analysis=result),
    }
    for fn in calls.values():
        fn()  # warm imports and the trial's other memos
    return trial, calls


def _worker(bundle: str, repeat: int) -> None:
    """Time the calls in the checkout on ``sys.path[0]`` (the baseline); print JSON."""
    warnings.simplefilter("ignore")
    _, calls = _calls(bundle)
    print(json.dumps({name: cpu_median(fn, repeat) for name, fn in calls.items()}))


def _baseline(commit: str, bundle: str, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        extract_commit(commit, Path(tmp))
        timings: dict[str, float] = run_in_checkout(
            Path(tmp), "bench_validation_reuse", f"_worker({bundle!r}, {repeat})"
        )
    return timings


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(ROOT / "sample_data" / "parallel_12wk"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline", default="3b9f61c", help="commit to compare with ('' = none)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(ROOT))
    from efficacy.instruments import faceq_tables
    from efficacy.validation import _cache, engine

    trial, calls = _calls(args.bundle)

    def forget() -> None:
        trial.__dict__.get("_memos", {}).pop("validation_rule_cache", None)

    def no_reuse() -> Callable[[], None]:
        real = engine.rule_cache
        engine.rule_cache = _cache.RuleCache  # type: ignore[assignment]  # empty per call
        return lambda: setattr(engine, "rule_cache", real)

    base = _baseline(args.baseline, args.bundle, args.repeat) if args.baseline else {}
    print(f"{args.bundle}: median CPU s of {args.repeat} runs")
    head = f"{'call':<26}{'kept':>8}{'first':>8}{'none':>8}"
    print(head + (f"{'baseline':>10}" if base else "") + "   none/kept  first/kept")
    for name, fn in calls.items():
        kept = cpu_median(fn, args.repeat)
        first = cpu_median(fn, args.repeat, forget)
        undo = no_reuse()
        try:
            none = cpu_median(fn, args.repeat)
        finally:
            undo()
        line = f"{name:<26}{kept:8.3f}{first:8.3f}{none:8.3f}"
        if base:
            line += f"{base[name]:10.3f}"
        line += f"   {none / kept:9.1f}  {first / kept:10.1f}"
        if base:
            line += f"   baseline/kept {base[name] / kept:.1f}, baseline/first "
            line += f"{base[name] / first:.1f}"
        print(line)
    path = trial.reference_file("faceq_conversion")
    if path is not None:
        load = lambda: faceq_tables.load_faceq_conversion(path)  # noqa: E731
        kept = cpu_median(load, args.repeat * 4)
        cold = cpu_median(load, args.repeat * 4, faceq_tables._KEPT.clear)
        what = "load_faceq_conversion"
        print(f"{what:<26}{kept:8.4f}   cleared {cold:8.4f}   ratio {cold / kept:.1f}")


if __name__ == "__main__":
    main()
