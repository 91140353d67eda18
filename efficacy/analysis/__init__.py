"""The analysis plan run over endpoints x populations.

Estimands, multiplicity, missing-data sensitivity, responders and effect sizes.

>>> import efficacy
>>> from efficacy.analysis import analyze
>>> res = analyze(efficacy.read_trial("sample_data/parallel_12wk"))  # doctest: +SKIP
>>> res.primary()                                                    # doctest: +SKIP
"""

from __future__ import annotations

from efficacy.analysis.result import RESULT_COLUMNS, AnalysisResult
from efficacy.analysis.run import analyze
from efficacy.analysis.tipping import TippingPoint

__all__ = ["RESULT_COLUMNS", "AnalysisResult", "TippingPoint", "analyze"]
