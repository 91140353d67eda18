"""`simulate_power`: the protocol's whole analysis plan on many simulated trials.

Trial ``i`` is drawn from child ``i`` of ``numpy.random.SeedSequence(seed)`` (the
stream ``SeedSequence.spawn`` gives it), so its numbers do not depend on which worker
ran it: results are byte-identical with ``n_jobs=1``, ``n_jobs=2`` and a Dask cluster.
Trials run in batches (:data:`BATCH_SIZE` per task, fewer when there are few trials
per worker), each batch one task, so scheduling costs little next to the fits.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError, ProtocolError
from efficacy.plan._fast import FIELDS, PlanRunner, RowKey
from efficacy.plan._generate import draw_trial
from efficacy.plan.scenario import Scenario, load_scenario
from efficacy.protocol import Protocol, load_protocol

__all__ = ["BATCH_SIZE", "POWER_COLUMNS", "TRIAL_COLUMNS", "PowerSimulation", "simulate_power"]

#: Trials per task (a task fits hundreds of MMRMs: scheduling is a small share).
BATCH_SIZE = 250

#: Columns of :meth:`PowerSimulation.to_frame`.
POWER_COLUMNS: tuple[str, ...] = (
    "endpoint",
    "population",
    "power",
    "mc_se",
    "mean_estimate",
    "bias",
    "coverage",
)
_KEY_COLUMNS = ("endpoint", "role", "population", "comparison", "active_arm", "control_arm")
#: Columns of :attr:`PowerSimulation.trials`.
TRIAL_COLUMNS: tuple[str, ...] = ("trial", *_KEY_COLUMNS, *FIELDS)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class PowerSimulation:
    """Result of :func:`simulate_power` (frozen).

    Attributes
    ----------
    trials : pandas.DataFrame
        One row per trial, endpoint, population and comparison (:data:`TRIAL_COLUMNS`):
        ``trial`` (0-based index of its seed stream), the row's ``endpoint``, ``role``,
        ``population``, ``comparison``, ``active_arm``, ``control_arm``, then
        ``estimate``, ``std_error``, ``df``, ``p_value``, ``p_adjusted`` (key secondary
        family; NaN for other roles), ``conf_low``, ``conf_high``, ``rejected`` (bool:
        the p the plan tests, adjusted for the key secondary family, at most alpha),
        ``converged`` (bool), ``fast_path`` (bool: shared-design path; False when the
        analysis stage's ``fit_endpoint`` ran).
    truth : dict of (endpoint, active arm) to float
        The scenario's final-visit difference times `effect_scale` (NaN for PROs: their
        truth is on the latent scale).
    familywise : pandas.DataFrame
        Per population and comparison: ``n_hypotheses`` (primary and simulated key
        secondary endpoints), ``all_rejected`` (the family-wise power: the primary and
        every key secondary rejected, the key secondaries only counting when the primary
        is, as the plan gates them), ``key_secondary_any`` (at least one key secondary
        rejected after adjustment: the family's error rate under the null) and their
        ``mc_se_all`` / ``mc_se_any``.
    n_trials, seed : int
    effect_scale : float
    n_per_arm : dict of str to int
    alpha : float
    scenario : Scenario
    protocol : str
        ``id@version``.
    notes : tuple of str
        What the reader must know, e.g. plan endpoints the scenario does not simulate.
    """

    trials: pd.DataFrame
    truth: dict[tuple[str, str], float]
    familywise: pd.DataFrame
    n_trials: int
    seed: int
    effect_scale: float
    n_per_arm: dict[str, int]
    alpha: float
    scenario: Scenario
    protocol: str
    notes: tuple[str, ...] = ()

    @property
    def familywise_power(self) -> float:
        """Family-wise power of the first population and comparison (``all_rejected``)."""
        return float(self.familywise["all_rejected"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        """Power per endpoint and population (columns :data:`POWER_COLUMNS`).

        ``power`` is the share of all trials rejecting (a trial whose fit failed counts
        as not rejecting), ``mc_se`` its Monte Carlo SE ``sqrt(p (1 - p) / n)``,
        ``mean_estimate`` the mean estimate over fitted trials, ``bias`` its difference
        from the truth and ``coverage`` the share of fitted trials whose interval
        covers the truth (NaN when the truth is not on the score's scale). With several
        active arms there is one row per comparison (also the ``comparison`` column).
        """
        t = self.trials
        rows = []
        for (ep, pop, comp, act), g in t.groupby(
            ["endpoint", "population", "comparison", "active_arm"], sort=False
        ):
            truth = self.truth.get((str(ep), str(act)), math.nan)
            p = float(g["rejected"].mean())
            est = g["estimate"].to_numpy(float)
            ok = np.isfinite(est)
            cover = (g["conf_low"] <= truth) & (truth <= g["conf_high"])
            rows.append(
                {
                    "endpoint": ep,
                    "population": pop,
                    "power": p,
                    "mc_se": math.sqrt(p * (1.0 - p) / len(g)),
                    "mean_estimate": float(est[ok].mean()) if ok.any() else math.nan,
                    "bias": float(est[ok].mean() - truth) if ok.any() else math.nan,
                    "coverage": float(cover[ok].mean())
                    if ok.any() and math.isfinite(truth)
                    else math.nan,
                    "comparison": comp,
                }
            )
        out = pd.DataFrame(rows, columns=[*POWER_COLUMNS, "comparison"])
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data: inputs, power table and family-wise table (no per-trial rows)."""
        return {
            "n_trials": self.n_trials,
            "seed": self.seed,
            "effect_scale": self.effect_scale,
            "n_per_arm": dict(self.n_per_arm),
            "alpha": self.alpha,
            "protocol": self.protocol,
            "power": _records(self.to_frame()),
            "familywise": _records(self.familywise),
            "notes": list(self.notes),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in r.items()
        }
        for r in frame.astype(object).to_dict("records")
    ]


# ------------------------------------------------------------------ running batches


def run_batch(
    runner: PlanRunner, seed: int, start: int, stop: int, effect_scale: float
) -> np.ndarray:
    """Trials ``start..stop-1``: (stop - start, n_rows, len(FIELDS)) floats."""
    out = np.empty((stop - start, len(runner.keys), len(FIELDS)))
    for i in range(start, stop):
        ss = np.random.SeedSequence(seed, spawn_key=(i,))  # = SeedSequence(seed).spawn(..)[i]
        out[i - start] = runner.run(draw_trial(runner.scenario, ss, effect_scale))
    return out


_WORKER: list[PlanRunner] = []  # the runner of this worker process (set once per process)


def _init_worker(runner: PlanRunner) -> None:
    _WORKER[:] = [runner]


def _worker_batch(seed: int, start: int, stop: int, effect_scale: float) -> np.ndarray:
    return run_batch(_WORKER[0], seed, start, stop, effect_scale)


def _batches(n_trials: int, workers: int) -> list[tuple[int, int]]:
    size = max(1, min(BATCH_SIZE, math.ceil(n_trials / max(1, 4 * workers))))
    if workers == 1:
        size = min(BATCH_SIZE, n_trials)
    return [(s, min(n_trials, s + size)) for s in range(0, n_trials, size)]


def _local(
    runner: PlanRunner, seed: int, n_trials: int, scale: float, n_jobs: int
) -> Iterator[tuple[int, np.ndarray]]:
    spans = _batches(n_trials, n_jobs)
    if n_jobs == 1:
        for s, e in spans:
            yield s, run_batch(runner, seed, s, e, scale)
        return
    # the runner goes to each worker once (it rebuilds its templates there), not per task
    with ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=(runner,)) as pool:
        futures = [(s, pool.submit(_worker_batch, seed, s, e, scale)) for s, e in spans]
        for s, f in futures:
            yield s, f.result()


