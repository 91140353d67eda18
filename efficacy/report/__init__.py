"""The conformance report: a JSON model of every number, rendered to HTML, PDF, DOCX, RTF.

>>> from efficacy import analyze, read_trial
>>> from efficacy.report import build_report
>>> trial = read_trial("sample_data/parallel_12wk")  # doctest: +SKIP
>>> report = build_report(trial, analysis=analyze(trial))  # doctest: +SKIP
>>> report.write("out", ["html", "json"])  # doctest: +SKIP
>>> report.write("out", ["docx", "rtf"])  # Word document; the tables as RTF  # doctest: +SKIP

Sections: a one-page synopsis first, then 1 title block, 2 verdict per requirement, 3
CONSORT flow diagram with the analysis populations and protocol deviations
(:mod:`efficacy.report.conduct`), 4 CONSORT 2025 checklist, 5 baseline table, 6
efficacy (with the subgroup analyses, :mod:`efficacy.report.subgroups`) and 7 PROs (from
an analysis result, see :mod:`efficacy.report.outcomes`; ``efficacy report`` runs
:func:`efficacy.analyze` for them), 8 harms (:mod:`efficacy.report.harms`), 9
appendices. The command line is
``efficacy report BUNDLE --out DIR`` (:mod:`efficacy.cli.report`); the example
reports in ``reports/`` are rendered by ``python -m efficacy.report.examples``.

Names are imported lazily (PEP 562) so that the command line starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efficacy._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "DEFAULT_FORMATS": "efficacy.report.model",
    "FORMATS": "efficacy.report.model",
    "SCHEMA": "efficacy.report.model",
    "Report": "efficacy.report.model",
    "build_report": "efficacy.report.model",
    "NOT_RUN": "efficacy.report.outcomes",
}

#: What a user calls; FORMATS, DEFAULT_FORMATS, SCHEMA and NOT_RUN stay importable here.
__all__ = [
    "Report",
    "build_report",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from efficacy.report.model import (  # noqa: F401
        DEFAULT_FORMATS,
        FORMATS,
        SCHEMA,
        Report,
        build_report,
    )
    from efficacy.report.outcomes import NOT_RUN  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
