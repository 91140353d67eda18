"""Trial planning: power and sample size before any data exist.

:func:`power_mmrm` is the analytic power and sample size of an MMRM's final-visit
contrast with monotone dropout (Lu, Luo & Chen 2008; R ``longpower``).
:func:`simulate_power` runs a protocol's whole analysis plan on simulated trials of a
scenario (:func:`load_scenario`), locally or on a Dask cluster; :func:`sample_size`
searches the number of participants for a target power.
"""

from __future__ import annotations

from efficacy.plan.analytic import PowerResult, power_mmrm
from efficacy.plan.scenario import Scenario, ScenarioError, load_scenario
from efficacy.plan.search import SampleSizeResult, sample_size
from efficacy.plan.simulate import PowerSimulation, simulate_power

__all__ = [
    "PowerResult",
    "PowerSimulation",
    "SampleSizeResult",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "power_mmrm",
    "sample_size",
    "simulate_power",
]