def _dask(
    runner: PlanRunner, seed: int, n_trials: int, scale: float, scheduler: Any
) -> Iterator[tuple[int, np.ndarray]]:
    try:
        dist: Any = importlib.import_module("distributed")
    except ImportError:  # pragma: no cover - depends on the environment
        raise EfficacyError(
            'scheduler= needs Dask: pip install "efficacy[dask]" (dask[distributed])'
        ) from None
    client: Any = scheduler if isinstance(scheduler, dist.Client) else dist.Client(scheduler)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        spans = _batches(n_trials, workers)
        shared = client.scatter(runner, broadcast=True)
        futures = [
            client.submit(run_batch, shared, seed, s, e, scale, pure=False) for s, e in spans
        ]
        start = {f.key: s for f, (s, _) in zip(futures, spans, strict=True)}
        for f in dist.as_completed(futures):
            yield start[f.key], f.result()
    finally:
        if client is not scheduler:
            client.close()


def simulate_power(
    scenario: Scenario | str | os.PathLike[str],
    protocol: Protocol | str | None = None,
    *,
    n_trials: int,
    seed: int,
    n_jobs: int = 1,
    scheduler: Any = None,
    effect_scale: float = 1.0,
    n_per_arm: int | dict[str, int] | None = None,
    progress: Progress | None = None,
) -> PowerSimulation:
    """Power of the protocol's analysis plan for a scenario, by simulating whole trials.

    Parameters
    ----------
    scenario : Scenario or path
        The design (:func:`efficacy.plan.load_scenario`).
    protocol : Protocol, str or path, optional
        Whose ``[analysis]`` plan is run on every trial (default ``iso-efficacy-2025``):
        primary endpoint, key secondary family with its multiplicity procedure,
        populations, model settings. Plan endpoints the scenario does not simulate are
        untested (as an endpoint without data in :func:`efficacy.analyze`; a fixed
        sequence stops there).
    n_trials : int
        Simulated trials.
    seed : int
        Root of the trials' seed streams (``SeedSequence(seed).spawn``).
    n_jobs : int
        Local worker processes (``concurrent.futures``; nothing to install).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead: the scheduler address of an existing cluster
        (``"tcp://10.0.0.5:8786"``, as ``dask scheduler`` prints it; start workers with
        ``dask worker tcp://10.0.0.5:8786`` on each machine, where ``efficacy`` is
        installed) or a ``distributed.Client``. Needs ``pip install "efficacy[dask]"``.
    effect_scale : float
        Multiplies every treatment effect of the scenario (0: the null hypothesis).
    n_per_arm : int or dict, optional
        Overrides the scenario's arm sizes (split-face: participants).
    progress : callable, optional
        Called with the number of trials done after each batch.

    Returns
    -------
    PowerSimulation

    Notes
    -----
    Each trial is drawn as analysis-ready data (no bundle is written, validated or
    read) and analysed as :func:`efficacy.analyze` analyses it: the same MMRM engine
    and inference on the same model matrix, the same contrast, the same multiplicity
    function (:mod:`efficacy.plan._fast`; a test checks one trial against ``analyze``
    of the same data written as a bundle). A trial counts as rejecting an endpoint when
    the p the plan tests (primary and secondary: unadjusted; key secondary: adjusted
    across the family in testing order) is at most alpha.

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path
    >>> sim = efficacy.simulate_power(
    ...     repo_path("sample_data", "scenarios", "elasticity_12wk.toml"),
    ...     n_trials=4, seed=1)
    >>> sim.to_frame()[["endpoint", "population", "power"]]
           endpoint    population  power
    0  cutometer_r2           itt   0.75
    1  cutometer_r2  per_protocol   0.75
    """
    sc = load_scenario(scenario)
    if n_per_arm is not None:
        sc = sc.with_n(n_per_arm)
    prot = load_protocol(protocol if protocol is not None else "iso-efficacy-2025")
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise EfficacyError(f"n_trials={n_trials!r}: give a whole number >= 1")
    if not (isinstance(n_jobs, int) and n_jobs >= 1):
        raise EfficacyError(f"n_jobs={n_jobs!r}: give a whole number >= 1")
    if not math.isfinite(effect_scale):
        raise EfficacyError(f"effect_scale={effect_scale!r}: give a finite number")
    if prot.analysis is None:
        raise ProtocolError(
            f"protocol {prot.id!r} has no [analysis] section; "
            'add one or extend "iso-efficacy-2025", which ships a default plan'
        )
    runner = PlanRunner(sc, prot.analysis)
    if not (isinstance(seed, int | np.integer) and seed >= 0):
        raise EfficacyError(f"seed={seed!r}: give a whole number >= 0")
    seed = int(seed)
    out = np.empty((n_trials, len(runner.keys), len(FIELDS)))
    parts = (
        _dask(runner, seed, n_trials, effect_scale, scheduler)
        if scheduler is not None
        else _local(runner, seed, n_trials, effect_scale, n_jobs)
    )
    done = 0
    for start, block in parts:
        out[start : start + len(block)] = block
        done += len(block)
        if progress is not None:
            progress(done)
    truth = {
        (e.endpoint, a): sc.truth(e.endpoint, a, effect_scale)
        for e in sc.endpoints
        for a in sc.actives
    }
    if sc.design == "split_face":
        truth = {
            (e.endpoint, "/".join(sc.actives)): sc.truth(e.endpoint, sc.actives[0], effect_scale)
            for e in sc.endpoints
        }
    trials = _trials_frame(out, runner.keys)
    return PowerSimulation(
        trials=trials,
        truth=truth,
        familywise=_familywise(out, runner),
        n_trials=n_trials,
        seed=seed,
        effect_scale=float(effect_scale),
        n_per_arm=dict(sc.n_per_arm),
        alpha=runner.plan.alpha,
        scenario=sc,
        protocol=f"{prot.id}@{prot.version}",
        notes=_notes(runner),
    )


