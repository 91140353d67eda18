"""The conformance report: a JSON model of every number, rendered to HTML and PDF.

>>> from efficacy import read_trial
>>> from efficacy.report import build_report
>>> report = build_report(read_trial("sample_data/parallel_12wk"))  # doctest: +SKIP
>>> report.write("out", ["html", "json"])  # doctest: +SKIP

Sections: 1 title block, 2 verdict per requirement, 3 CONSORT flow diagram, 4 CONSORT
2025 checklist, 5 baseline table, 6 efficacy and 7 PROs (from an analysis result, see
:mod:`efficacy.report.outcomes`), 8 harms, 9 appendices. The command line is
``efficacy report BUNDLE --out DIR`` (:mod:`efficacy.report.command`).
"""

from __future__ import annotations

from efficacy.report.model import FORMATS, SCHEMA, Report, build_report
from efficacy.report.outcomes import NOT_RUN

__all__ = ["FORMATS", "NOT_RUN", "SCHEMA", "Report", "build_report"]
