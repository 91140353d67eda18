"""Patient-reported outcomes: Skindex-16 and two FACE-Q | Aesthetics scales.

Only structure is simulated (item numbers, domain membership, response ranges), which
FACTS.md 6 lists as shareable facts; no item wording or conversion table is used.

* Skindex-16 (FACTS.md 2): items 1-16, responses 0-6 (higher = more bothered); domains
  symptoms (items 1-4), emotions (5-11), functioning (12-16).
* FACE-Q (FACTS.md 3): ``satisfaction_facial_appearance`` (10 items) and
  ``psychological_function`` (10 items), responses 1-4 (higher = better); each scale is
  scored on its own, so items are numbered 1-10 within the scale.

Responses are a rounded person-level latent trait plus item offsets and noise, so items
and visits correlate; the active product lowers Skindex and raises FACE-Q responses over
time. About 3% of questionnaires have exactly one unanswered item (an empty response),
so no scale is ever more than 50% missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from efficacy.sim._columns import text_column

__all__ = ["PRO_SCALES", "SYNTHETIC_FACEQ_FILE", "simulate_pro", "synthetic_faceq_conversion"]

#: File name of the synthetic FACE-Q conversion table written into simulated bundles.
SYNTHETIC_FACEQ_FILE = "faceq_conversion_SYNTHETIC.csv"

#: (instrument, scale, first item, last item, lowest response, highest response,
#: baseline mean response, active change at week 12 in response points).
PRO_SCALES: tuple[tuple[str, str, int, int, int, int, float, float], ...] = (
    ("skindex16", "symptoms", 1, 4, 0, 6, 1.6, -0.6),
    ("skindex16", "emotions", 5, 11, 0, 6, 2.3, -1.0),
    ("skindex16", "functioning", 12, 16, 0, 6, 0.9, -0.4),
    ("faceq", "satisfaction_facial_appearance", 1, 10, 1, 4, 2.3, 0.6),
    ("faceq", "psychological_function", 1, 10, 1, 4, 2.7, 0.35),
)


def _items() -> pd.DataFrame:
    rows = [
        (inst, scale, item, lo, hi, mean, delta)
        for inst, scale, first, last, lo, hi, mean, delta in PRO_SCALES
        for item in range(first, last + 1)
    ]
    return pd.DataFrame(rows, columns=["instrument", "scale", "item", "lo", "hi", "mean", "delta"])


def simulate_pro(
    seed: int,
    *,
    rand_ids: np.ndarray,
    active_share: np.ndarray,
    visit_ids: list[str],
    visit_f: np.ndarray,
    days: np.ndarray,
    attended: np.ndarray,
) -> pd.DataFrame:
    """Simulate the ``pro_responses`` table for the PRO visits.

    Parameters
    ----------
    seed : int
        Base seed (stream ``default_rng([seed, 21])``).
    rand_ids : numpy.ndarray
        subject_id of the randomised people (R,).
    active_share : numpy.ndarray
        Share of the active effect each person experiences (R,): 1 on the active arm,
        0.25 on vehicle; 0.6 in split-face (half the face treated).
    visit_ids, visit_f, days, attended
        PRO visit ids (P), effect-curve value per PRO visit (P,), study day (R, P) and
        attendance (R, P).
    """
    rng = np.random.default_rng([seed, 21])
    items = _items()
    n, p, k = rand_ids.size, len(visit_ids), len(items)
    offset = rng.normal(0.0, 0.3, k)
    theta = rng.normal(0.0, 0.7, (n, 1, 1))
    slope = np.exp(rng.normal(0.0, 0.3, (n, 1, 1)))
    scale_id = items["scale"].to_numpy()
    # Shared trait: bothered (Skindex) is the mirror of satisfied (FACE-Q).
    sign = np.where(items["instrument"].to_numpy() == "skindex16", 1.0, -0.5)
    latent = (
        items["mean"].to_numpy()[None, None, :]
        + offset[None, None, :]
        + theta * sign[None, None, :]
        + (active_share[:, None, None] * slope)
        * visit_f[None, :, None]
        * items["delta"].to_numpy()[None, None, :]
        + rng.normal(0.0, 0.6, (n, p, k))
    )
    resp = np.clip(np.round(latent), items["lo"].to_numpy(), items["hi"].to_numpy())
    missing = np.zeros((n, p, k), dtype=bool)
    one_gap = rng.random((n, p)) < 0.03
    gap_item = rng.integers(0, k, (n, p))
    missing[one_gap, gap_item[one_gap]] = True
    subj_i, vis_i, item_i = np.nonzero(np.broadcast_to(attended[:, :, None], (n, p, k)))
    values = pd.array(resp[subj_i, vis_i, item_i].astype(np.int64), dtype="Int64")
    values[missing[subj_i, vis_i, item_i]] = pd.NA
    return pd.DataFrame(
        {
            "subject_id": text_column(rand_ids, subj_i),
            "visit": text_column(visit_ids, vis_i),
            "day": days[subj_i, vis_i],
            "instrument": text_column(items["instrument"].to_numpy(), item_i),
            "scale": text_column(scale_id, item_i),
            "item": items["item"].to_numpy()[item_i],
            "response": values,
        }
    )


def synthetic_faceq_conversion(pro: pd.DataFrame | None) -> str | None:
    """Return a deliberately fake FACE-Q conversion table (CSV text) for `pro`'s scales.

    The licensed raw-sum -> Rasch tables may not be shipped (FACTS.md 6), so simulated
    bundles carry an obviously synthetic one: a straight line from the lowest raw sum
    (score 0) to the highest (score 100), rounded to 4 decimals. It only makes the
    simulated FACE-Q scores land on a 0-100 scale; it is not the FACE-Q metric.

    Returns
    -------
    str or None
        CSV text with columns scale, raw_sum, rasch_score; None without FACE-Q rows.
    """
    if pro is None or pro.empty:
        return None
    present = set(pro["scale"][pro["instrument"] == "faceq"].unique())
    lines = ["scale,raw_sum,rasch_score"]
    for instrument, scale, first, last, low, high, _, _ in PRO_SCALES:
        if instrument != "faceq" or scale not in present:
            continue
        n = last - first + 1
        for raw in range(n * low, n * high + 1):
            score = round(100 * (raw - n * low) / (n * (high - low)), 4)
            lines.append(f"{scale},{raw},{score:g}")
    return "\n".join(lines) + "\n" if len(lines) > 1 else None
