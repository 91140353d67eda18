"""One simulated trial of a scenario as a trial bundle (to inspect it, or to analyse it fully).

:func:`trial_bundle` turns a :class:`~efficacy.plan._generate.SimTrial` into the
simulator's :class:`~efficacy.sim.bundle.SimulatedBundle` (write it with
:func:`efficacy.sim.bundle.write_bundle`); :func:`efficacy.analyze` of that bundle gives
the numbers :func:`efficacy.simulate_power` computed for the trial (tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from efficacy.plan._fast import subject_ids, visit_ids
from efficacy.plan._generate import SimTrial
from efficacy.plan.scenario import Scenario
from efficacy.sim._manifest import _consort
from efficacy.sim.bundle import SimulatedBundle

__all__ = ["trial_bundle"]

_DOMAIN = {
    i: "symptoms" if i <= 4 else "emotions" if i <= 11 else "functioning" for i in range(1, 17)
}

_DEVICES = {
    "cutometer": ("Cutometer dual MPA 580", "probe=2mm;suction=450mbar;on=2s;off=2s;repetitions=3"),
    "corneometer": ("Corneometer CM 825", "readings=3;acclimatisation=20min"),
}


def _manifest(sc: Scenario, trial_id: str) -> dict[str, Any]:
    weeks = (0.0, *sc.weeks)
    ids = ("W0", *visit_ids(sc.weeks))
    return {
        "trial": {
            "id": trial_id,
            "title": f"Simulated trial of the planning scenario {sc.title or sc.source}",
            "design": sc.design,
            "baseline_visit": "W0",
            "baseline_day": 0,
        },
        "arms": [{"id": a, "label": a, "control": a == sc.control} for a in sc.arms],
        "visits": [
            {"id": v, "week": w, "day": round(7 * w), "window_days": 0 if w == 0 else 3}
            for v, w in zip(ids, weeks, strict=True)
        ],
        "consort": _consort(sc.n_participants, sc.n_participants, sc.design),
    }


def _subjects(sc: Scenario, trial: SimTrial, ids: list[str]) -> pd.DataFrame:
    n = len(ids)
    completed = trial.observed[:, -1]
    pp = completed if sc.per_protocol == "completers" else np.ones(n, dtype=bool)
    out = pd.DataFrame({"subject_id": ids})
    if sc.design == "split_face":
        treated = np.asarray(sc.sites, dtype=object)[trial.treated_site]
        other = np.asarray(sc.sites, dtype=object)[1 - trial.treated_site]
        active, ctl = sc.actives[0], sc.control
        alloc = [
            ";".join(sorted([f"{t}={active}", f"{o}={ctl}"]))
            for t, o in zip(treated, other, strict=True)
        ]
        out["allocation"] = alloc
    else:
        out["arm"] = np.asarray(sc.arms, dtype=object)[trial.arm]
    out = out.assign(
        randomized=True,
        itt=True,
        per_protocol=pp,
        safety=True,
        disposition=np.where(completed, "completed", "lost_to_follow_up"),
        discontinuation_reason=np.where(completed, "", "lost to follow-up"),
        age=40,
        sex="F",
        fitzpatrick="III",
        randomization_date="2025-02-10",
        site_id="01",
    )
    return out


def _measurements(sc: Scenario, trial: SimTrial, ids: list[str]) -> pd.DataFrame:
    visits = ("W0", *visit_ids(sc.weeks))
    days = (0, *(round(7 * w) for w in sc.weeks))
    seen = np.concatenate([np.ones((len(ids), 1), bool), trial.observed], axis=1)
    frames = []
    for e in sc.endpoints:
        if e.items is not None:
            continue
        from efficacy.instruments import get_endpoint

        spec = get_endpoint(e.endpoint)
        device, settings = _DEVICES.get(spec.instrument, (spec.instrument, ""))
        values = trial.values[e.endpoint]  # (N, S, m + 1)
        n_sites = values.shape[1]
        for s in range(n_sites):
            if sc.design == "split_face":
                site_idx = trial.treated_site if s == 0 else 1 - trial.treated_site
                site = np.asarray(sc.sites, dtype=object)[site_idx]
            else:
                site = np.full(len(ids), "face", dtype=object)
            subj, vis = np.nonzero(seen)
            frames.append(
                pd.DataFrame(
                    {
                        "subject_id": np.asarray(ids, dtype=object)[subj],
                        "visit": np.asarray(visits, dtype=object)[vis],
                        "day": np.asarray(days)[vis],
                        "endpoint": e.endpoint,
                        "value": values[subj, s, vis],
                        "unit": spec.unit,
                        "body_site": site[subj],
                        "device": device,
                        "device_settings": settings,
                        "temperature_c": 21.0,
                        "humidity_pct": 50.0,
                    }
                )
            )
    cols = ["subject_id", "visit", "day", "endpoint", "value", "unit", "body_site", "device"]
    cols += ["device_settings", "temperature_c", "humidity_pct"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _pro(sc: Scenario, trial: SimTrial, ids: list[str]) -> pd.DataFrame:
    visits = ("W0", *visit_ids(sc.weeks))
    days = (0, *(round(7 * w) for w in sc.weeks))
    seen = np.concatenate([np.ones((len(ids), 1), bool), trial.observed], axis=1)
    cols = ["subject_id", "visit", "day", "instrument", "scale", "item", "response"]
    models = [e for e in sc.endpoints if e.items is not None]
    if not models:
        return pd.DataFrame(columns=cols)
    subj, vis = np.nonzero(seen)
    answers = np.full((subj.size, 16), np.nan)  # items of domains not simulated: unanswered
    for e in models:
        items = np.asarray(e.items.items) if e.items is not None else np.array([], int)
        answers[:, items - 1] = trial.responses[e.endpoint][subj, vis]
    scale = np.array([_DOMAIN[i] for i in range(1, 17)], dtype=object)
    return pd.DataFrame(
        {
            "subject_id": np.repeat(np.asarray(ids, dtype=object)[subj], 16),
            "visit": np.repeat(np.asarray(visits, dtype=object)[vis], 16),
            "day": np.repeat(np.asarray(days)[vis], 16),
            "instrument": "skindex16",
            "scale": np.tile(scale, subj.size),
            "item": np.tile(np.arange(1, 17), subj.size),
            "response": pd.array(answers.reshape(-1), dtype="Float64").astype("Int64"),
        },
        columns=cols,
    )


def trial_bundle(
    scenario: Scenario, trial: SimTrial, trial_id: str = "SIM-PLAN"
) -> SimulatedBundle:
    """Return one simulated trial as a bundle (participants ``S0001..``, visits ``W0..``).

    Parallel: one ``face`` row per visit and endpoint; split-face: one row per body
    site. Visits after a participant's dropout have no rows. Adverse events: none.
    """
    ids = subject_ids(scenario.n_participants)
    ae_cols = ["subject_id", "term", "severity", "serious", "related", "onset_day", "body_site"]
    return SimulatedBundle(
        manifest=_manifest(scenario, trial_id),
        tables={
            "subjects": _subjects(scenario, trial, ids),
            "measurements": _measurements(scenario, trial, ids),
            "pro_responses": _pro(scenario, trial, ids),
            "adverse_events": pd.DataFrame(columns=ae_cols),
        },
        truth={"scenario": scenario.to_dict()},
    )
