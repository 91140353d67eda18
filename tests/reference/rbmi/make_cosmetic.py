"""Simulate the cosmetic trial used as an rbmi reference (fixed seed; run once).

A 1:1 parallel trial of a moisturiser ("product") against its vehicle, 200 subjects,
change from baseline in stratum corneum hydration (Corneometer, a.u.) at weeks 2, 4, 8
and 12. Dropout is monotone and depends on the last observed change (MAR given the
data); a dropout for "discontinued product" is handled by jump to reference (JR), one
"lost to follow-up" by MAR. Ten further subjects stop the product at week 8 but keep
attending (their observed week 8/12 outcomes are left out of the imputation fit, as
rbmi does); they are handled by copy increments in reference (CIR), and three of them
miss week 12.

Writes cosmetic_trial.csv (subject, arm, visit, base, chg; a missing chg is empty) and
cosmetic_events.csv (subject, visit, strategy) beside this script.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
VISITS = ("W02", "W04", "W08", "W12")


def simulate(n: int = 200, seed: int = 20261206) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "vehicle", "product")
    base = rng.normal(40.0, 8.0, n).round(1)
    mean = {"vehicle": np.array([2.0, 3.0, 4.0, 4.5]), "product": np.array([3.0, 5.0, 7.0, 8.0])}
    sd = np.array([4.0, 4.5, 5.0, 5.5])
    corr = 0.6 ** np.abs(np.subtract.outer(np.arange(4), np.arange(4)))
    low = np.linalg.cholesky(corr * np.outer(sd, sd))
    mu = np.stack([mean[a] for a in arm]) - 0.2 * (base - 40.0)[:, None]
    chg = (mu + rng.standard_normal((n, 4)) @ low.T).round(2)
    events = []
    for i in range(n):
        for j in range(1, 4):
            rate = (0.05 if arm[i] == "product" else 0.07) + 0.01 * max(0.0, -chg[i, j - 1])
            if rng.uniform() < rate:
                chg[i, j:] = np.nan
                why = "JR" if rng.uniform() < 0.7 else "MAR"
                events.append((f"S{i + 1:03d}", VISITS[j], why))
                break
    stayers = [i for i in range(n) if not np.isnan(chg[i]).any()]
    for k, i in enumerate(rng.choice(stayers, size=10, replace=False)):
        events.append((f"S{i + 1:03d}", "W08", "CIR"))
        if k < 3:
            chg[i, 3] = np.nan
    subj = [f"S{i + 1:03d}" for i in range(n)]
    trial = pd.DataFrame(
        {
            "subject": np.repeat(subj, 4),
            "arm": np.repeat(arm, 4),
            "visit": np.tile(VISITS, n),
            "base": np.repeat(base, 4),
            "chg": chg.ravel(),
        }
    )
    ev = pd.DataFrame(events, columns=["subject", "visit", "strategy"]).sort_values("subject")
    return trial, ev.reset_index(drop=True)


if __name__ == "__main__":
    trial, ev = simulate()
    trial.to_csv(HERE / "cosmetic_trial.csv", index=False)
    ev.to_csv(HERE / "cosmetic_events.csv", index=False)
    print(trial["chg"].isna().sum(), "missing outcomes;", ev["strategy"].value_counts().to_dict())
