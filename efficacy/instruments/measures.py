"""Instrument measurements -> one canonical value per subject, visit, endpoint and site.

Units are normalised to the catalogue's canonical unit (mm <-> um), Cutometer
R-parameters are derived from curve amplitudes where not reported, replicate readings
are averaged as the protocol says, and two kinds of data are refused rather than
analysed: probe apertures mixed within a Cutometer endpoint, and 2D complexion imaging
recorded as 3D wrinkle depth.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError, ScoringError
from efficacy.instruments._frames import int64_array, str_array
from efficacy.instruments._readings import (
    TEXT,
    Readings,
    encode,
    group_ids,
    group_range,
    text_array,
)
from efficacy.instruments.catalogue import ENDPOINTS, normalise_unit, unit_factor
from efficacy.instruments.cutometer import check_apertures, derive_r_parameters
from efficacy.instruments.supportive import SUPPORTIVE_2D_DEVICES, SUPPORTIVE_ENDPOINTS

__all__ = [
    "VALUE_COLUMNS",
    "CanonicalUnits",
    "canonical_units",
    "endpoint_info",
    "prepare_measurements",
]

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


def endpoint_info(endpoint: str) -> tuple[str, str, str] | None:
    """(canonical unit, modality, direction) of a catalogue endpoint (incl. supportive)."""
    e = ENDPOINTS.get(endpoint)
    return None if e is None else (e.unit, e.modality, e.direction)


@dataclass(frozen=True)
class CanonicalUnits:
    """Each measurement row's value in its endpoint's canonical unit (row order).

    Attributes
    ----------
    known : ndarray of bool
        The endpoint is in the catalogue.
    unit : ndarray of object
        Canonical spelling of the row's unit (e.g. ``" µm "`` -> ``"um"``); None when
        blank or not a known unit.
    target : ndarray of object
        The endpoint's canonical unit; None for an endpoint outside the catalogue.
    factor : ndarray of float
        Factor converting the row's unit to ``target`` (mm -> um: 1000); NaN when it
        cannot be converted.
    value : ndarray of float
        ``value x factor``; NaN when the value is missing or not convertible.
    reason : ndarray of object
        Why ``value`` is NaN ('' where it is not): endpoint missing or not in the
        catalogue, unit unknown or not convertible, value missing.
    """

    known: np.ndarray
    unit: np.ndarray
    target: np.ndarray
    factor: np.ndarray
    value: np.ndarray
    reason: np.ndarray


def _convert(
    endpoint: object, unit: object, declared: Collection[str] = ()
) -> tuple[bool, str | None, str | None, float, str]:
    """(known, canonical unit, target unit, factor, reason) of one endpoint and unit."""
    if endpoint is not None and str(endpoint) in declared:  # the data define it (ADaM)
        given = "" if unit is None else str(unit)
        return True, given, given, 1.0, ""
    info = endpoint_info(str(endpoint)) if endpoint is not None else None
    canon = normalise_unit(None if unit is None else str(unit))
    if info is None:
        why = f"endpoint {endpoint!r} is not in the catalogue" if endpoint else "endpoint missing"
        return False, canon, None, np.nan, why
    target = info[0]
    if canon is None:
        return True, None, target, np.nan, f"unit {unit!r} is not a known unit"
    factor = unit_factor(canon, target)
    if factor is None:
        return True, canon, target, np.nan, f"unit {unit!r} cannot be converted to {target}"
    return True, canon, target, factor, ""


def canonical_units(measurements: pd.DataFrame, declared: Collection[str] = ()) -> CanonicalUnits:
    """Canonicalise the unit of every measurement row to its endpoint's catalogue unit.

    The one place units are canonicalised: validation (unit and range rules) and scoring
    (:func:`prepare_measurements`) both read it.

    Parameters
    ----------
    measurements : pandas.DataFrame
        With columns ``endpoint``, ``unit`` and ``value``. Not modified.
    declared : collection of str, optional
        Endpoints the data define (ADaM parameters, :attr:`Manifest.data_endpoints`):
        known, kept in the unit recorded (factor 1).

    Returns
    -------
    CanonicalUnits
        Per-row arrays; each distinct (endpoint, unit) pair is looked up once.

    Examples
    --------
    >>> m = pd.DataFrame({"endpoint": ["wrinkle_rz", "wrinkle_rz", "wrinkle_rz"],
    ...                   "unit": ["mm", " µm ", "furlong"], "value": [0.05, 50.0, 1.0]})
    >>> c = canonical_units(m)
    >>> c.unit.tolist(), c.value.round(6).tolist()[:2], c.reason[2]
    (['mm', 'um', None], [50.0, 50.0], "unit 'furlong' is not a known unit")
    """
    ep_codes, endpoints = encode(measurements["endpoint"])
    un_codes, units = encode(measurements["unit"])
    pair = ep_codes * (len(units) + 1) + (un_codes + 1)
    _, first, pair_ids = np.unique(pair, return_index=True, return_inverse=True)
    pair_ids = np.asarray(pair_ids, dtype=np.int64).reshape(-1)
    looked = [
        _convert(
            endpoints[ep_codes[f]] if ep_codes[f] >= 0 else None,
            units[un_codes[f]] if un_codes[f] >= 0 else None,
            declared,
        )
        for f in first
    ]

    def column(i: int, dtype: type) -> np.ndarray:
        return np.array([x[i] for x in looked], dtype=dtype).reshape(-1)[pair_ids]

    raw = pd.to_numeric(measurements["value"], errors="coerce").to_numpy(float, na_value=np.nan)
    factor = column(3, float)
    reason = column(4, object)
    reason = np.where((reason == "") & np.isnan(raw), "value missing", reason).astype(object)
    return CanonicalUnits(
        known=column(0, bool),
        unit=column(1, object),
        target=column(2, object),
        factor=factor,
        value=raw * factor,
        reason=reason,
    )


def _readings(m: pd.DataFrame, declared: Collection[str] = ()) -> Readings:
    """Per input row: coded text, canonical value, source row and reason."""
    codes, vocab = {}, {}
    for col in TEXT:
        if col in m.columns:
            codes[col], vocab[col] = encode(m[col])
        else:
            codes[col], vocab[col] = np.full(len(m), -1, dtype=np.int64), []
    canon = canonical_units(m, declared)
    rep = m["replicate"] if "replicate" in m.columns else pd.Series(np.nan, index=m.index)
    return Readings(
        vocab=vocab,
        **codes,
        day=pd.to_numeric(m["day"], errors="coerce").to_numpy(float, na_value=np.nan),
        replicate=pd.to_numeric(rep, errors="coerce").to_numpy(float, na_value=np.nan),
        value=canon.value,
        derivation=np.full(len(m), "", dtype=object),
        reason=canon.reason,
        source_rows=np.asarray(m.index.astype(str), dtype=object),
    )


def _endpoint_table(r: Readings, position: int) -> np.ndarray:
    """Per endpoint code (+1 slot for -1): unit / modality / direction (by position)."""
    values = []
    for e in r.vocab["endpoint"]:
        info = endpoint_info(str(e))
        values.append(info[position] if info else ("none" if position == 2 else ""))
    values.append("none" if position == 2 else "")
    return np.array(values, dtype=object)


def _lookup(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return table[np.where(codes < 0, len(table) - 1, codes)]


def _refuse_2d(r: Readings, devices: Sequence[str]) -> None:
    """Raise if a wrinkle-depth endpoint was measured with a 2D imaging device."""
    if not devices:
        return
    wanted = [d.lower() for d in devices]
    flat = np.array([any(w in str(d).lower() for w in wanted) for d in r.vocab["device"]] + [False])
    modality = _lookup(_endpoint_table(r, 1), r.endpoint)
    hit = _lookup(flat, r.device) & (modality == "wrinkle_depth")
    if hit.any():
        at = np.flatnonzero(hit)
        rows = ", ".join(r.source_rows[at[:5]]) + (", ..." if len(at) > 5 else "")
        eps = sorted({str(x) for x in text_array(r.vocab["endpoint"], r.endpoint[at])})
        devs = sorted({str(x) for x in text_array(r.vocab["device"], r.device[at])})
        raise ScoringError(
            f"measurements rows {rows}: {len(at)} wrinkle-depth readings ({', '.join(eps)}) "
            f"come from 2D complexion imaging ({', '.join(devs)}), which is not 3D "
            "profilometry (FACTS.md 4.4): record them as supportive endpoints "
            f"({', '.join(SUPPORTIVE_ENDPOINTS)}) instead"
        )


def _unique_join(values: Iterable[object], sep: str) -> str:
    seen: list[str] = []
    for x in values:
        if x is not None and x == x and x != "" and str(x) not in seen:
            seen.append(str(x))
    return sep.join(seen)


def _multi(
    r: Readings, gid: np.ndarray, multi: np.ndarray, used: np.ndarray
) -> dict[str, dict[int, object]]:
    """Join the text of the groups with several readings (by group id)."""
    pos = np.flatnonzero(multi[gid])
    pos = pos[np.argsort(gid[pos], kind="stable")]
    device, settings = r.text("device"), r.text("device_settings")
    out: dict[str, dict[int, object]] = {
        c: {}
        for c in ("source_rows", "device", "device_settings", "derivation", "reason", "replicates")
    }
    bounds = np.flatnonzero(np.diff(gid[pos])) + 1
    for chunk in np.split(pos, bounds) if len(pos) else ():
        g = int(gid[chunk[0]])
        out["source_rows"][g] = ";".join(r.source_rows[chunk])
        out["device"][g] = _unique_join(device[chunk], " | ")
        out["device_settings"][g] = _unique_join(settings[chunk], " | ")
        out["derivation"][g] = _unique_join(r.derivation[chunk], " | ")
        out["reason"][g] = _unique_join(r.reason[chunk], "; ")
        reps = used[chunk]
        out["replicates"][g] = ",".join(f"{x:g}" for x in np.sort(reps[~np.isnan(reps)]))
    return out


def _group_reasons(
    a: dict[str, np.ndarray], rows: np.ndarray, own: np.ndarray, curves: str
) -> np.ndarray:
    """Reason per group whose value cannot be formed ('' elsewhere)."""
    reason = np.full(len(rows), "", dtype=object)
    dup = (a["n_rows"] > 1) & ((a["rep_na"] > 0) | (a["n_rep"] < a["n_rows"]))
    with np.errstate(invalid="ignore"):
        days = ~np.isnan(a["day_min"]) & (a["day_min"] != a["day_max"])
    none_sel = a["n_sel"] == 0
    empty = (a["n_val"] == 0) & ~none_sel
    for g in np.flatnonzero(dup | days | none_sel | empty):
        where = rows[g].replace(";", ", ")
        if dup[g]:
            reason[g] = (
                f"{a['n_rows'][g]} readings (rows {where}) share this subject, visit, "
                "endpoint and body site without distinct replicate numbers (INT-002): "
                "remove the copy or number the replicates"
            )
        elif days[g]:
            reason[g] = (
                f"readings on days {a['day_min'][g]:g} and {a['day_max'][g]:g} "
                f"(rows {where}) share one visit: give them distinct visit ids"
            )
        elif none_sel[g]:
            reason[g] = f"no reading among replicates {curves} (rows {where})"
        else:
            reason[g] = own[g]
    return reason


def _tallies(
    r: Readings, gid: np.ndarray, sel: np.ndarray, ok: np.ndarray
) -> dict[str, np.ndarray]:
    n = int(gid.max()) + 1
    v = np.where(ok, r.value, np.nan)
    has = ~np.isnan(v)
    rep = r.replicate
    numbered = ~np.isnan(rep)
    rep_code = np.unique(rep[numbered], return_inverse=True)[1].ravel()
    pairs = np.unique(gid[numbered] * (len(rep_code) + 1) + rep_code)  # distinct (g, rep)
    day_min, day_max = group_range(r.day, gid, n)
    return {
        "n_rows": np.bincount(gid, minlength=n),
        "n_sel": np.bincount(gid, weights=sel, minlength=n),
        "n_val": np.bincount(gid, weights=has, minlength=n).astype(np.int64),
        "v_sum": np.bincount(gid, weights=np.where(has, v, 0.0), minlength=n),
        "n_rep": np.bincount(pairs // (len(rep_code) + 1), minlength=n),
        "rep_na": np.bincount(gid, weights=np.isnan(rep), minlength=n),
        "day_min": day_min,
        "day_max": day_max,
    }


def _average(r: Readings, curves: tuple[int, ...] | None) -> dict[str, np.ndarray]:
    """Average replicate readings per subject, visit, endpoint and body site."""
    gid = group_ids(r.subject_id, r.visit, r.endpoint, r.body_site)
    sel = np.ones(r.n, dtype=bool)
    if curves is not None:
        cut = np.array([str(e).startswith("cutometer_") for e in r.vocab["endpoint"]] + [False])
        sel = ~_lookup(cut, r.endpoint) | np.isin(r.replicate, curves)
    ok = sel & (r.reason == "")
    used = np.where(ok, r.replicate, np.nan)
    a = _tallies(r, gid, sel, ok)
    first = np.unique(gid, return_index=True)[1]  # group ids are in first-seen order
    out: dict[str, np.ndarray] = {k: v[first] for k, v in r.arrays().items()}
    out["device"], out["device_settings"] = (
        r.text("device")[first],
        r.text("device_settings")[first],
    )
    rep1 = used[first]
    out["replicates"] = np.array(["" if x != x else f"{x:g}" for x in rep1], dtype=object)
    multi = a["n_rows"] > 1
    if multi.any():
        for col, by_group in _multi(r, gid, multi, used).items():
            at = np.fromiter(by_group, dtype=np.int64, count=len(by_group))
            out[col][at] = list(by_group.values())
    label = "any" if curves is None else ",".join(str(c) for c in curves)
    reason = _group_reasons(a, out["source_rows"], out["reason"], label)
    single = ~multi & (a["n_sel"] > 0) & (reason == "")
    reason[single] = out["reason"][single]
    bad = reason != ""
    with np.errstate(invalid="ignore", divide="ignore"):
        out["value"] = np.where(bad, np.nan, a["v_sum"] / a["n_val"])
    out["n_replicates"] = np.where(bad, 0, a["n_val"])
    out["replicates"][bad] = ""
    out["day"] = a["day_min"]
    out["reason"] = reason
    return out


def prepare_measurements(
    measurements: pd.DataFrame,
    *,
    cutometer_curves: Iterable[int] | None = None,
    exclude_2d_devices: Sequence[str] = SUPPORTIVE_2D_DEVICES,
    declared: Collection[str] = (),
) -> pd.DataFrame:
    """Return one canonical value per subject, visit, endpoint and body site.

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
    declared : collection of str, optional
        Endpoints the data define (ADaM parameters): kept in their recorded unit.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VALUE_COLUMNS`:

        - ``subject_id``, ``visit``, ``endpoint``, ``body_site`` (str): the key
        - ``day`` (Int64): study day of the reading(s)
        - ``value`` (float): in ``unit``; the mean of the replicate readings; NaN when
          it cannot be formed (see ``reason``)
        - ``unit`` (str): the endpoint's canonical unit (catalogue or supportive; ''
          for an endpoint outside both)
        - ``modality`` (str): catalogue modality, ``"supportive_2d"``, or '' if unknown
        - ``direction`` (str): direction of improvement (higher / lower / none)
        - ``n_replicates`` (Int64): readings averaged (0 when ``value`` is missing)
        - ``replicates`` (str): replicate numbers averaged, e.g. ``"2,3,4"`` ('' without
          a replicate column)
        - ``derivation`` (str): e.g. ``"R2 = Ua/Uf from amplitudes"``; '' if measured
        - ``device``, ``device_settings`` (str): as recorded (distinct values joined
          with " | ")
        - ``source_rows`` (str): the measurement rows of the key (all replicates, also
          those left out), joined with ";"
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
        wrinkle depth.

    Notes
    -----
    ``value = mean of the usable replicate readings``: readings outside
    `cutometer_curves`, and readings that are themselves unusable (empty, unknown unit),
    are left out; ``n_replicates`` and ``replicates`` say which were averaged. Unit
    factors come from the catalogue (mm -> um x 1000). Derived R-parameters are
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
    readings = _readings(measurements, declared)
    _refuse_2d(readings, tuple(exclude_2d_devices))
    readings = derive_r_parameters(readings)
    check_apertures(readings)
    if readings.n == 0:
        return _frame(
            readings,
            {k: v[:0] for k, v in readings.arrays().items()}
            | {
                "n_replicates": np.zeros(0),
                "replicates": np.zeros(0, dtype=object),
                "device": np.zeros(0, dtype=object),
                "device_settings": np.zeros(0, dtype=object),
            },
        )
    return _frame(readings, _average(readings, curves))


def _frame(r: Readings, out: dict[str, np.ndarray]) -> pd.DataFrame:
    """Build the result frame: text decoded once, fixed columns and dtypes."""

    def decode(column: str) -> object:
        vocab = str_array(np.array([*r.vocab[column], None], dtype=object))
        codes = out[column]
        return vocab.take(np.where(codes < 0, len(vocab) - 1, codes))

    ep = out["endpoint"]
    columns = {
        "subject_id": decode("subject_id"),
        "visit": decode("visit"),
        "day": int64_array(np.round(np.asarray(out["day"], dtype=float))),
        "endpoint": decode("endpoint"),
        "body_site": decode("body_site"),
        "value": out["value"].astype(float),
        "unit": str_array(_lookup(_endpoint_table(r, 0), ep)),
        "modality": str_array(_lookup(_endpoint_table(r, 1), ep)),
        "direction": str_array(_lookup(_endpoint_table(r, 2), ep)),
        "n_replicates": int64_array(np.round(np.asarray(out["n_replicates"], dtype=float))),
        "replicates": str_array(out["replicates"]),
        "derivation": str_array(out["derivation"]),
        "device": str_array(out["device"]),
        "device_settings": str_array(out["device_settings"]),
        "source_rows": str_array(out["source_rows"]),
        "reason": str_array(out["reason"]),
    }
    return pd.DataFrame({c: columns[c] for c in VALUE_COLUMNS}, copy=False)
