"""`sample_size`: participants per arm for a target power, analytic start, simulation refine."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from efficacy.errors import EfficacyError
from efficacy.plan.analytic import power_mmrm
from efficacy.plan.scenario import Scenario, load_scenario
from efficacy.plan.simulate import PowerSimulation, Progress, simulate_power
from efficacy.protocol import Protocol, load_protocol

__all__ = ["SampleSizeResult", "analytic_start", "sample_size"]


@dataclass(frozen=True)
class SampleSizeResult:
    """Result of :func:`sample_size` (frozen).

    Attributes
    ----------
    n_per_arm : int
        The smallest simulated n per arm (split-face: participants) reaching the target.
    power, mc_se : float
        Its simulated power and Monte Carlo SE.
    target_power : float
    analytic_n_per_arm : int or None
        The analytic start (None when no formula applies, e.g. a PRO endpoint).
    curve : pandas.DataFrame
        Every n simulated: ``n_per_arm``, ``power``, ``mc_se``, sorted by n.
    criterion : str
        ``"<endpoint> (<population>)"`` or ``"family-wise (<population>)"``.
    reached : bool
        False when even `n_max` missed the target (then `n_per_arm` is `n_max`).
    n_trials, seed : int
    """

    n_per_arm: int
    power: float
    mc_se: float
    target_power: float
    analytic_n_per_arm: int | None
    curve: pd.DataFrame
    criterion: str
    reached: bool
    n_trials: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serialisable)."""
        return {
            "n_per_arm": self.n_per_arm,
            "power": self.power,
            "mc_se": self.mc_se,
            "target_power": self.target_power,
            "analytic_n_per_arm": self.analytic_n_per_arm,
            "criterion": self.criterion,
            "reached": self.reached,
            "n_trials": self.n_trials,
            "seed": self.seed,
            "curve": self.curve.to_dict("records"),
        }


def analytic_start(sc: Scenario, endpoint: str, target: float, alpha: float) -> int | None:
    """N per arm from the formula: :func:`power_mmrm` (parallel) or a paired z (split-face).

    Parallel, two arms: Lu, Luo & Chen (2008) with the final-visit SD, the correlation
    matrix and each arm's retention. Split-face: the within-person difference (SD
    ``sd sqrt(2 (1 - site_correlation))``) with a paired normal approximation,
    inflated by the final retention. None for PRO endpoints (latent scale) and for
    more than two arms or no effect.
    """
    e = sc.endpoint(endpoint)
    if e is None or e.items is not None or len(sc.arms) != 2:
        return None
    active = sc.actives[0]
    delta = sc.truth(endpoint, active)
    if not (math.isfinite(delta) and delta != 0):
        return None
    if sc.design == "split_face":
        sd = e.sd[-1] * math.sqrt(2.0 * (1.0 - e.site_correlation))
        z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target)
        r = sc.dropout.retention[active][-1]
        n: int = math.ceil((z * sd / delta) ** 2 / r)
        return max(2, n)
    res = power_mmrm(
        power=target,
        delta=abs(delta),
        sigma=e.sd[-1],
        correlation=e.correlation,
        retention=sc.dropout.retention[active],
        retention_control=sc.dropout.retention[sc.control],
        alpha=alpha,
    )
    return max(2, int(max(res.n_active_required, res.n_control_required)))


def _measure(sim: PowerSimulation, endpoint: str | None, population: str) -> tuple[float, float]:
    if endpoint is None:
        fw = sim.familywise[sim.familywise["population"] == population]
        return float(fw["all_rejected"].iloc[0]), float(fw["mc_se_all"].iloc[0])
    t = sim.to_frame()
    row = t[(t["endpoint"] == endpoint) & (t["population"] == population)]
    if row.empty:
        raise EfficacyError(f"endpoint {endpoint!r} in {population!r} is not analysed by the plan")
    return float(row["power"].iloc[0]), float(row["mc_se"].iloc[0])


