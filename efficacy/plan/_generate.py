"""Draw one simulated trial of a scenario: analysis-ready arrays, no files.

A trial is drawn from its own ``numpy.random.SeedSequence`` (child ``i`` of the run's
seed), so trial ``i`` is the same whichever worker draws it. The draws, in order: per
endpoint (scenario order) the baselines, then the changes (and for PROs the item
noise); then the dropout. Values are built as the bundle would hold them (``value =
baseline + change``) and the analysis quantities computed as the scoring stage does
(``change = value - baseline``; split-face: treated minus control site), so a trial
written as a bundle (:mod:`efficacy.plan._bundle`) analyses to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from efficacy.plan.scenario import EndpointModel, Scenario

__all__ = ["SimTrial", "draw_trial", "score_items"]


@dataclass(frozen=True)
class SimTrial:
    """One simulated trial.

    Attributes
    ----------
    arm : ndarray of int (N,)
        Index into ``scenario.arms`` per participant (split-face: the treated site's
        active arm). Participants are ``S0001..`` in this order.
    observed : ndarray of bool (N, m)
        Observed at each post-baseline visit (monotone).
    baseline : dict of str to ndarray (N,)
        Analysis baseline per endpoint (split-face: treated minus control site).
    change : dict of str to ndarray (N, m)
        Analysis change from baseline (NaN where not observed).
    values : dict of str to ndarray (N, S, m + 1)
        Raw values per site (S = 1 parallel, 2 split-face: treated, control) at
        baseline and each visit (NaN where not observed); PROs: domain scores.
    responses : dict of str to ndarray of int (N, m + 1, k)
        PRO item responses (NaN-free; unobserved visits are dropped when written).
    treated_site : ndarray of int (N,)
        Split-face: index into ``scenario.sites`` of the treated site.
    """

    arm: np.ndarray
    observed: np.ndarray
    baseline: dict[str, np.ndarray]
    change: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    responses: dict[str, np.ndarray]
    treated_site: np.ndarray


def _arm_codes(sc: Scenario) -> np.ndarray:
    if sc.design == "split_face":
        return np.ones(sc.n_participants, dtype=np.intp)
    return np.repeat(np.arange(len(sc.arms)), [sc.n_per_arm[a] for a in sc.arms])


def _means(e: EndpointModel, sc: Scenario, effect_scale: float) -> np.ndarray:
    """Mean change per arm (rows in ``sc.arms`` order), the effect scaled."""
    ctl = np.asarray(e.mean_change[sc.control], dtype=float)
    rows = [ctl + effect_scale * (np.asarray(e.mean_change[a], dtype=float) - ctl) for a in sc.arms]
    return np.array(rows)


def _mvn(rng: np.random.Generator, chol: np.ndarray, n: int) -> np.ndarray:
    z = rng.standard_normal((n, chol.shape[0]))
    out: np.ndarray = z @ chol.T
    return out


def _dropout(
    rng: np.random.Generator, sc: Scenario, arm: np.ndarray, change: dict[str, np.ndarray]
) -> np.ndarray:
    """Monotone observed mask (N, m): MCAR from one uniform, MAR visit by visit."""
    n, m = arm.size, len(sc.weeks)
    ret = np.array([sc.dropout.retention[a] for a in sc.arms])[arm]  # (N, m)
    u = rng.random((n, m))
    if sc.dropout.kind == "mcar":
        return np.asarray(u[:, :1] < ret, dtype=bool)
    e = sc.endpoint(sc.dropout.endpoint)
    if e is None:  # checked when the scenario was read
        raise ValueError(f"dropout.endpoint {sc.dropout.endpoint!r} is not simulated")
    ctl = np.asarray(e.mean_change[sc.control], dtype=float)
    z = (change[e.endpoint] - ctl) / np.asarray(e.sd)  # the last observed change, in SDs
    obs = np.zeros((n, m), dtype=bool)
    obs[:, 0] = u[:, 0] < ret[:, 0]
    for j in range(1, m):
        with np.errstate(divide="ignore", invalid="ignore"):
            hazard = np.clip(1.0 - ret[:, j] / ret[:, j - 1], 0.0, 1.0)
            logit = np.log(hazard) - np.log1p(-hazard) + sc.dropout.mar_slope * z[:, j - 1]
            p = 1.0 / (1.0 + np.exp(-logit))
        p = np.where(hazard <= 0, 0.0, np.where(hazard >= 1, 1.0, p))
        obs[:, j] = obs[:, j - 1] & (u[:, j] >= p)
    return obs


def score_items(responses: np.ndarray, items: tuple[int, ...], observed: np.ndarray) -> np.ndarray:
    """Domain score (N, m + 1) of item responses through the package's Skindex-16 scoring.

    Unobserved visits are NaN. The scoring is :func:`efficacy.score_skindex16` itself,
    on the long table the bundle would hold.
    """
    from efficacy.instruments import score_skindex16

    n, t, k = responses.shape
    seen = np.concatenate([np.ones((n, 1), dtype=bool), observed], axis=1)
    subj, vis = np.nonzero(seen)
    frame = pd.DataFrame(
        {
            "subject_id": np.repeat(subj, k).astype(str),
            "visit": np.repeat(vis, k).astype(str),
            "instrument": "skindex16",
            "item": np.tile(np.asarray(items), subj.size),
            "response": responses[subj, vis].reshape(-1),
        }
    )
    scored = score_skindex16(frame)
    domain = scored[scored["n_items"] == k]
    out = np.full((n, t), np.nan)
    out[domain["subject_id"].astype(int), domain["visit"].astype(int)] = domain["score"].to_numpy(
        float
    )
    return out


def _draw_endpoint(
    rng: np.random.Generator, e: EndpointModel, sc: Scenario, arm: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Baseline (N, S) and change (N, S, m) per site; PROs also the item noise."""
    n, m = arm.size, len(sc.weeks)
    chol = np.linalg.cholesky(e.covariance)
    means = _means(e, sc, scale)
    if sc.design == "split_face":
        rho = e.site_correlation
        a, b = np.sqrt(max(rho, 0.0)), np.sqrt(1.0 - max(rho, 0.0))
        zb = rng.standard_normal((n, 3))
        base = e.baseline_mean + e.baseline_sd * (a * zb[:, :1] + b * zb[:, 1:])
        person = _mvn(rng, chol, n)[:, None, :]
        site = _mvn(rng, chol, 2 * n).reshape(n, 2, m)
        sites_mean = np.stack([means[arm], np.broadcast_to(means[0], (n, m))], axis=1)
        return base, sites_mean + a * person + b * site, None
    base = e.baseline_mean + e.baseline_sd * rng.standard_normal((n, 1))
    change = (means[arm] + _mvn(rng, chol, n))[:, None, :]
    noise = None
    if e.items is not None:
        noise = rng.logistic(size=(n, m + 1, len(e.items.items)))
    return base, change, noise


