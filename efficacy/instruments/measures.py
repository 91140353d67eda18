"""Instrument measurements -> one canonical value per subject, visit, endpoint and site.

Units are normalised to the catalogue's canonical unit (mm <-> um), Cutometer
R-parameters are derived from curve amplitudes where not reported, replicate readings
are averaged as the protocol says, and two kinds of data are refused rather than
analysed: probe apertures mixed within a Cutometer endpoint, and 2D complexion imaging
recorded as 3D wrinkle depth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError
from efficacy.instruments._errors import ScoringError
from efficacy.instruments.catalogue import ENDPOINTS, normalise_unit, unit_factor
from efficacy.instruments.cutometer import check_apertures, derive_r_parameters
from efficacy.instruments.supportive import SUPPORTIVE_2D_DEVICES, SUPPORTIVE_ENDPOINTS

__all__ = ["VALUE_COLUMNS", "endpoint_info", "prepare_measurements"]

#: Columns of :func:`prepare_measurements`' result, in order.
VALUE_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "visit",
    "day",
    "endpoint",
    "body_site",
    "value",
    "unit",
    "modality",
    "direction",
    "n_replicates",
    "replicates",
    "derivation",
    "device",
    "device_settings",
    "source_rows",
    "reason",
)

_REQUIRED = ("subject_id", "visit", "day", "endpoint", "value", "unit", "body_site")
_KEY = ["subject_id", "visit", "endpoint", "body_site"]


def endpoint_info(endpoint: str) -> tuple[str, str, str] | None:
    """(canonical unit, modality, direction) of a catalogue or supportive endpoint."""
    if endpoint in ENDPOINTS:
        e = ENDPOINTS[endpoint]
        return e.unit, e.modality, e.direction
    if endpoint in SUPPORTIVE_ENDPOINTS:
        s = SUPPORTIVE_ENDPOINTS[endpoint]
        return s.unit, s.modality, s.direction
    return None


def _unit_of(endpoint: str, unit: object) -> tuple[float, str, str]:
    """(factor, canonical unit, reason) converting `unit` for `endpoint`."""
    info = endpoint_info(endpoint)
    if info is None:
        return (
            np.nan,
            "" if pd.isna(unit) else str(unit),
            (f"endpoint {endpoint!r} is not in the catalogue (SCH-005)"),
        )
    target = info[0]
    if endpoint in SUPPORTIVE_ENDPOINTS:
        ok = not pd.isna(unit) and str(unit).strip().lower() == target
        return (1.0, target, "") if ok else (np.nan, target, f"unit {unit!r} is not {target!r}")
    canon = normalise_unit(None if pd.isna(unit) else str(unit))
    if canon is None:
        return np.nan, target, f"unit {unit!r} is not a known unit (SCH-006)"
    factor = unit_factor(canon, target)
    if factor is None:
        return np.nan, target, f"unit {unit!r} cannot be converted to {target} (SCH-006)"
    return factor, target, ""


def _readings(measurements: pd.DataFrame) -> pd.DataFrame:
    """Per input row: canonical value, unit, modality, direction, source row, reason."""
    m = measurements
    endpoint = m["endpoint"].astype(object).where(m["endpoint"].notna(), "")
    pairs = pd.MultiIndex.from_arrays([endpoint, m["unit"].astype(object)])
    codes, uniques = pd.factorize(pairs)
    looked = [_unit_of(e, u) for e, u in uniques]
    factor = np.array([x[0] for x in looked] + [np.nan])[codes]
    unit = np.array([x[1] for x in looked] + [""], dtype=object)[codes]
    reason = np.array([x[2] for x in looked] + [""], dtype=object)[codes]
    value = pd.to_numeric(m["value"], errors="coerce").to_numpy(float, na_value=np.nan)
    reason = np.where((reason == "") & np.isnan(value), "value missing", reason)
    info = [endpoint_info(e) or ("", "", "none") for e in pd.unique(endpoint)]
    modality = dict(zip(pd.unique(endpoint), [i[1] for i in info], strict=True))
    direction = dict(zip(pd.unique(endpoint), [i[2] for i in info], strict=True))
    rep = m["replicate"] if "replicate" in m.columns else pd.Series(np.nan, index=m.index)

    def text(col: str) -> np.ndarray:
        if col not in m.columns:
            return np.full(len(m), None, dtype=object)
        return m[col].astype(object).where(m[col].notna(), None).to_numpy()

    return pd.DataFrame(
        {
            "subject_id": m["subject_id"].astype(object).to_numpy(),
            "visit": m["visit"].astype(object).to_numpy(),
            "day": pd.to_numeric(m["day"], errors="coerce").to_numpy(float, na_value=np.nan),
            "endpoint": endpoint.to_numpy(),
            "body_site": m["body_site"].astype(object).to_numpy(),
            "replicate": pd.to_numeric(rep, errors="coerce").to_numpy(float, na_value=np.nan),
            "value": value * factor,
            "unit": unit,
            "modality": endpoint.map(modality).to_numpy(),
            "direction": endpoint.map(direction).to_numpy(),
            "derivation": "",
            "device": text("device"),
            "device_settings": text("device_settings"),
            "source_rows": m.index.astype(str).to_numpy(),
            "reason": reason,
        }
    )


def _refuse_2d(readings: pd.DataFrame, devices: Sequence[str]) -> None:
    """Raise if a wrinkle-depth endpoint was measured with a 2D imaging device."""
    if not devices:
        return
    dev = readings["device"].astype(str).str.lower()
    hit = np.zeros(len(readings), dtype=bool)
    for d in devices:
        hit |= dev.str.contains(d.lower(), regex=False).to_numpy()
    hit &= (readings["modality"] == "wrinkle_depth").to_numpy() & readings["device"].notna()
    if hit.any():
        bad = readings[hit]
        rows = ", ".join(bad["source_rows"].head(5)) + (", ..." if len(bad) > 5 else "")
        raise ScoringError(
            f"measurements rows {rows}: {len(bad)} wrinkle-depth readings "
            f"({', '.join(sorted(set(bad['endpoint'])))}) come from 2D complexion imaging "
            f"({', '.join(sorted(set(bad['device'])))}), which is not 3D profilometry "
            "(FACTS.md 4.4): record them as supportive endpoints "
            f"({', '.join(SUPPORTIVE_ENDPOINTS)}) instead"
        )


def _unique_join(values: list[object], sep: str) -> str:
    seen: list[str] = []
    for x in values:
        if x is not None and x == x and x != "" and str(x) not in seen:
            seen.append(str(x))
    return sep.join(seen)


def _joins(r: pd.DataFrame, gid: np.ndarray, multi: np.ndarray) -> dict[str, dict[int, str]]:
    """Text columns of the groups with several readings, joined (per group id)."""
    pos = np.flatnonzero(multi[gid])
    pos = pos[np.argsort(gid[pos], kind="stable")]
    cols = {
        c: r[c].to_numpy(dtype=object)
        for c in ("source_rows", "device", "device_settings", "derivation", "reason")
    }
    used = r["rep_used"].to_numpy(float)
    out: dict[str, dict[int, str]] = {c: {} for c in (*cols, "replicates")}
    bounds = np.flatnonzero(np.diff(gid[pos])) + 1
    for chunk in np.split(pos, bounds) if len(pos) else ():
        g = int(gid[chunk[0]])
        out["source_rows"][g] = ";".join(str(x) for x in cols["source_rows"][chunk])
        for c, sep in (
            ("device", " | "),
            ("device_settings", " | "),
            ("derivation", " | "),
            ("reason", "; "),
        ):
            out[c][g] = _unique_join(list(cols[c][chunk]), sep)
        reps = used[chunk]
        out["replicates"][g] = ",".join(f"{x:g}" for x in np.sort(reps[~np.isnan(reps)]))
    return out


def _group_reasons(a: pd.DataFrame, curves: str) -> np.ndarray:
    """Reason per group whose value cannot be formed ('' elsewhere)."""
    reason = np.full(len(a), "", dtype=object)
    dup = (a["n_rows"] > 1) & ((a["rep_na"] > 0) | (a["n_rep"] < a["n_rows"]))
    days = a["day_min"].notna() & (a["day_min"] != a["day_max"])
    none_sel = a["n_sel"] == 0
    empty = (a["n_val"] == 0) & ~none_sel
    for g in np.flatnonzero((dup | days | none_sel | empty).to_numpy()):
        rows = a["rows"].iat[g]
        if dup.iat[g]:
            reason[g] = (
                f"{a['n_rows'].iat[g]} readings (rows {rows}) share this subject, visit, "
                "endpoint and body site without distinct replicate numbers (INT-002): "
                "remove the copy or number the replicates"
            )
        elif days.iat[g]:
            reason[g] = (
                f"readings on days {a['day_min'].iat[g]:g} and {a['day_max'].iat[g]:g} "
                f"(rows {rows}) share one visit: give them distinct visit ids"
            )
        elif none_sel.iat[g]:
            reason[g] = f"no reading among replicates {curves} (rows {rows})"
        else:
            reason[g] = a["reasons"].iat[g]
    return reason


def _average(readings: pd.DataFrame, curves: tuple[int, ...] | None) -> pd.DataFrame:
    """Average replicate readings per subject, visit, endpoint and body site."""
    r = readings.reset_index(drop=True)
    gid = r.groupby(_KEY, dropna=False, sort=False).ngroup().to_numpy()
    n = int(gid.max()) + 1
    sel = np.ones(len(r), dtype=bool)
    if curves is not None:
        cut = r["endpoint"].str.startswith("cutometer_").to_numpy(dtype=bool)
        sel = ~cut | r["replicate"].isin(curves).to_numpy()
    ok = sel & r["reason"].eq("").to_numpy()
    v = np.where(ok, r["value"].to_numpy(float), np.nan)
    rep = r["replicate"].to_numpy(float)
    r["rep_used"] = np.where(ok, rep, np.nan)
    has = ~np.isnan(v)
    distinct = pd.DataFrame({"g": gid, "rep": rep}).dropna().drop_duplicates()
    day = pd.Series(r["day"].to_numpy(float))
    a = pd.DataFrame(
        {
            "n_rows": np.bincount(gid, minlength=n),
            "n_sel": np.bincount(gid, weights=sel, minlength=n),
            "n_val": np.bincount(gid, weights=has, minlength=n).astype(np.int64),
            "v_sum": np.bincount(gid, weights=np.where(has, v, 0.0), minlength=n),
            "n_rep": np.bincount(distinct["g"].to_numpy(), minlength=n),
            "rep_na": np.bincount(gid, weights=np.isnan(rep), minlength=n),
            "day_min": day.groupby(gid).min().reindex(range(n)).to_numpy(),
            "day_max": day.groupby(gid).max().reindex(range(n)).to_numpy(),
        }
    )
    first = np.unique(gid, return_index=True)[1]  # ngroup(sort=False): ids in first-seen order
    out = r.iloc[first].reset_index(drop=True)
    multi = a["n_rows"].to_numpy() > 1
    single_rep = out["replicate"].map(lambda x: "" if x != x else f"{x:g}")
    out["replicates"] = single_rep.where(out["reason"].eq("") & a["n_sel"].gt(0), "")
    if multi.any():
        joins = _joins(r, gid, multi)
        for c, by_group in joins.items():
            at = np.fromiter(by_group, dtype=np.int64)
            out.loc[at, c] = list(by_group.values())
    a["rows"] = out["source_rows"].str.replace(";", ", ")
    a["reasons"] = out["reason"]
    label = "any" if curves is None else ",".join(str(c) for c in curves)
    reason = _group_reasons(a, label)
    single = ~multi & (a["n_sel"].to_numpy() > 0) & (reason == "")
    reason[single] = out["reason"].to_numpy(dtype=object)[single]
    bad = reason != ""
    with np.errstate(invalid="ignore", divide="ignore"):
        out["value"] = np.where(bad, np.nan, a["v_sum"] / a["n_val"])
    out["n_replicates"] = np.where(bad, 0, a["n_val"])
    out.loc[bad, "replicates"] = ""
    out["day"] = a["day_min"].to_numpy()
    out["reason"] = reason
    return out


def prepare_measurements(
    measurements: pd.DataFrame,
    *,
    cutometer_curves: Iterable[int] | None = None,
    exclude_2d_devices: Sequence[str] = SUPPORTIVE_2D_DEVICES,
) -> pd.DataFrame:
    """One canonical value per subject, visit, endpoint and body site.

    Parameters
    ----------
    measurements : pandas.DataFrame
        The ``measurements`` table (see :data:`efficacy.trial.TABLE_SCHEMAS`); an extra
        ``replicate`` column (curve or reading number) is honoured. Its index labels
        are cited as source rows (read_trial: 1-based data rows). Not modified.
    cutometer_curves : iterable of int, optional
        Replicate numbers to average for Cutometer endpoints, e.g. ``(2, 3, 4)`` to drop
        the first curve of a Mode-1 series (FACTS.md 4.1, Abbas et al. 2021). None
        averages every replicate. Other endpoints always average every replicate.
    exclude_2d_devices : sequence of str, default ("VISIA",)
        Device names (case-insensitive substrings) of 2D imaging systems; a
        wrinkle-depth endpoint measured with one is refused. The protocol's ISO-WRINKLE
        ``exclude_devices`` parameter.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VALUE_COLUMNS`:

        - ``subject_id``, ``visit``, ``endpoint``, ``body_site`` (str): the key
        - ``day`` (Int64): study day of the reading(s)
        - ``value`` (float): in ``unit``; the mean of the replicate readings; NaN when
          it cannot be formed (see ``reason``)
        - ``unit`` (str): the endpoint's canonical unit (catalogue or supportive)
        - ``modality`` (str): catalogue modality, ``"supportive_2d"``, or '' if unknown
        - ``direction`` (str): direction of improvement (higher / lower / none)
        - ``n_replicates`` (Int64): readings averaged (0 when ``value`` is missing)
        - ``replicates`` (str): replicate numbers averaged, e.g. ``"2,3,4"`` ('' without
          a replicate column)
        - ``derivation`` (str): e.g. ``"R2 = Ua/Uf from amplitudes"``; '' if measured
        - ``device``, ``device_settings`` (str): as recorded (distinct values joined
          with " | ")
        - ``source_rows`` (str): measurement rows used, joined with ";"
        - ``reason`` (str): why ``value`` is missing, '' otherwise (value missing,
          unknown or unconvertible unit, unknown endpoint, duplicated readings, readings
          on different days at one visit, no reading among the chosen curves, a
          missing amplitude or zero denominator for a derived R-parameter)

    Raises
    ------
    EfficacyError
        `measurements` lacks a required column, or `cutometer_curves` is not whole
        numbers.
    ScoringError
        Probe apertures mixed within a Cutometer endpoint, or 2D imaging recorded as
        wrinkle depth (see :func:`~efficacy.instruments.cutometer.check_apertures`).

    Notes
    -----
    Unit factors come from the catalogue (mm -> um x 1000). Derived R-parameters are
    computed per curve, then averaged (see
    :func:`~efficacy.instruments.cutometer.derive_r_parameters`).
    """
    if not isinstance(measurements, pd.DataFrame):
        raise EfficacyError("measurements must be a pandas DataFrame (the measurements table)")
    lacking = [c for c in _REQUIRED if c not in measurements.columns]
    if lacking:
        raise EfficacyError(f"measurements lacks column(s) {', '.join(lacking)}")
    curves = None
    if cutometer_curves is not None:
        curves = tuple(cutometer_curves)
        if not curves or not all(isinstance(c, int) and not isinstance(c, bool) for c in curves):
            raise EfficacyError(
                f"cutometer_curves={cutometer_curves!r} must be whole replicate numbers, "
                "e.g. (2, 3, 4)"
            )
    if curves is not None and "replicate" not in measurements.columns:
        raise EfficacyError(
            f"cutometer_curves={curves!r} needs a replicate column in measurements (the curve "
            "number of each reading); add it or leave cutometer_curves unset"
        )
    readings = _readings(measurements)
    _refuse_2d(readings, tuple(exclude_2d_devices))
    readings = derive_r_parameters(readings)
    check_apertures(readings)
    if readings.empty:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in VALUE_COLUMNS})
    else:
        out = _average(readings, curves)
    return _typed(out)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    out = out.loc[:, list(VALUE_COLUMNS)]
    text = [c for c in VALUE_COLUMNS if c not in ("day", "value", "n_replicates")]
    for c in text:
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype("str")
    out["day"] = pd.array(np.round(out["day"].astype(float)), dtype="Float64").astype("Int64")
    out["value"] = out["value"].astype(float)
    out["n_replicates"] = out["n_replicates"].astype("Int64")
    return out
