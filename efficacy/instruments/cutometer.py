"""Cutometer: device settings, probe apertures and R-parameters from curve amplitudes.

Works on *readings*: one row per subject, visit, body site, endpoint and replicate
(curve), values already in the catalogue's canonical unit (see
:func:`efficacy.instruments.prepare_measurements`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from efficacy.instruments._errors import ScoringError
from efficacy.instruments.catalogue import ENDPOINTS

__all__ = [
    "APERTURE_KEYS",
    "R_PARAMETERS",
    "check_apertures",
    "derive_r_parameters",
    "parse_device_settings",
    "probe_aperture",
]

#: Keys of ``device_settings`` that name the probe aperture, e.g. ``probe=2mm``.
APERTURE_KEYS: tuple[str, ...] = ("probe", "aperture", "probe_aperture", "probe_mm")

_Formula = Callable[[Mapping[str, np.ndarray]], np.ndarray]

#: R-parameter -> (formula text, amplitudes needed, function of the amplitudes).
#: FACTS.md 4.1: R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, R6 = Uv/Ue, R7 = Ur/Uf, R8 = Ua.
R_PARAMETERS: Mapping[str, tuple[str, tuple[str, ...], _Formula]] = MappingProxyType(
    {
        "cutometer_r0": ("R0 = Uf", ("uf",), lambda a: a["uf"]),
        "cutometer_r2": ("R2 = Ua/Uf", ("ua", "uf"), lambda a: a["ua"] / a["uf"]),
        "cutometer_r5": ("R5 = Ur/Ue", ("ur", "ue"), lambda a: a["ur"] / a["ue"]),
        "cutometer_r6": ("R6 = Uv/Ue", ("uv", "ue"), lambda a: a["uv"] / a["ue"]),
        "cutometer_r7": ("R7 = Ur/Uf", ("ur", "uf"), lambda a: a["ur"] / a["uf"]),
        "cutometer_r8": ("R8 = Ua", ("ua",), lambda a: a["ua"]),
    }
)

_READING = ["subject_id", "visit", "body_site", "replicate"]
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(mm)?\s*$", re.IGNORECASE)


def parse_device_settings(text: object) -> dict[str, str]:
    """Parse ``"probe=2mm;suction=450mbar"`` into ``{"probe": "2mm", "suction": "450mbar"}``.

    Keys are stripped and lower-cased; parts without ``=`` are kept under their own
    text with an empty value. Missing or blank text gives ``{}``.
    """
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return {}
    out: dict[str, str] = {}
    for part in str(text).split(";"):
        key, sep, value = part.partition("=")
        if key.strip():
            out[key.strip().lower()] = value.strip() if sep else ""
    return out


def probe_aperture(text: object) -> str | None:
    """Return the probe aperture named in settings `text` as ``"<n> mm"``, or None.

    ``probe=2mm``, ``aperture=2 mm`` and ``probe_mm=2`` all give ``"2 mm"``; a value
    that is not a number of mm is returned as written (so it still compares unequal to
    a numeric aperture).
    """
    settings = parse_device_settings(text)
    for key in APERTURE_KEYS:
        value = settings.get(key)
        if value:
            m = _NUMBER.match(value)
            return f"{float(m.group(1)):g} mm" if m else value
    return None


def check_apertures(readings: pd.DataFrame) -> None:
    """Refuse a Cutometer endpoint whose readings use more than one probe aperture.

    Values from different apertures are not interchangeable (the 2 mm probe measures
    superficial folding, the 8 mm probe the dermis; FACTS.md 4.1). Readings without an
    aperture in ``device_settings`` are not counted (validation ISO-ELAST asks for the
    settings).

    Raises
    ------
    ScoringError
        Naming the endpoint, each aperture with its count and first source rows, and
        the fix.
    """
    cut = readings[readings["endpoint"].isin([e for e in ENDPOINTS if e.startswith("cutometer_")])]
    if cut.empty:
        return
    settings = cut["device_settings"].astype(object)
    codes, uniques = pd.factorize(settings, use_na_sentinel=True)
    labels = np.array([probe_aperture(u) for u in uniques] + [None], dtype=object)[codes]
    frame = cut.assign(aperture=labels)
    frame = frame[frame["aperture"].notna()]
    problems = []
    for endpoint, sub in frame.groupby("endpoint", sort=True):
        counts = sub["aperture"].value_counts()
        if len(counts) < 2:
            continue
        parts = []
        for ap, n in counts.items():
            rows = sub.loc[sub["aperture"] == ap, "source_rows"].head(3)
            parts.append(f"{ap} ({n} readings; rows {', '.join(rows)})")
        problems.append(f"{endpoint} mixes probe apertures " + " and ".join(parts))
    if problems:
        raise ScoringError(
            "measurements: "
            + "; ".join(problems)
            + ". Values from different apertures are not interchangeable (FACTS.md 4.1): "
            "record each aperture as its own data set or remove one probe's readings"
        )


def _wide(amp: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Per reading key: amplitude counts, and value/day/device/settings/rows per amplitude."""
    amp = amp.assign(name=amp["endpoint"].str.removeprefix("cutometer_"))
    keys = [*_READING, "name"]
    counts = amp.groupby(keys, dropna=False, sort=False).size().unstack("name")
    first = amp.drop_duplicates(keys, keep="first").set_index(keys)
    cols = ("value", "day", "device", "device_settings", "source_rows")
    wide = {c: first[c].unstack("name").reindex(counts.index) for c in cols}
    return counts.fillna(0).astype(np.int64), wide


