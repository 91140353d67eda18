"""Seeded simulation of parallel-group and split-face cosmetic efficacy trials.

The same seed and arguments give the same tables, value for value (every random stream
is ``numpy.random.default_rng([seed, k])`` with a fixed ``k`` per component).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError
from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.sim._columns import text_column
from efficacy.sim._conduct import code_adverse_events, simulate_deviations
from efficacy.sim._instruments import ENDPOINT_ORDER, effect_curve, simulate_values
from efficacy.sim._manifest import DEVICES, build_manifest, schedule
from efficacy.sim._people import (
    Cohort,
    simulate_adverse_events,
    simulate_cohort,
    visit_days,
)
from efficacy.sim._pro import simulate_pro
from efficacy.sim.bundle import SimulatedBundle

__all__ = ["SPLIT_FACE_SITES", "simulate_parallel", "simulate_split_face"]

#: Body sites of a split-face trial (the allocation maps each to an arm).
SPLIT_FACE_SITES: tuple[str, str] = ("left_cheek", "right_cheek")

#: Measurement site per endpoint family in a parallel trial (one side of the face).
_PARALLEL_SITE = {"cutometer": "left_cheek", "profilometry": "left_crow_feet"}

_WRINKLE_DEVICES = ("PRIMOS CR", "Antera 3D")


@dataclass(frozen=True)
class _Spec:
    seed: int
    design: str
    n: int
    n_screen_failures: int
    weeks: tuple[int, ...]
    dropout_rate: float
    effect_size: float
    wrinkle_device: str
    trial_id: str
    title: str


def _check(spec: _Spec) -> None:
    problems: list[str] = []
    if not isinstance(spec.seed, int | np.integer) or spec.seed < 0:
        problems.append(f"seed={spec.seed!r} must be a non-negative integer")
    if spec.n < 4:
        problems.append(f"n={spec.n!r} must be at least 4 (randomised in blocks of 4)")
    if spec.n_screen_failures < 0:
        problems.append(f"n_screen_failures={spec.n_screen_failures!r} must be >= 0")
    if not 0.0 <= spec.dropout_rate < 1.0:
        problems.append(f"dropout_rate={spec.dropout_rate!r} must be in [0, 1)")
    if not math.isfinite(spec.effect_size):
        problems.append(f"effect_size={spec.effect_size!r} must be finite")
    if spec.wrinkle_device not in _WRINKLE_DEVICES:
        problems.append(f"wrinkle_device={spec.wrinkle_device!r}: use one of {_WRINKLE_DEVICES}")
    if problems:
        raise EfficacyError("; ".join(problems))


def _device_columns(endpoints: Sequence[str], wrinkle_device: str) -> tuple[list[str], list[str]]:
    devices, settings = [], []
    for e in endpoints:
        family = ENDPOINTS[e].instrument
        key = wrinkle_device if family == "profilometry" else family
        devices.append(DEVICES[key][0])
        settings.append(DEVICES[key][1])
    return devices, settings


def _measurements(
    spec: _Spec,
    cohort: Cohort,
    visit_ids: list[str],
    days: np.ndarray,
    sites: tuple[str, ...],
) -> pd.DataFrame:
    """Long ``measurements`` table: subject, visit, site, endpoint order."""
    r, v, k = cohort.rand_ids.size, len(visit_ids), len(sites)
    if spec.design == "parallel":
        unit_active = cohort.active
    else:
        unit_active = np.column_stack([cohort.active, ~cohort.active]).ravel()
    values = simulate_values(
        spec.seed,
        subj=np.repeat(np.arange(r), k),
        n_people=r,
        active=unit_active,
        weeks=np.asarray(spec.weeks, dtype=float),
        effect_size=spec.effect_size,
    )
    cube = np.stack([values[e] for e in ENDPOINT_ORDER], axis=-1)  # (r*k, v, e)
    cube = cube.reshape(r, k, v, len(ENDPOINT_ORDER)).transpose(0, 2, 1, 3)
    attended = np.arange(v)[None, :] <= cohort.last_visit[:, None]
    mask = np.broadcast_to(attended[:, :, None, None], cube.shape)
    ri, vi, ki, ei = np.nonzero(mask)
    env = np.random.default_rng([spec.seed, 3])
    # Room conditions per session inside 20-22 °C and 40-60% RH (FACTS.md 4.2, QB/T 4256).
    temp = np.round(np.clip(env.normal(21.0, 0.35, (r, v)), 20.0, 22.0), 1)
    hum = np.round(np.clip(env.normal(50.0, 4.0, (r, v)), 40.0, 60.0), 0)
    units = [ENDPOINTS[e].unit for e in ENDPOINT_ORDER]
    devices, settings = _device_columns(ENDPOINT_ORDER, spec.wrinkle_device)
    if spec.design == "parallel":
        site_of = [
            _PARALLEL_SITE.get(ENDPOINTS[e].instrument, "left_cheek") for e in ENDPOINT_ORDER
        ]
        body_site = text_column(site_of, ei)
    else:
        body_site = text_column(sites, ki)
    return pd.DataFrame(
        {
            "subject_id": text_column(cohort.rand_ids, ri),
            "visit": text_column(visit_ids, vi),
            "day": days[ri, vi],
            "endpoint": text_column(ENDPOINT_ORDER, ei),
            "value": cube[ri, vi, ki, ei],
            "unit": text_column(units, ei),
            "body_site": body_site,
            "device": text_column(devices, ei),
            "device_settings": text_column(settings, ei),
            "temperature_c": temp[ri, vi],
            "humidity_pct": hum[ri, vi],
        }
    )


def _pro_visits(weeks: tuple[int, ...]) -> list[int]:
    """Baseline, week 4 (when scheduled and not final) and the final visit."""
    idx = [0]
    if 4 in weeks[1:-1]:
        idx.append(weeks.index(4))
    idx.append(len(weeks) - 1)
    return idx


def _pro_table(spec: _Spec, cohort: Cohort, visit_ids: list[str], days: np.ndarray) -> pd.DataFrame:
    """PRO responses at baseline, week 4 and the final visit (attended visits only)."""
    pv = _pro_visits(spec.weeks)
    attended = np.arange(len(visit_ids))[None, :] <= cohort.last_visit[:, None]
    if spec.design == "parallel":
        share = np.where(cohort.active, 1.0, 0.25) * spec.effect_size
    else:
        share = np.full(spec.n, 0.6 * spec.effect_size)
    return simulate_pro(
        spec.seed,
        rand_ids=cohort.rand_ids,
        active_share=share,
        visit_ids=[visit_ids[i] for i in pv],
        visit_f=effect_curve(np.asarray([spec.weeks[i] for i in pv], dtype=float)),
        days=days[:, pv],
        attended=attended[:, pv],
    )


def _simulate(spec: _Spec) -> SimulatedBundle:
    _check(spec)
    visits = schedule(spec.weeks)
    visit_ids = [v.id for v in visits]
    sites = SPLIT_FACE_SITES if spec.design == "split_face" else ("left_cheek",)
    cohort = simulate_cohort(
        np.random.default_rng([spec.seed, 1]),
        n_randomised=spec.n,
        n_screen_failures=spec.n_screen_failures,
        n_visits=len(visits),
        dropout_rate=spec.dropout_rate,
        design=spec.design,
        sites=SPLIT_FACE_SITES,
    )
    days = visit_days(
        np.random.default_rng([spec.seed, 2]),
        spec.n,
        np.asarray([v.day for v in visits]),
        np.asarray([v.window_days for v in visits]),
    )
    measurements = _measurements(spec, cohort, visit_ids, days, sites)
    pro = _pro_table(spec, cohort, visit_ids, days)
    last_day = days[np.arange(spec.n), cohort.last_visit]
    aes = simulate_adverse_events(
        np.random.default_rng([spec.seed, 4]),
        cohort,
        last_day,
        design=spec.design,
        sites=SPLIT_FACE_SITES,
    )
    aes = code_adverse_events(aes, cohort.subjects)
    deviations, pp_reason = simulate_deviations(
        np.random.default_rng([spec.seed, 5]), cohort.subjects, cohort.rand_ids, last_day
    )
    subjects = cohort.subjects.assign(pp_exclusion_reason=pp_reason)
    manifest = build_manifest(
        trial_id=spec.trial_id,
        title=spec.title,
        design=spec.design,
        visits=visits,
        n_screened=spec.n + spec.n_screen_failures,
        n_randomised=spec.n,
    )
    truth = {
        "seed": int(spec.seed),
        "design": spec.design,
        "n_randomised": spec.n,
        "n_screen_failures": spec.n_screen_failures,
        "weeks": list(spec.weeks),
        "dropout_rate": spec.dropout_rate,
        "effect_size": spec.effect_size,
    }
    tables = {
        "subjects": subjects,
        "measurements": measurements,
        "pro_responses": pro,
        "adverse_events": aes,
        "deviations": deviations,
    }
    return SimulatedBundle(manifest=manifest, tables=tables, truth=truth)


def simulate_parallel(
    seed: int,
    n: int = 120,
    *,
    n_screen_failures: int | None = None,
    weeks: Sequence[int] = (0, 2, 4, 8, 12),
    dropout_rate: float = 0.10,
    effect_size: float = 1.0,
    wrinkle_device: str = "PRIMOS CR",
    trial_id: str = "SIM-PARALLEL-12W",
) -> SimulatedBundle:
    """Simulate a two-arm, vehicle-controlled, parallel-group trial.

    Parameters
    ----------
    seed : int
        Seed of every random stream; the same seed gives the same bundle.
    n : int, default 120
        Number of randomised people (1:1, permuted blocks of 4).
    n_screen_failures : int, optional
        Screened people not randomised (default ``round(n / 4)``).
    weeks : sequence of int, default (0, 2, 4, 8, 12)
        Visit weeks; visit ``W<w>`` at day ``7*w`` with windows 0 / ±3 / ±4 / ±7 days.
    dropout_rate : float, default 0.10
        Probability that a randomised person leaves early (discontinued or lost to
        follow-up, with a reason); data after leaving are absent (monotone missing).
    effect_size : float, default 1.0
        Multiplier of all treatment effects (0 simulates a null product).
    wrinkle_device : {"PRIMOS CR", "Antera 3D"}
        3D profilometry system.
    trial_id : str
        ``[trial] id`` of the manifest.

    Returns
    -------
    SimulatedBundle
        Manifest and tables ``subjects``, ``measurements``, ``pro_responses``,
        ``adverse_events`` and ``deviations`` (columns as in
        :data:`efficacy.trial.TABLE_SCHEMAS`; AEs coded with the simulator's own
        vocabulary, not MedDRA: :data:`efficacy.sim._conduct.SIM_CODING`).

    Notes
    -----
    Effects at week 12 on the active arm (vehicle in brackets): R0 -10% (-1.5%),
    R2 +0.05 (+0.0075), R5 +0.06, R7 +0.04; Corneometer +14 a.u. (+4.9); TEWL -20%
    (-5%); wrinkle Ra/Rz/depth/volume -12% (-1.3%). Each unit's effect is scaled by a
    log-normal random slope (sd 0.3), and follows ``effect_curve`` over visits.
    """
    spec = _Spec(
        seed=seed,
        design="parallel",
        n=int(n),
        n_screen_failures=round(n / 4) if n_screen_failures is None else int(n_screen_failures),
        weeks=tuple(int(w) for w in weeks),
        dropout_rate=float(dropout_rate),
        effect_size=float(effect_size),
        wrinkle_device=wrinkle_device,
        trial_id=trial_id,
        title=(
            f"Simulated randomised, double-blind, vehicle-controlled {max(weeks)}-week trial "
            "of a topical anti-ageing serum (parallel groups)"
        ),
    )
    return _simulate(spec)


def simulate_split_face(
    seed: int,
    n: int = 40,
    *,
    n_screen_failures: int | None = None,
    weeks: Sequence[int] = (0, 2, 4, 8, 12),
    dropout_rate: float = 0.10,
    effect_size: float = 1.0,
    wrinkle_device: str = "Antera 3D",
    trial_id: str = "SIM-SPLITFACE-12W",
) -> SimulatedBundle:
    """Simulate a split-face (within-person) trial: active on one cheek, vehicle on the other.

    Each randomised person's allocation, e.g. ``"left_cheek=ACTIVE;right_cheek=VEHICLE"``,
    is randomised in blocks of 4; every instrument is measured on both cheeks, the two
    sides sharing the person's random effects, and the treatment effect acts at the
    active site only. Parameters and returns as :func:`simulate_parallel`.
    """
    spec = _Spec(
        seed=seed,
        design="split_face",
        n=int(n),
        n_screen_failures=round(n / 4) if n_screen_failures is None else int(n_screen_failures),
        weeks=tuple(int(w) for w in weeks),
        dropout_rate=float(dropout_rate),
        effect_size=float(effect_size),
        wrinkle_device=wrinkle_device,
        trial_id=trial_id,
        title=(
            f"Simulated randomised, double-blind, vehicle-controlled {max(weeks)}-week "
            "split-face trial of a topical anti-ageing serum"
        ),
    )
    return _simulate(spec)
