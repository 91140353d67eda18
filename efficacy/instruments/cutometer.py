"""Cutometer: device settings, probe apertures and R-parameters from curve amplitudes.

The checks and the derivation work on *readings* (one row per subject, visit, body
site, endpoint and replicate (curve), values in the catalogue's canonical unit), the
internal form :func:`efficacy.instruments.prepare_measurements` builds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from efficacy.errors import ScoringError
from efficacy.instruments._readings import Readings, group_ids

__all__ = ["APERTURE_KEYS", "R_PARAMETERS", "parse_device_settings", "probe_aperture"]

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

_AMPLITUDES = ("uf", "ue", "uv", "ur", "ua")
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


def check_apertures(readings: Readings) -> None:
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
    names = readings.vocab["endpoint"]
    cut = np.array([str(e).startswith("cutometer_") for e in names] + [False])
    rows = np.flatnonzero(cut[readings.endpoint])
    if rows.size == 0:
        return
    labels = [probe_aperture(s) for s in readings.vocab["device_settings"]]
    ap_codes, ap_names = pd.factorize(pd.Series([*labels, None], dtype=object))
    aperture = ap_codes[
        np.where(readings.device_settings < 0, len(labels), readings.device_settings)
    ]
    rows = rows[aperture[rows] >= 0]
    problems = []
    for ep in np.unique(readings.endpoint[rows]):
        at = rows[readings.endpoint[rows] == ep]
        found, count = np.unique(aperture[at], return_counts=True)
        if len(found) < 2:
            continue
        parts = []
        for a, n in zip(found, count, strict=True):
            src = readings.source_rows[at[aperture[at] == a][:3]]
            parts.append(f"{ap_names[a]} ({n} readings; rows {', '.join(src)})")
        problems.append(f"{names[ep]} mixes probe apertures " + " and ".join(parts))
    if problems:
        raise ScoringError(
            "measurements: "
            + "; ".join(problems)
            + ". Values from different apertures are not interchangeable (FACTS.md 4.1): "
            "record each aperture as its own data set or remove one probe's readings"
        )


def _amplitudes(r: Readings, rid: np.ndarray, n: int) -> dict[str, dict[str, np.ndarray]]:
    """Per reading id and amplitude: count, value and position of the first row."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in _AMPLITUDES:
        code = r.codes_of("endpoint", [f"cutometer_{name}"])[0]
        at = np.flatnonzero(r.endpoint == code) if code >= 0 else np.zeros(0, np.int64)
        first = np.full(n, r.n, dtype=np.int64)
        np.minimum.at(first, rid[at], at)
        have = first < r.n
        value = np.full(n, np.nan)
        value[have] = r.value[first[have]]
        out[name] = {"count": np.bincount(rid[at], minlength=n), "value": value, "first": first}
    return out


def _reasons(
    amps: dict[str, dict[str, np.ndarray]], needs: tuple[str, ...], v: np.ndarray, text: str
) -> np.ndarray:
    reason = np.full(len(v), "", dtype=object)
    for name in needs:
        label = name.capitalize()
        dup = f"{label} recorded more than once at this reading (INT-002)"
        reason = np.where((reason == "") & (amps[name]["count"] > 1), dup, reason)
        missing = np.isnan(amps[name]["value"])
        reason = np.where((reason == "") & missing, f"{label} missing", reason)
    undefined = f"{text} undefined (zero denominator)"
    return np.where((reason == "") & ~np.isfinite(v), undefined, reason)


def _derive_one(
    r: Readings,
    rid: np.ndarray,
    amps: dict[str, dict[str, np.ndarray]],
    endpoint: str,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Return the derived rows of one R-parameter and the reported rows they replace."""
    text, needs, fn = R_PARAMETERS[endpoint]
    have = np.logical_and.reduce([amps[a]["count"] >= 1 for a in needs])
    code = r.code("endpoint", endpoint)
    at = np.flatnonzero(r.endpoint == code)
    n = len(have)
    reported = np.bincount(rid[at], minlength=n)
    valued = np.bincount(rid[at[~np.isnan(r.value[at])]], minlength=n)
    keep = have & (valued == 0) & (reported <= 1)
    ids = np.flatnonzero(keep)
    vals = {a: amps[a]["value"][ids] for a in _AMPLITUDES}
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.asarray(fn(vals), dtype=float)
    sub = {a: {k: x[ids] for k, x in amps[a].items()} for a in _AMPLITUDES}
    reason = _reasons(sub, needs, v, text)
    main = sub[needs[-1]]["first"]
    src = r.source_rows[sub[needs[0]]["first"]].astype(object)
    for a in needs[1:]:
        src = src + ";" + r.source_rows[sub[a]["first"]].astype(object)
    replaced = at[keep[rid[at]]]  # reported-but-empty rows (at most one per reading)
    if replaced.size:
        pos = np.searchsorted(ids, rid[replaced])
        src[pos] = r.source_rows[replaced].astype(object) + ";" + src[pos]
    rows = {
        "subject_id": r.subject_id[main],
        "visit": r.visit[main],
        "body_site": r.body_site[main],
        "endpoint": np.full(ids.size, code, dtype=np.int64),
        "device": r.device[main],
        "device_settings": r.device_settings[main],
        "day": np.fmax.reduce([r.day[sub[a]["first"]] for a in needs]),
        "replicate": r.replicate[main],
        "value": np.where(reason == "", v, np.nan),
        "derivation": np.full(ids.size, f"{text} from amplitudes", dtype=object),
        "reason": reason,
        "source_rows": src,
    }
    return rows, replaced


def derive_r_parameters(readings: Readings) -> Readings:
    """Add Cutometer R-parameters derived from curve amplitudes where not reported.

    A reported value is kept as measured. Where an R-parameter was not reported, or was
    reported empty, it is computed from the amplitudes of the same reading (same
    subject, visit, body site and replicate); ``derivation`` then says so (e.g. ``"R2 =
    Ua/Uf from amplitudes"``) and ``source_rows`` lists the amplitude rows (after the
    empty reported row, which the derived reading replaces).

    Notes
    -----
    R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, R6 = Uv/Ue, R7 = Ur/Uf, R8 = Ua (FACTS.md 4.1).
    Parameters are computed per curve, before replicates are averaged, so an averaged
    ratio is the mean of the per-curve ratios (as the device software reports them per
    curve). A zero denominator, or a missing or duplicated amplitude, leaves the value
    missing with the reason.
    """
    r = readings
    if not any(f"cutometer_{a}" in r.vocab["endpoint"] for a in _AMPLITUDES):
        return r
    rep = pd.factorize(pd.Series(r.replicate), use_na_sentinel=True)[0]
    rid = group_ids(r.subject_id, r.visit, r.body_site, rep)
    n = int(rid.max()) + 1 if rid.size else 0
    amps = _amplitudes(r, rid, n)
    added, dropped = [], []
    for endpoint in R_PARAMETERS:
        rows, replaced = _derive_one(r, rid, amps, endpoint)
        if len(rows["value"]):
            added.append(rows)
            dropped.append(replaced)
    if not added:
        return r
    keep = np.ones(r.n, dtype=bool)
    keep[np.concatenate(dropped)] = False
    extra = {k: np.concatenate([a[k] for a in added]) for k in added[0]}
    return r.take(np.flatnonzero(keep)).append(extra)