def draw_trial(
    scenario: Scenario, seed: np.random.SeedSequence, effect_scale: float = 1.0
) -> SimTrial:
    """Draw one trial of `scenario` from `seed` (see the module notes for the order)."""
    rng = np.random.default_rng(seed)
    sc = scenario
    arm = _arm_codes(sc)
    n = arm.size
    raw: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    for e in sc.endpoints:
        raw[e.endpoint] = _draw_endpoint(rng, e, sc, arm, effect_scale)
    latent_change = {k: v[1][:, 0, :] for k, v in raw.items()}
    if sc.design == "split_face":
        latent_change = {k: v[1][:, 0, :] - v[1][:, 1, :] for k, v in raw.items()}
    treated = rng.integers(0, 2, size=n) if sc.design == "split_face" else np.zeros(n, np.intp)
    observed = _dropout(rng, sc, arm, latent_change)
    out = SimTrial(arm, observed, {}, {}, {}, {}, treated)
    post = np.where(observed, 0.0, np.nan)
    for e in sc.endpoints:
        base, change, noise = raw[e.endpoint]
        if e.items is not None and noise is not None:
            theta = np.concatenate([base, base + change[:, 0, :]], axis=1)  # (N, m + 1)
            th = np.asarray(e.items.thresholds)
            resp = ((theta[:, :, None, None] + noise[:, :, :, None]) > th).sum(axis=3)
            out.responses[e.endpoint] = resp
            values = score_items(resp, e.items.items, observed)[:, None, :]
        else:
            values = np.concatenate([base[:, :, None], base[:, :, None] + change], axis=2)
            values[:, :, 1:] += post[:, None, :]
        out.values[e.endpoint] = values
        site_change = values[:, :, 1:] - values[:, :, :1]  # value - baseline, as scored
        if sc.design == "split_face":
            out.baseline[e.endpoint] = values[:, 0, 0] - values[:, 1, 0]
            out.change[e.endpoint] = site_change[:, 0, :] - site_change[:, 1, :]
        else:
            out.baseline[e.endpoint] = values[:, 0, 0]
            out.change[e.endpoint] = site_change[:, 0, :]
    return out