def sample_size(
    scenario: Scenario | str | os.PathLike[str],
    protocol: Protocol | str | None = None,
    *,
    target_power: float = 0.9,
    n_trials: int = 1000,
    seed: int,
    endpoint: str | None = None,
    population: str = "itt",
    familywise: bool = False,
    n_jobs: int = 1,
    scheduler: Any = None,
    n_max: int = 5000,
    progress: Progress | None = None,
) -> SampleSizeResult:
    """Search the participants per arm that give the target power.

    Parameters
    ----------
    scenario, protocol, n_trials, seed, n_jobs, scheduler
        As :func:`simulate_power` (every n uses the same seed: common random numbers).
    target_power : float
    endpoint : str, optional
        Whose power counts (default: the plan's primary endpoint).
    population : str
        ``itt`` (default) or ``per_protocol``.
    familywise : bool
        Count the family-wise power instead (primary and every simulated key secondary
        rejected; `endpoint` is then ignored).
    n_max : int
        Largest n per arm tried.
    progress : callable, optional
        Called with the number of simulated n's done.

    Returns
    -------
    SampleSizeResult

    Notes
    -----
    The search: (1) the analytic start ``n0`` (:func:`analytic_start`; the scenario's
    own n when no formula applies); (2) simulate at ``n0``; step down by 20% while the
    target is met, or up by 25% until it is (at most `n_max`), which brackets the answer
    between a failing and a passing n; (3) bisect that bracket down to adjacent
    integers. The answer is the smallest passing n simulated. Simulated power is not
    exactly monotone in n (each n draws other trials), so near the target the answer
    is accurate to the Monte Carlo SE of the power, which `curve` shows.

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path
    >>> sc = repo_path("sample_data", "scenarios", "elasticity_12wk.toml")
    >>> res = efficacy.sample_size(sc, target_power=0.8, n_trials=8, seed=3)
    >>> res.analytic_n_per_arm, res.reached
    (40, True)
    """
    sc = load_scenario(scenario)
    prot = load_protocol(protocol if protocol is not None else "iso-efficacy-2025")
    if prot.analysis is None:
        raise EfficacyError(f"protocol {prot.id!r} has no [analysis] plan")
    if not 0 < target_power < 1:
        raise EfficacyError(f"target_power={target_power!r}: give a number between 0 and 1")
    ep = None if familywise else (endpoint or prot.analysis.primary)
    start = analytic_start(sc, ep or prot.analysis.primary, target_power, prot.analysis.alpha)
    seen: dict[int, tuple[float, float]] = {}

    def power_at(n: int) -> float:
        if n not in seen:
            sim = simulate_power(
                sc, prot, n_trials=n_trials, seed=seed, n_jobs=n_jobs, scheduler=scheduler,
                n_per_arm=n,
            )  # fmt: skip
            seen[n] = _measure(sim, ep, population)
            if progress is not None:
                progress(len(seen))
        return seen[n][0]

    n = min(n_max, start or min(sc.n_per_arm.values()))
    lo, hi = 1, None  # lo fails (or is below any design), hi passes
    if power_at(n) >= target_power:
        hi = n
        while hi > 2:
            cand = max(2, int(hi * 0.8))
            if power_at(cand) >= target_power:
                hi = cand
            else:
                lo = cand
                break
        else:
            lo = 1
    else:
        lo = n
        while lo < n_max:
            cand = min(n_max, max(lo + 1, math.ceil(lo * 1.25)))
            if power_at(cand) >= target_power:
                hi = cand
                break
            lo = cand
    reached = hi is not None
    if hi is None:
        hi = n_max
    while reached and hi - lo > 1 and lo >= 2:
        mid = (lo + hi) // 2
        if power_at(mid) >= target_power:
            hi = mid
        else:
            lo = mid
    curve = pd.DataFrame(
        [(k, v[0], v[1]) for k, v in sorted(seen.items())], columns=["n_per_arm", "power", "mc_se"]
    )
    passing = [k for k, (p, _) in sorted(seen.items()) if p >= target_power]
    best = passing[0] if passing else hi
    label = "family-wise" if ep is None else ep
    return SampleSizeResult(
        n_per_arm=int(best),
        power=seen[best][0],
        mc_se=seen[best][1],
        target_power=float(target_power),
        analytic_n_per_arm=start,
        curve=curve,
        criterion=f"{label} ({population})",
        reached=reached,
        n_trials=n_trials,
        seed=int(np.int64(seed)),
    )
