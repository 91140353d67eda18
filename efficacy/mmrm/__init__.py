"""Mixed models for repeated measures (MMRM) matching SAS PROC MIXED and R mmrm.

Public names: `fit_mmrm`, `MMRMResult`, `FitControl` (re-exported by `efficacy`).
"""

from __future__ import annotations

from efficacy.mmrm.fit import fit_mmrm
from efficacy.mmrm.results import MMRMResult, WaldTest
from efficacy.mmrm.spec import FitControl

__all__ = ["FitControl", "MMRMResult", "WaldTest", "fit_mmrm"]