def _notes(runner: PlanRunner) -> tuple[str, ...]:
    done = {e for e, _ in runner.endpoints}
    missing = [f"{e} ({r})" for e, r in runner.plan.endpoints if e not in done]
    notes = list(runner.plan.notes)
    if missing:
        notes.append(
            "plan endpoints the scenario does not simulate are untested: " + ", ".join(missing)
        )
        if runner.plan.settings.multiplicity == "fixed-sequence":
            notes.append("the fixed sequence stops at the first untested key secondary endpoint")
    return tuple(notes)


def _trials_frame(out: np.ndarray, keys: tuple[RowKey, ...]) -> pd.DataFrame:
    n, k, _ = out.shape
    flat = out.reshape(n * k, len(FIELDS))
    cols: dict[str, Any] = {"trial": np.repeat(np.arange(n), k)}
    for name in _KEY_COLUMNS:
        cols[name] = np.tile(np.array([getattr(key, name) for key in keys], dtype=object), n)
    for j, name in enumerate(FIELDS):
        col = flat[:, j]
        cols[name] = col == 1.0 if name in ("rejected", "converged", "fast_path") else col
    return pd.DataFrame(cols, columns=list(TRIAL_COLUMNS))


def _familywise(out: np.ndarray, runner: PlanRunner) -> pd.DataFrame:
    """Family-wise rejection per population and comparison, from the trials' numbers.

    ``out`` is (n_trials, n_rows, len(FIELDS)), its rows :attr:`PlanRunner.keys`; the
    groups come in the order of their first row, as ``groupby(..., sort=False)`` gives.
    """
    rejected = out[:, :, FIELDS.index("rejected")] == 1.0
    groups: dict[tuple[str, str], list[int]] = {}
    for j, key in enumerate(runner.keys):
        if key.role in ("primary", "key secondary"):
            groups.setdefault((key.population, key.comparison), []).append(j)
    prim = runner.plan.primary
    n = out.shape[0]
    rows = []
    for (pop, comp), cols in groups.items():
        gate_col = [j for j in cols if runner.keys[j].endpoint == prim]
        keysec = [j for j in cols if runner.keys[j].endpoint != prim]
        gate = rejected[:, gate_col[0]] if gate_col else np.zeros(n, dtype=bool)
        all_rej = gate & rejected[:, keysec].all(axis=1) if keysec else gate
        any_rej = rejected[:, keysec].any(axis=1) if keysec else np.zeros(n, dtype=bool)
        pa, pn = float(all_rej.mean()), float(any_rej.mean())
        rows.append(
            {
                "population": pop,
                "comparison": comp,
                "n_hypotheses": int(len(keysec) + bool(gate_col)),
                "all_rejected": pa,
                "mc_se_all": math.sqrt(pa * (1 - pa) / n),
                "key_secondary_any": pn,
                "mc_se_any": math.sqrt(pn * (1 - pn) / n),
            }
        )
    return pd.DataFrame(rows)
