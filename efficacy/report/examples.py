"""Render the example reports in ``reports/`` from the sample bundles.

Run from the repository root::

    python -m efficacy.report.examples            # writes reports/<bundle>/report.*
    python -m efficacy.report.examples OUTDIR     # elsewhere

Each bundle of :data:`EXAMPLES` (in ``sample_data/``) is read, validated and analysed
(:func:`efficacy.analyze`) against the default protocol and rendered as ``report.html``,
``report.pdf``, ``report.json``, ``report.docx`` (Word) and ``report.rtf`` (the tables).
Set ``SOURCE_DATE_EPOCH`` for a reproducible generation time. tests/report checks that
the committed JSON equals what the code produces now (generation time and software
versions aside).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["EXAMPLES", "main", "render_examples"]

#: Sample bundles rendered into ``reports/``: the clean parallel and split-face trials,
#: one with CONSORT defects (flow mismatch, data errors) and one whose design misses the
#: standard (requirements not met).
EXAMPLES: tuple[str, ...] = ("parallel_12wk", "split_face_12wk", "flawed_consort", "flawed_design")
_ROOT = Path(__file__).resolve().parents[2]


def render_examples(
    out_dir: str | Path | None = None,
    bundles: Iterable[str] = EXAMPLES,
    formats: Sequence[str] = ("html", "pdf", "json", "docx", "rtf"),
    sample_data: str | Path | None = None,
) -> dict[str, dict[str, Path]]:
    """Render each of `bundles` into ``<out_dir>/<bundle>/report.<format>``.

    Returns
    -------
    dict
        Bundle -> (format -> path written).
    """
    from efficacy.io import read_trial
    from efficacy.protocol import DEFAULT_PROTOCOL, load_protocol
    from efficacy.report.model import build_report
    from efficacy.report.outcomes import run_analysis

    out = Path(out_dir) if out_dir is not None else _ROOT / "reports"
    data = Path(sample_data) if sample_data is not None else _ROOT / "sample_data"
    written = {}
    protocol = load_protocol(DEFAULT_PROTOCOL)
    for name in bundles:
        trial = read_trial(data / name)
        report = build_report(trial, protocol, analysis=run_analysis(trial, protocol))
        written[name] = report.write(out / name, formats)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m efficacy.report.examples [OUTDIR]``."""
    from efficacy.errors import EfficacyError

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m efficacy.report.examples [OUTDIR]", file=sys.stderr)
        return 2
    try:
        done = render_examples(args[0] if args else None)
    except (EfficacyError, OSError) as exc:
        print(f"efficacy: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    for name, paths in done.items():
        print(f"{name}: " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
