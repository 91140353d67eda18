"""Trial planning: power and sample size before any data exist.

:func:`power_mmrm` is the analytic power and sample size of an MMRM's final-visit
contrast with monotone dropout (Lu, Luo & Chen 2008; R ``longpower``).
"""

from __future__ import annotations

from efficacy.plan.analytic import PowerResult, power_mmrm

__all__ = ["PowerResult", "power_mmrm"]
