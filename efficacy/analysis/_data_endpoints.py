"""Analysis rows of endpoints the data define (ADaM parameters), baseline from ABLFL.

Catalogue endpoints are derived by :func:`efficacy.instruments.score_trial` (units,
replicates, the manifest's baseline visit). An ADaM parameter is not in the catalogue:
its rows are built here from the measurements as read, with the baseline of each
subject (and body site) being the record flagged ABLFL = "Y" (never a post-baseline
visit), so the analysis uses exactly the sponsor's baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from efficacy.trial import Trial

__all__ = ["data_endpoint_rows"]

_ROW_COLUMNS = ["subject_id", "visit", "body_site", "phase", "value", "baseline", "change"]


def data_endpoint_rows(trial: Trial) -> dict[str, pd.DataFrame]:
    """Rows of every analysable data endpoint, in the form the model frame reads.

    Returns
    -------
    dict
        Endpoint id -> frame with ``subject_id``, ``visit``, ``body_site``, ``phase``
        (``baseline`` for the ABLFL record, ``post_baseline`` for records at a visit
        scheduled after the baseline visit of that record, else ``baseline_period``),
        ``value`` (AVAL), ``baseline`` (AVAL of the ABLFL record of the same subject,
        endpoint and body site) and ``change`` (value - baseline, post-baseline rows).
        Empty for a trial without data endpoints.
    """
    ids = [e.id for e in trial.manifest.data_endpoints if e.analysable]
    m = trial.measurements
    if not ids or m.empty:
        return {}
    rows = m[m["endpoint"].isin(ids).fillna(False).to_numpy(dtype=bool)]
    flagged = (
        rows["ablfl"].fillna(False).to_numpy(dtype=bool)
        if "ablfl" in rows
        else rows["visit"].eq(trial.manifest.baseline_visit).fillna(False).to_numpy(dtype=bool)
    )
    site = rows["body_site"].astype(object).where(rows["body_site"].notna(), "")
    key = pd.MultiIndex.from_arrays(
        [rows["subject_id"].astype(object), rows["endpoint"].astype(object), site]
    )
    day = {v.id: float(v.day) for v in trial.manifest.visits}
    visit_day = rows["visit"].map(day).to_numpy(dtype=float, na_value=np.nan)
    value = rows["value"].to_numpy(dtype=float, na_value=np.nan)
    first = ~key[flagged].duplicated()  # the reader flags repeats
    base_value = pd.Series(value[flagged][first], index=key[flagged][first])
    base_day = pd.Series(visit_day[flagged][first], index=key[flagged][first])
    baseline = base_value.reindex(key).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        post = ~flagged & (visit_day > base_day.reindex(key).to_numpy(dtype=float))
    phase = np.where(flagged, "baseline", np.where(post, "post_baseline", "baseline_period"))
    frame = pd.DataFrame(
        {
            "subject_id": rows["subject_id"].to_numpy(),
            "visit": rows["visit"].to_numpy(),
            "body_site": rows["body_site"].to_numpy(),
            "phase": phase.astype(object),
            "value": value,
            "baseline": baseline,
            "change": np.where(post, value - baseline, np.nan),
            "endpoint": rows["endpoint"].to_numpy(),
        }
    )
    frame["subject_id"] = frame["subject_id"].astype(rows["subject_id"].dtype)
    return {
        str(k): g[_ROW_COLUMNS].reset_index(drop=True)
        for k, g in frame.groupby("endpoint", sort=False)
    }
