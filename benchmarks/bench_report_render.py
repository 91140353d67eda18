"""Benchmark: build_report's own work and the HTML / DOCX renderers, against a peer tree.

Usage::

    python benchmarks/bench_report_render.py                  # peer: 0433ae2
    python benchmarks/bench_report_render.py --repeat 9 --peer HEAD~3
    python benchmarks/bench_report_render.py --bundle sample_data/split_face_12wk
    python benchmarks/bench_report_render.py --no-pdf         # without to_pdf
    python benchmarks/bench_report_render.py --bundle tests/reference/adam/pilot  # ADaM

The peer is another commit of this repository, extracted with ``git archive`` into a
temporary folder; each tree runs in its own interpreter (a subprocess started from that
folder, so it imports its own ``efficacy``) on the same bundles, one after the other.
Per bundle, each tree reads the trial, validates and analyses it once (not timed), then
times (median CPU seconds, ``time.process_time``, of `--repeat` runs):

* ``build_report (own part)``: ``build_report(trial, protocol, validation=v,
  analysis=a)`` with the claims section (:mod:`efficacy.report.claims_section`, another
  piece of work) replaced by its precomputed result in both trees, so the time is the
  report's own sections;
* ``to_html cold`` / ``to_docx cold``: a new report's first rendering (this tree's figure
  memo, :mod:`efficacy.report._figcache`, emptied before each run);
* ``to_html again`` / ``to_docx again``: the same report rendered again (as the test
  suite and ``Report.write`` after ``to_html`` do; the peer draws everything again if
  it has no memo).

Prints each time for both trees, the ratio peer / this tree, and the load average. The
outputs of both trees are compared too (report JSON, HTML and RTF text, DOCX and PDF
bytes, ``SOURCE_DATE_EPOCH`` fixed): a ratio means nothing if the outputs differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import BENCHMARKS, ROOT, extract_commit

DEFAULT_BUNDLES = ("parallel_12wk", "split_face_12wk", "flawed_design")

#: Run inside each tree (cwd = the tree): prints one JSON object of median CPU times.
_CHILD = r"""
import hashlib, json, os, statistics, sys, time, warnings
os.environ["SOURCE_DATE_EPOCH"] = "1767225600"
sys.path.insert(0, os.getcwd())
warnings.simplefilter("ignore")
from efficacy import analyze, validate
try:  # a bundle folder or an ADaM folder (the CDISC pilot)
    from efficacy.io import read_input as read_trial
except ImportError:
    from efficacy.io import read_trial
from efficacy.protocol import DEFAULT_PROTOCOL, load_protocol
import efficacy.report.model as model
try:
    from efficacy.report._figcache import clear_figure_memo
except ImportError:  # a tree without the memo: nothing to empty
    def clear_figure_memo(): pass
bundle, repeat, pdf = sys.argv[1], int(sys.argv[2]), sys.argv[4] == "pdf"
sys.path.insert(1, sys.argv[3])  # benchmarks/ of the running checkout
from _timing import cpu_median
proto = load_protocol(DEFAULT_PROTOCOL)
trial = read_trial(bundle)
v, a = validate(trial, proto), analyze(trial, proto)
claims = model.claims_section(trial, a)
model.claims_section = lambda t, r: claims  # not this benchmark's subject: same in both


def med(fn, before=lambda: None):
    return cpu_median(fn, repeat, before)


build = lambda: model.build_report(trial, proto, validation=v, analysis=a)
report = build()
out = {"build_report (own part)": med(build)}
out["to_html cold"] = med(report.to_html, clear_figure_memo)
out["to_html again"] = med(report.to_html)
out["to_docx cold"] = med(report.to_docx, clear_figure_memo)
out["to_docx again"] = med(report.to_docx)
if pdf:
    out["to_pdf"] = med(report.to_pdf)
digest = lambda b: hashlib.sha256(b).hexdigest()
out["_outputs"] = digest(
    (report.to_json() + report.to_html() + report.to_rtf()).encode("utf-8")
    + report.to_docx()
    + (report.to_pdf() if pdf else b"")
)
print(json.dumps(out))
"""


def _run(tree: Path, bundle: Path, repeat: int, pdf: bool) -> dict[str, float | str]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(bundle),
            str(repeat),
            str(BENCHMARKS),
            "pdf" if pdf else "-",
        ],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run both trees on each bundle and print the medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", default="0433ae2", help="commit to compare with")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--bundle", action="append", help="bundle folder (repeatable)")
    ap.add_argument("--no-pdf", action="store_true", help="skip to_pdf (4 s a render)")
    args = ap.parse_args()
    bundles = [Path(b).resolve() for b in args.bundle or ()] or [
        ROOT / "sample_data" / b for b in DEFAULT_BUNDLES
    ]
    with tempfile.TemporaryDirectory() as tmp:
        peer = extract_commit(args.peer, Path(tmp))
        print(f"this tree: {ROOT}; peer: {args.peer}; repeat {args.repeat}")
        for bundle in bundles:
            pdf = not args.no_pdf
            mine = _run(ROOT, bundle, args.repeat, pdf)
            theirs = _run(peer, bundle, args.repeat, pdf)
            same = mine.pop("_outputs") == theirs.pop("_outputs")
            print(f"\n{bundle.name}: outputs {'identical' if same else 'DIFFER'}")
            for step, t in mine.items():
                p = float(theirs[step])
                t = float(t)
                print(
                    f"  {step:<26} this {t:7.3f} s   peer {p:7.3f} s   ratio peer/this {p / t:6.2f}"
                )
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (CPU times)")


if __name__ == "__main__":
    main()
