"""Benchmark: reading CDISC Dataset-JSON (the pilot's ADADAS) against plain json/gzip + pandas.

Usage::

    python benchmarks/bench_datasetjson.py                  # median of 15, default file
    python benchmarks/bench_datasetjson.py --repeat 25 --folder DIR

Reads ``adadas.ndjson`` and ``adadas.dsjc`` (CDISC Pilot 01 ADAS-Cog, 12,463 records x 40
columns; default folder ``../shared/reference/ecosystem/data/datasetjson`` beside the
checkout) with :func:`efficacy.io.datasetjson.read_datasetjson` (decode, JSON Schema check
of the metadata, every value's type checked, typed columns, Int64/float/datetime/string,
every problem located) and with the peer, what a person writes with the standard library:
``json.loads`` per line (after ``gzip.decompress`` for .dsjc) into
``pandas.DataFrame(rows, columns=names)`` (object columns, nothing checked). The two run
alternately in one process; prints the medians and the ratio ours / peer.
Target (issue 16): ratio at most 1.5 on adadas.ndjson.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from efficacy.io.datasetjson import read_datasetjson  # noqa: E402

#: ``shared/`` beside the checkout (main checkout) or beside its parent (worktrees).
DEFAULT_FOLDER = next(
    (
        p / "shared" / "reference" / "ecosystem" / "data" / "datasetjson"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared").is_dir()
    ),
    ROOT / "datasetjson",
)


def peer(path: Path) -> pd.DataFrame:
    """Plain standard-library parsing into pandas: json per line (gzip/zlib for .dsjc)."""
    data = path.read_bytes()
    if path.suffix == ".dsjc":
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else zlib.decompress(data)
    lines = data.decode("utf-8").splitlines()
    head = json.loads(lines[0])
    rows = [json.loads(line) for line in lines[1:] if line.strip()]
    return pd.DataFrame(rows, columns=[c["name"] for c in head["columns"]])


def ours(path: Path) -> pd.DataFrame:
    frame, _meta, _problems = read_datasetjson(path)
    return frame


def _time(fn: Callable[[Path], pd.DataFrame], path: Path) -> float:
    start = time.perf_counter()
    fn(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for name in ("adadas.ndjson", "adadas.dsjc"):
        path = args.folder / name
        frame, _meta, problems = read_datasetjson(path)  # warm-up (imports, schema)
        assert frame.shape == peer(path).shape
        mine, theirs = [], []
        for _ in range(args.repeat):
            theirs.append(_time(peer, path))
            mine.append(_time(ours, path))
        a, b = statistics.median(mine), statistics.median(theirs)
        print(
            f"{name}: {frame.shape[0]} records x {frame.shape[1]} columns, "
            f"{len(problems)} problems; read_datasetjson median {a:.3f} s, "
            f"peer json+pandas median {b:.3f} s, ratio {a / b:.2f}"
        )


if __name__ == "__main__":
    main()
