"""Instruments: the endpoint catalogue (units, directions, limits) and PRO metadata.

Also PRO scoring (Skindex-16, FACE-Q with a user-supplied conversion table), instrument
endpoint preparation (units, replicates, Cutometer R-parameters) and derivation
(baseline, change, percent change, responders). Those names are imported lazily
(PEP 562): :mod:`efficacy.protocol` imports the catalogue from here, and must not pull
in pandas or the scorers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efficacy._lazy import lazy_exports
from efficacy.instruments.catalogue import ENDPOINTS, Endpoint, get_endpoint, normalise_unit  # noqa: F401

_LAZY: dict[str, str] = {
    "score_skindex16": "efficacy.instruments.skindex16",
    "SKINDEX16_DOMAINS": "efficacy.instruments.skindex16",
    "score_faceq": "efficacy.instruments.faceq",
    "FACEQ_SCALES": "efficacy.instruments.faceq_tables",
    "FaceQScale": "efficacy.instruments.faceq_tables",
    "FaceQConversion": "efficacy.instruments.faceq_tables",
    "load_faceq_conversion": "efficacy.instruments.faceq_tables",
    "load_faceq_scales": "efficacy.instruments.faceq_tables",
    "prepare_measurements": "efficacy.instruments.measures",
    "SUPPORTIVE_ENDPOINTS": "efficacy.instruments.supportive",
    "derive_endpoints": "efficacy.instruments.derive",
    "pro_values": "efficacy.instruments.derive",
    "DERIVED_COLUMNS": "efficacy.instruments.derive",
    "ResponderRule": "efficacy.instruments.derive",
    "ScoringOptions": "efficacy.instruments.options",
    "ScoredTrial": "efficacy.instruments.pipeline",
    "score_trial": "efficacy.instruments.pipeline",
    "ScoringError": "efficacy.errors",
    "ConversionTableError": "efficacy.errors",
    "UnconvertedScoreWarning": "efficacy.errors",
}

#: What a user calls; the other names of ``_LAZY`` (column tuples, the FACE-Q and
#: Skindex-16 metadata, the scoring errors, which also live in :mod:`efficacy.errors`)
#: stay importable from here.
__all__ = [
    "ResponderRule",
    "ScoredTrial",
    "ScoringOptions",
    "derive_endpoints",
    "get_endpoint",
    "load_faceq_conversion",
    "load_faceq_scales",
    "prepare_measurements",
    "score_faceq",
    "score_skindex16",
    "score_trial",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from efficacy.errors import (
        ConversionTableError,  # noqa: F401
        ScoringError,  # noqa: F401
        UnconvertedScoreWarning,  # noqa: F401
    )
    from efficacy.instruments.derive import (
        DERIVED_COLUMNS,  # noqa: F401
        ResponderRule,
        derive_endpoints,
        pro_values,  # noqa: F401
    )
    from efficacy.instruments.faceq import score_faceq
    from efficacy.instruments.faceq_tables import (
        FACEQ_SCALES,  # noqa: F401
        FaceQConversion,  # noqa: F401
        FaceQScale,  # noqa: F401
        load_faceq_conversion,
        load_faceq_scales,
    )
    from efficacy.instruments.measures import prepare_measurements
    from efficacy.instruments.options import ScoringOptions
    from efficacy.instruments.pipeline import ScoredTrial, score_trial
    from efficacy.instruments.skindex16 import SKINDEX16_DOMAINS, score_skindex16  # noqa: F401
    from efficacy.instruments.supportive import SUPPORTIVE_ENDPOINTS  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