def _pick(frame: pd.DataFrame, name: str, fill: object) -> np.ndarray:
    if name in frame.columns:
        return frame[name].to_numpy(dtype=object if fill is None else float)
    return np.full(len(frame), fill, dtype=object if fill is None else float)


def _derived_rows(amp: pd.DataFrame) -> pd.DataFrame:
    """One derived reading per R-parameter where all its amplitudes were recorded."""
    counts, wide = _wide(amp)
    names = ("uf", "ue", "uv", "ur", "ua")
    vals = {n: _pick(wide["value"], n, np.nan) for n in names}
    cnt = {n: _pick(counts, n, 0.0) for n in names}
    keys = counts.index.to_frame(index=False)
    out = []
    for endpoint, (text, needs, fn) in R_PARAMETERS.items():
        have = np.logical_and.reduce([cnt[n] >= 1 for n in needs])
        if not have.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.asarray(fn(vals), dtype=float)
        reason = np.full(len(v), "", dtype=object)
        for n in needs:
            label = n.capitalize()
            dup = f"{label} recorded more than once at this reading (INT-002)"
            reason = np.where((reason == "") & (cnt[n] > 1), dup, reason)
            reason = np.where((reason == "") & np.isnan(vals[n]), f"{label} missing", reason)
        undefined = f"{text} undefined (zero denominator)"
        reason = np.where((reason == "") & ~np.isfinite(v), undefined, reason)
        main = needs[-1] if len(needs) > 1 else needs[0]
        rows = pd.Series(_pick(wide["source_rows"], needs[0], None)).astype(str)
        for n in needs[1:]:
            rows = rows + ";" + pd.Series(_pick(wide["source_rows"], n, None)).astype(str)
        day = np.fmax.reduce([_pick(wide["day"], n, np.nan) for n in needs])
        block = keys.assign(
            endpoint=endpoint,
            value=np.where(reason == "", v, np.nan),
            day=day,
            device=_pick(wide["device"], main, None),
            device_settings=_pick(wide["device_settings"], main, None),
            source_rows=rows.to_numpy(),
            derivation=f"{text} from amplitudes",
            reason=reason,
        )
        out.append(block[have])
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def derive_r_parameters(readings: pd.DataFrame) -> pd.DataFrame:
    """Add Cutometer R-parameters derived from curve amplitudes where not reported.

    Parameters
    ----------
    readings : pandas.DataFrame
        Reading-level rows (see module docstring) with columns ``subject_id``,
        ``visit``, ``body_site``, ``replicate``, ``day``, ``endpoint``, ``value`` (mm
        for amplitudes), ``unit``, ``device``, ``device_settings``, ``source_rows``,
        ``derivation``, ``reason``. Not modified.

    Returns
    -------
    pandas.DataFrame
        `readings` plus a row per derived R-parameter reading. A reported value is kept
        as measured; where the R-parameter was not reported, or reported empty, it is
        computed from the amplitudes of the same reading (same subject, visit, body site
        and replicate) and ``derivation`` says so (e.g. ``"R2 = Ua/Uf from
        amplitudes"``); ``source_rows`` then lists the amplitude rows.

    Notes
    -----
    R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, R6 = Uv/Ue, R7 = Ur/Uf, R8 = Ua (FACTS.md 4.1).
    Parameters are computed per curve, before replicates are averaged (so an averaged
    ratio is the mean of the per-curve ratios, as the device software reports them).
    A zero denominator or a missing or duplicated amplitude leaves the value missing
    with the reason.
    """
    amp_ids = ["cutometer_uf", "cutometer_ue", "cutometer_uv", "cutometer_ur", "cutometer_ua"]
    amp = readings[readings["endpoint"].isin(amp_ids)]
    if amp.empty:
        return readings
    # Missing keys become sentinels so that reshaping matches them (restored below).
    amp = amp.fillna({"replicate": -1.0, "body_site": "\x00", "visit": "\x00"})
    derived = _derived_rows(amp)
    if not derived.empty:
        derived["replicate"] = derived["replicate"].replace(-1.0, np.nan)
        for col in ("body_site", "visit"):
            derived[col] = derived[col].replace("\x00", None)
    if derived.empty:
        return readings
    key = [*_READING, "endpoint"]
    reported = readings[readings["endpoint"].isin(list(R_PARAMETERS))]
    counts = reported.groupby(key, dropna=False).size().rename("n_reported").reset_index()
    good = reported[reported["value"].notna()][key].drop_duplicates().assign(has_value=True)
    d = derived.merge(counts, on=key, how="left").merge(good, on=key, how="left")
    d = d[d["has_value"].isna() & ~(d["n_reported"] > 1)]
    # Reported-but-empty readings are replaced by the derived one (their rows cited).
    empty = reported[reported["value"].isna()]
    hit = empty.assign(_at=empty.index).merge(d[key], on=key, how="inner")
    d = d.merge(
        hit[[*key, "source_rows"]].rename(columns={"source_rows": "_cited"}), on=key, how="left"
    )
    cited = d["_cited"].notna()
    d.loc[cited, "source_rows"] = d.loc[cited, "_cited"] + ";" + d.loc[cited, "source_rows"]
    d["unit"] = d["endpoint"].map({e: ENDPOINTS[e].unit for e in R_PARAMETERS})
    d["modality"] = d["endpoint"].map({e: ENDPOINTS[e].modality for e in R_PARAMETERS})
    d["direction"] = d["endpoint"].map({e: ENDPOINTS[e].direction for e in R_PARAMETERS})
    if d.empty:
        return readings
    kept = readings.drop(index=hit["_at"])
    return pd.concat([kept, d[readings.columns]], ignore_index=True)
