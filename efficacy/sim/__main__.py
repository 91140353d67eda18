"""``python -m efficacy.sim OUTDIR``: (re)generate every sample bundle under OUTDIR."""

from __future__ import annotations

import argparse
import sys

from efficacy.errors import EfficacyError


def main(argv: list[str] | None = None) -> int:
    """Write the sample bundles; return the exit code (0 done, 2 bad usage or output)."""
    parser = argparse.ArgumentParser(
        prog="python -m efficacy.sim",
        description="Regenerate the simulated sample bundles (clean and flawed), "
        "deterministically: the same files byte for byte on every run.",
    )
    parser.add_argument("outdir", help="folder to write the bundles into, e.g. sample_data")
    args = parser.parse_args(argv)
    from efficacy.sim.samples import build_samples

    try:
        written = build_samples(args.outdir)
    except (EfficacyError, OSError) as exc:
        print(f"efficacy.sim: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
