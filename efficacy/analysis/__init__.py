"""The analysis plan run over endpoints x populations.

Estimands, multiplicity, missing-data sensitivity, responders and effect sizes. Names
are imported lazily (PEP 562) so that the command line starts quickly.

>>> import efficacy
>>> from efficacy.analysis import analyze
>>> res = analyze(efficacy.read_trial("sample_data/parallel_12wk"))  # doctest: +SKIP
>>> res.primary()                                                    # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efficacy._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "analyze": "efficacy.analysis.run",
    "final_visit_ancova": "efficacy.analysis.ancova",
    "AnalysisResult": "efficacy.analysis.result",
    "RESULT_COLUMNS": "efficacy.analysis.result",
    "MODEL_COLUMNS": "efficacy.analysis.models",
    "SUBGROUP_COLUMNS": "efficacy.analysis.subgroups",
    "TippingPoint": "efficacy.analysis.tipping",
    "ReferenceBasedAnalysis": "efficacy.analysis.reference",
    "intercurrent_events": "efficacy.analysis.intercurrent",
}

#: What a user calls; the column tuples stay importable from here.
__all__ = [
    "AnalysisResult",
    "ReferenceBasedAnalysis",
    "TippingPoint",
    "analyze",
    "final_visit_ancova",
    "intercurrent_events",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from efficacy.analysis.ancova import final_visit_ancova
    from efficacy.analysis.intercurrent import intercurrent_events
    from efficacy.analysis.models import MODEL_COLUMNS  # noqa: F401
    from efficacy.analysis.reference import ReferenceBasedAnalysis
    from efficacy.analysis.result import RESULT_COLUMNS, AnalysisResult  # noqa: F401
    from efficacy.analysis.run import analyze
    from efficacy.analysis.subgroups import SUBGROUP_COLUMNS  # noqa: F401
    from efficacy.analysis.tipping import TippingPoint


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
