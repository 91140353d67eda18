"""Report section: the claims matrix (declared claims x jurisdictions), with its reasons.

The section carries the matrix as data (``cells``: the JSON cells of
:meth:`efficacy.regulatory.ClaimsMatrix.to_dict`) and as one table shell (``tables``,
the form of ``notes/SHELLS.md``: claims as rows, jurisdictions as columns), so the HTML,
DOCX and RTF writers render the same strings. Estimates come from the analysis result's
rows (never recomputed). Decision support, not legal advice (said once, in ``notes``).
"""

from __future__ import annotations

from typing import Any

from efficacy.analysis import AnalysisResult
from efficacy.regulatory.classify import DISCLAIMER
from efficacy.trial import Trial

__all__ = ["TITLE", "claims_section"]

#: Heading of the section.
TITLE = "Claims by jurisdiction"


def claims_section(trial: Trial, analysis: AnalysisResult | None) -> dict[str, Any]:
    """Return the claims section of the report.

    Keys: ``title``; ``status`` (``"run"``, ``"no claims"`` or ``"not analysed"``);
    ``message`` (why there is no matrix, else empty); ``notes`` (the disclaimer when
    there is no table; else empty: the table's footnotes carry the rule and the
    disclaimer, so each output says it once); ``jurisdictions`` (code -> pack
    ``id@version``); ``cells`` (one per claim and jurisdiction: ``claim``,
    ``jurisdiction``, ``status``, ``reasons``, ...); ``tables`` (the matrix as one table shell).
    """
    from efficacy.regulatory.claims import SIGNIFICANCE_RULE, claims_matrix

    base: dict[str, Any] = {
        "title": TITLE,
        # the table's footnotes say these when there is a table
        "notes": [SIGNIFICANCE_RULE, DISCLAIMER],
        "jurisdictions": {},
        "cells": [],
        "tables": [],
    }
    if not trial.manifest.claims:
        return {
            **base,
            "status": "no claims",
            "message": "The trial declares no claims ([[claims]] in trial.toml).",
        }
    if analysis is None or not analysis.analysed:
        return {
            **base,
            "status": "not analysed",
            "message": "The efficacy analysis was not run, so the declared claims cannot "
            "be read against it.",
        }
    matrix = claims_matrix(trial, analysis)
    data = matrix.to_dict()
    return {
        **base,
        "status": "run",
        "message": "",
        "notes": [],
        "jurisdictions": data["jurisdictions"],
        "cells": data["cells"],
        "tables": [matrix.table()],
    }
