"""Crash census: run the hostile suite recording every problem, then group by signature.

Usage (from the repository root)::

    python -m tests.hostile.census --read 2500 --analyze 120 --cli 150 \
        --out crash-census.md

runs ``tests/hostile`` with random (not derandomized) examples and
``EFFICACY_HOSTILE_CENSUS`` set, so no problem fails a test, and writes a Markdown table of
the distinct signatures (kind, exception type, raise site), with their count, first
message and the shortest mutation sequence that produced each. ``--jsonl FILE`` only
summarises an existing record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.hostile.harness import Problem, known_label


def run(read: int, analyze: int, cli: int, record: Path, workers: int) -> float:
    """Run the hostile suite in census mode; return the wall time in seconds."""
    env = dict(os.environ)
    env.update(
        EFFICACY_HOSTILE_CENSUS=str(record),
        EFFICACY_HOSTILE_EXAMPLES=f"read={read},analyze={analyze},cli={cli}",
        HYPOTHESIS_PROFILE="long",
    )
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-q", "tests/hostile/test_hostile.py"]
    cmd += ["-p", "no:cacheprovider", "-n", str(workers)] if workers > 1 else []
    subprocess.run(cmd, env=env, check=False)
    return time.perf_counter() - start


def summarise(record: Path, seconds: float | None) -> str:
    """Markdown census of the JSON-lines `record`."""
    cases: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    groups: dict[str, list[Problem]] = {}
    for line in record.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if "case" in item:
            cases[item["case"]] += 1
            failing[item["case"]] += bool(item["problems"])
            continue
        problem = Problem(**item)
        groups.setdefault(problem.signature, []).append(problem)
    lines = ["| kind | cases | cases with a problem |", "|---|---:|---:|"]
    lines += [f"| {k} | {cases[k]} | {failing[k]} |" for k in sorted(cases)]
    if seconds is not None:
        lines.append(f"\nWall time: {seconds:.0f} s.")
    lines += [
        f"\n{len(groups)} distinct signatures.\n",
        "| # | signature | stages | n | known (issue 11) | message (first) | raised at | "
        "shortest mutations |",
        "|---|---|---|---:|---|---|---|---|",
    ]
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    for i, (signature, problems) in enumerate(ordered, 1):
        shortest = min(problems, key=lambda p: (p.mutations.count(";"), len(p.mutations)))
        stages = ", ".join(sorted({p.stage for p in problems}))
        label = known_label(shortest) or "NEW?"
        cells = [
            str(i),
            signature,
            stages,
            str(len(problems)),
            label,
            shortest.message[:160],
            shortest.site,
            f"{shortest.mutations[:200]} ({shortest.bundle})",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile.census")
    parser.add_argument("--read", type=int, default=2500)
    parser.add_argument("--analyze", type=int, default=120)
    parser.add_argument("--cli", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jsonl", type=Path, default=None, help="summarise this record only")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    parser.add_argument("--record", type=Path, default=None, help="JSON-lines record to write")
    args = parser.parse_args(argv)
    seconds = None
    record = args.jsonl
    if record is None:
        record = args.record or Path(tempfile.mkdtemp(prefix="census-")) / "census.jsonl"
        seconds = run(args.read, args.analyze, args.cli, record, args.workers)
        print(f"record: {record}", file=sys.stderr)
    text = summarise(record, seconds)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
