"""efficacy: validate, analyse and report cosmetic efficacy trials.

The public API is the names in ``__all__``; everything else is private. Names are
imported lazily (PEP 562) so that ``import efficacy`` stays fast and the CLI starts
quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efficacy._lazy import lazy_exports

#: The one version source: pyproject.toml reads it (``[tool.hatch.version]``).
__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "EfficacyError": "efficacy.errors",
    "EfficacyWarning": "efficacy.errors",
    "Trial": "efficacy.trial",
    "read_trial": "efficacy.io",
    "read_adam": "efficacy.io",
    "Protocol": "efficacy.protocol",
    "load_protocol": "efficacy.protocol",
    "validate": "efficacy.validation",
    "ValidationReport": "efficacy.validation",
    "score_skindex16": "efficacy.instruments",
    "score_faceq": "efficacy.instruments",
    "fit_mmrm": "efficacy.mmrm",
    "analyze": "efficacy.analysis",
    "AnalysisResult": "efficacy.analysis",
    "MMRMResult": "efficacy.mmrm",
    "FitControl": "efficacy.mmrm",
    "power_mmrm": "efficacy.plan",
    "PowerResult": "efficacy.plan",
    "reference_based": "efficacy.rbmi",
    "simulate_power": "efficacy.plan",
    "PowerSimulation": "efficacy.plan",
    "sample_size": "efficacy.plan",
    "SampleSizeResult": "efficacy.plan",
}

__all__ = [
    "AnalysisResult",
    "EfficacyError",
    "EfficacyWarning",
    "FitControl",
    "MMRMResult",
    "PowerResult",
    "PowerSimulation",
    "Protocol",
    "SampleSizeResult",
    "Trial",
    "ValidationReport",
    "__version__",
    "analyze",
    "fit_mmrm",
    "load_protocol",
    "power_mmrm",
    "read_adam",
    "read_trial",
    "reference_based",
    "sample_size",
    "score_faceq",
    "score_skindex16",
    "simulate_power",
    "validate",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from efficacy.analysis import AnalysisResult, analyze
    from efficacy.errors import EfficacyError, EfficacyWarning
    from efficacy.instruments import score_faceq, score_skindex16
    from efficacy.io import read_adam, read_trial
    from efficacy.mmrm import FitControl, MMRMResult, fit_mmrm
    from efficacy.plan import (
        PowerResult,
        PowerSimulation,
        SampleSizeResult,
        power_mmrm,
        sample_size,
        simulate_power,
    )
    from efficacy.protocol import Protocol, load_protocol
    from efficacy.rbmi import reference_based
    from efficacy.trial import Trial
    from efficacy.validation import ValidationReport, validate


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
