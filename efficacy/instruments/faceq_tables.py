"""FACE-Q | Aesthetics scale metadata and user-supplied raw-sum -> Rasch conversion tables.

Only factual metadata is encoded (FACTS.md 3 and 6): scale ids, names, item counts,
the response range and the direction. Item text, the user's guide and the conversion
tables are copyrighted (MSKCC) and licensed; a user supplies their table as a CSV with
columns ``scale, raw_sum, rasch_score``. Tests use an obviously synthetic linear table
(``tests/reference/faceq/``).

Registering a scale from your licensed guide
--------------------------------------------
Scales beyond the built-in ones are passed to :func:`efficacy.instruments.score_faceq`
(and to :func:`load_faceq_conversion`) as ``scales=[FaceQScale(...)]``, or from a CSV
read with :func:`load_faceq_scales` (``efficacy score --faceq-scales FILE``) with
columns ``id, name, n_items, direction`` (optional ``response_low``, ``response_high``,
``source``). Nothing global is changed: each call sees the scales it is given.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from efficacy.errors import ConversionTableError, EfficacyError, InputError
from efficacy.io._files import read_text
from efficacy.io._kept import KeptReads

__all__ = [
    "FACEQ_SCALES",
    "FaceQConversion",
    "FaceQScale",
    "faceq_registry",
    "load_faceq_conversion",
    "load_faceq_scales",
]

_DIRECTIONS = ("higher", "lower")


@dataclass(frozen=True)
class FaceQScale:
    """Factual metadata of one FACE-Q scale (no item text).

    Parameters
    ----------
    id : str
        Scale id as written in ``pro_responses.scale`` (snake_case).
    name : str
        Published scale name.
    n_items : int
        Number of items; items are numbered 1..n_items within the scale.
    direction : {"higher", "lower"}
        Direction of improvement of the scale score. Rasch-scored satisfaction and
        function scales run 0 (worst) to 100 (best) (FACTS.md 3); check every other
        scale in the user's guide (checklists differ).
    response_range : tuple of int, default (1, 4)
        Lowest and highest item response.
    source : str
        Where the item count comes from.

    Raises
    ------
    EfficacyError
        Listing every problem (empty id or name, n_items < 1, bad direction or range).
    """

    id: str
    name: str
    n_items: int
    direction: str = "higher"
    response_range: tuple[int, int] = (1, 4)
    source: str = ""

    def __post_init__(self) -> None:
        problems = []
        for attr in ("id", "name"):
            value = getattr(self, attr)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{attr} must be a non-empty string")
        n = self.n_items
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            problems.append(f"n_items={n!r} must be a whole number >= 1")
        if self.direction not in _DIRECTIONS:
            problems.append(f"direction={self.direction!r} must be 'higher' or 'lower'")
        rr = self.response_range
        ok = isinstance(rr, tuple | list) and len(rr) == 2
        if not ok or not all(isinstance(v, int) and not isinstance(v, bool) for v in rr):
            problems.append(f"response_range={rr!r} must be two whole numbers (low, high)")
        elif rr[0] >= rr[1]:
            problems.append(f"response_range={rr!r} must have low < high")
        if problems:
            raise EfficacyError(f"FaceQScale {self.id!r}: " + "; ".join(problems))
        object.__setattr__(self, "n_items", int(n))
        object.__setattr__(self, "response_range", (int(rr[0]), int(rr[1])))

    @property
    def raw_sum_range(self) -> tuple[int, int]:
        """Smallest and largest possible raw sum: n_items x (low, high)."""
        lo, hi = self.response_range
        return self.n_items * lo, self.n_items * hi


_PMC7427150 = "FACTS.md 3: trial report table, pmc.ncbi.nlm.nih.gov/articles/PMC7427150"

#: Built-in scales: only those whose item counts FACTS.md 3 gives.
FACEQ_SCALES: Mapping[str, FaceQScale] = MappingProxyType(
    {
        s.id: s
        for s in (
            FaceQScale(
                "satisfaction_facial_appearance",
                "Satisfaction with Facial Appearance",
                10,
                "higher",
                source=_PMC7427150,
            ),
            FaceQScale(
                "psychological_function",
                "Psychological Function (formerly Psychological Well-being)",
                10,
                "higher",
                source=_PMC7427150,
            ),
            FaceQScale(
                "satisfaction_temples",
                "Satisfaction with Temples",
                12,
                "higher",
                source="FACTS.md 3: temples scale, 12 items (2024)",
            ),
        )
    }
)


def faceq_registry(scales: Iterable[FaceQScale] | None = None) -> Mapping[str, FaceQScale]:
    """Return the built-in scales plus `scales` (a new read-only mapping).

    Raises
    ------
    EfficacyError
        An entry is not a FaceQScale, or an id is given twice (or redefines a built-in
        scale) with different metadata.
    """
    merged = dict(FACEQ_SCALES)
    given: dict[str, FaceQScale] = {}
    for s in scales or ():
        if not isinstance(s, FaceQScale):
            raise EfficacyError(f"scales must hold FaceQScale objects, not {type(s).__name__}")
        prior = given.get(s.id) or merged.get(s.id)
        if prior is not None and prior != s:
            raise EfficacyError(
                f"scales: {s.id!r} is defined twice with different metadata "
                f"({prior.n_items} vs {s.n_items} items); give it once"
            )
        given[s.id] = s
    merged.update(given)
    return MappingProxyType(merged)


def _read_csv(path: str | os.PathLike[str], what: str) -> pd.DataFrame:
    """Read a reference CSV as text with the bundle tables' reader (``read_text``).

    The shared reader gives every unusable file (missing, a folder, unreadable, not
    UTF-8, UTF-16, binary, ragged) one :class:`~efficacy.errors.InputError` line naming it.
    """
    p = Path(path)
    try:
        if not p.is_file():
            raise InputError(f"{p}: no such file; give the {what} CSV")
        text, _ = read_text(p)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{p}: cannot be read ({reason}); give the {what} CSV") from None
    pairs = zip(text.names, text.columns, strict=True)
    return pd.DataFrame({n: c.fill_null("").to_pylist() for n, c in pairs}, dtype=object)


def _missing_columns(frame: pd.DataFrame, needed: Iterable[str]) -> list[str]:
    have = {c.lower(): c for c in frame.columns}
    out = []
    for c in needed:
        if c in frame.columns:
            continue
        hint = f" (found {have[c.lower()]!r}: rename it)" if c.lower() in have else ""
        out.append(f"column {c!r} is missing{hint}")
    return out


def load_faceq_scales(path: str | os.PathLike[str]) -> tuple[FaceQScale, ...]:
    """Read scale metadata from a CSV (your licensed user guide's scales).

    Columns: ``id, name, n_items, direction`` and optionally ``response_low``,
    ``response_high`` (default 1 and 4) and ``source``.

    Raises
    ------
    efficacy.errors.InputError
        The file cannot be read, or rows are invalid (every problem listed, with its
        1-based data row).
    """
    frame = _read_csv(path, "FACE-Q scales")
    problems = _missing_columns(frame, ("id", "name", "n_items", "direction"))
    scales: list[FaceQScale] = []
    for i, rec in enumerate(frame.to_dict("records") if not problems else (), start=1):
        try:
            lo, hi = int(rec.get("response_low") or 1), int(rec.get("response_high") or 4)
            n = int(rec["n_items"])
        except ValueError:
            problems.append(f"row {i}: n_items, response_low and response_high must be integers")
            continue
        try:
            scales.append(
                FaceQScale(
                    rec["id"].strip(),
                    rec["name"].strip(),
                    n,
                    rec["direction"].strip(),
                    (lo, hi),
                    rec.get("source", "") or f"{Path(path).name} row {i}",
                )
            )
        except EfficacyError as exc:
            problems.append(f"row {i}: {exc}")
    if problems:
        raise InputError(f"{path}: invalid FACE-Q scales file: " + "; ".join(problems))
    return tuple(scales)


@dataclass(frozen=True)
class FaceQConversion:
    """A validated raw-sum -> Rasch (0-100) conversion table.

    Build it with :func:`load_faceq_conversion`, which checks it.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``scale`` (str), ``raw_sum`` (int64), ``rasch_score`` (float64); one
        row per possible raw sum of each scale it covers, sorted.
    source : str
        The file (or ``"<DataFrame>"``) it came from.
    """

    table: pd.DataFrame
    source: str

    @property
    def scales(self) -> tuple[str, ...]:
        """Scale ids the table covers (in table order: the keys of its lookup arrays)."""
        return tuple(pd.unique(self.table["scale"]))

    @cached_property
    def _dense(self) -> dict[str, tuple[int, np.ndarray]]:
        """Per scale, in table order: (lowest raw sum, Rasch score by raw sum - lowest).

        Computed once per table (a validated table is read-only: the loader hands the
        same kept object to every caller).
        """
        out: dict[str, tuple[int, np.ndarray]] = {}
        scales = self.table["scale"].to_numpy(dtype=object)
        raw_sums = self.table["raw_sum"].to_numpy(np.int64)
        scores = self.table["rasch_score"].to_numpy(float)
        for scale in pd.unique(scales):
            rows = scales == scale
            raw = raw_sums[rows]
            lo = int(raw.min())
            dense = np.full(int(raw.max()) - lo + 1, np.nan)
            dense[raw - lo] = scores[rows]
            dense.flags.writeable = False
            out[scale] = (lo, dense)
        return out

    def lookup(self, scale: str, raw_sums: np.ndarray) -> np.ndarray:
        """Rasch scores for integer `raw_sums` of `scale` (NaN where absent)."""
        x = np.asarray(raw_sums, dtype=float)
        out = np.full(x.shape, np.nan)
        if scale not in self._dense:
            return out
        lo, dense = self._dense[scale]
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(x) & (x == np.round(x)) & (x >= lo) & (x < lo + dense.size)
        out[ok] = dense[x[ok].astype(np.int64) - lo]
        return out


def _ranges(values: Iterable[int]) -> str:
    """'11-13, 20' for [11, 12, 13, 20]."""
    vals = sorted(values)
    out: list[str] = []
    start: float = vals[0]  # stays an int until the sentinel math.inf ends the loop
    prev: float = start
    for v in [*vals[1:], math.inf]:
        if v != prev + 1:
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = v
        prev = v
    return ", ".join(out)


def _row_problems(
    frame: pd.DataFrame, registry: Mapping[str, FaceQScale]
) -> tuple[list[str], pd.DataFrame]:
    """Per-row checks; return (problems, the rows that passed, with parsed numbers)."""
    problems: list[str] = []
    scale = frame["scale"].astype(str).str.strip()
    raw = pd.to_numeric(frame["raw_sum"].str.strip(), errors="coerce")
    score = pd.to_numeric(frame["rasch_score"].str.strip(), errors="coerce")
    rows = pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
    for name in pd.unique(scale[~scale.isin(list(registry)) & scale.ne("")]):
        where = rows[scale == name]
        problems.append(
            f"row {where.iloc[0]}: scale {name!r} is not a registered FACE-Q scale "
            f"({len(where)} rows); register it with its item count from your licensed "
            "user guide, or fix the id"
        )
    for i in rows[scale.eq("")]:
        problems.append(f"row {i}: scale is empty; give the scale id")
    with np.errstate(invalid="ignore"):
        bad_raw = raw.isna() | ~np.isfinite(raw) | (raw != np.round(raw))
    for i, v in zip(rows[bad_raw], frame["raw_sum"][bad_raw], strict=True):
        problems.append(f"row {i}: raw_sum {v!r} is not a whole number; fix it")
    bad_score = score.isna() | ~np.isfinite(score)
    for i, v in zip(rows[bad_score], frame["rasch_score"][bad_score], strict=True):
        problems.append(f"row {i}: rasch_score {v!r} is not a number; fix it")
    out = ~bad_score & ((score < 0) | (score > 100))
    for i, v in zip(rows[out], score[out], strict=True):
        problems.append(f"row {i}: rasch_score {v:g} is outside 0-100; fix it")
    keep = scale.isin(list(registry)) & ~bad_raw
    parsed = pd.DataFrame(
        {
            "scale": scale,
            "raw_sum": raw,
            "raw_text": frame["raw_sum"].str.strip(),
            "rasch_score": score,
            "row": rows,
            "score_ok": ~bad_score & ~out,
        }
    )[keep]
    return problems, parsed


def _scale_problems(parsed: pd.DataFrame, registry: Mapping[str, FaceQScale]) -> list[str]:
    """Per-scale checks: impossible raw sums, duplicates, gaps, decreases."""
    problems: list[str] = []
    for sid, sub in parsed.groupby("scale", sort=False):
        meta = registry[str(sid)]
        lo, hi = meta.raw_sum_range
        what = f"{sid} ({meta.n_items} items, {meta.response_range[0]}-{meta.response_range[1]})"
        impossible = (sub["raw_sum"] < lo) | (sub["raw_sum"] > hi)
        for i, v in zip(sub["row"][impossible], sub["raw_text"][impossible], strict=True):
            problems.append(
                f"row {i}: raw_sum {v} is impossible for {what}: raw sums run {lo}-{hi}; "
                "remove the row or fix the scale"
            )
        sub = sub[~impossible]  # finite and small: safe to cast
        raw = sub["raw_sum"].astype(np.int64)
        dup = sub[raw.duplicated(keep="first")]
        for i, v in zip(dup["row"], dup["raw_sum"].astype(np.int64), strict=True):
            problems.append(f"row {i}: {sid} raw_sum {v} appears more than once; keep one row")
        gaps = sorted(set(range(lo, hi + 1)) - set(raw))
        if gaps:
            problems.append(
                f"{sid}: raw {'sum' if len(gaps) == 1 else 'sums'} {_ranges(gaps)} "
                f"{'is' if len(gaps) == 1 else 'are'} missing (every raw sum {lo}-{hi} "
                "needs a rasch_score); add them from your user guide"
            )
        ok = sub.drop_duplicates("raw_sum")
        ok = ok[ok["score_ok"]]
        ok = ok.sort_values("raw_sum", kind="stable")
        s, r, n = ok["rasch_score"].to_numpy(), ok["raw_sum"].to_numpy(), ok["row"].to_numpy()
        for k in np.flatnonzero(np.diff(s) < 0) + 1:
            problems.append(
                f"row {n[k]}: {sid} raw_sum {int(r[k])} -> {s[k]:g} is below raw_sum "
                f"{int(r[k - 1])} -> {s[k - 1]:g} (row {n[k - 1]}); scores must not "
                "decrease as raw_sum rises: fix the value"
            )
    return problems


def load_faceq_conversion(
    table: str | os.PathLike[str] | pd.DataFrame | FaceQConversion,
    *,
    scales: Iterable[FaceQScale] | None = None,
) -> FaceQConversion:
    """Read and validate a FACE-Q raw-sum -> Rasch conversion table.

    Parameters
    ----------
    table : path, pandas.DataFrame or FaceQConversion
        CSV (UTF-8) or frame with columns ``scale``, ``raw_sum``, ``rasch_score``,
        transcribed from your licensed FACE-Q | Aesthetics user's guide. A
        FaceQConversion is returned as is. A frame is not modified.
    scales : iterable of FaceQScale, optional
        Scales beyond the built-in :data:`FACEQ_SCALES` (see the module notes).

    Returns
    -------
    FaceQConversion

    Raises
    ------
    efficacy.instruments.ConversionTableError
        (an :class:`~efficacy.errors.InputError`) listing **every** problem at once,
        each with its 1-based data row and fix: missing columns; an unknown or empty
        scale id; a raw_sum that is not a whole number or is impossible for the scale
        (outside ``n_items x low`` to ``n_items x high``); a duplicated raw_sum; raw sums
        missing from the table (every possible raw sum must be present); a rasch_score
        that is not a number or outside 0-100; a score that decreases as the raw sum
        rises (the table must be monotone non-decreasing).

    Notes
    -----
    A valid table read from a file is kept (the last few, in this process) by the
    SHA-256 of the file's bytes, its suffix and the scales registry, so validation,
    scoring and the report read one file (or copies of it) once; a changed file is read
    again. Each call returns its own FaceQConversion (``source`` is the path given) whose
    ``table`` is a copy-on-write copy: changing it changes neither the kept table nor
    another caller's.
    """
    if isinstance(table, FaceQConversion):
        return table
    registry = faceq_registry(scales)
    if isinstance(table, str | os.PathLike):
        return _from_file(table, registry)
    return _load(table, registry)


#: Valid tables read from files, by the SHA-256 of the bytes, the file's suffix (it picks
#: the reader) and the scales registry: what a table depends on besides its source name.
_KEPT: KeptReads[FaceQConversion] = KeptReads(8)


def _from_file(path: str | os.PathLike[str], registry: Mapping[str, FaceQScale]) -> FaceQConversion:
    """Return the kept table of the file's bytes, or read, check and keep the file.

    The same bytes in another folder (every bundle a test writes holds the same
    synthetic table) are read once; ``source`` names the path given.
    """
    key = (Path(path).suffix.lower(), tuple(registry.items()))
    hit = _KEPT.read(path, key, lambda: _load(path, registry))  # raises if invalid
    return FaceQConversion(hit.table.copy(deep=False), str(path))


def _load(
    table: str | os.PathLike[str] | pd.DataFrame, registry: Mapping[str, FaceQScale]
) -> FaceQConversion:
    """Read and check `table` against `registry` (see :func:`load_faceq_conversion`)."""
    if isinstance(table, pd.DataFrame):
        source = "<DataFrame>"
        frame = table.astype(object).astype(str).where(table.notna(), "")
        frame.columns = [str(c).strip() for c in frame.columns]
    elif isinstance(table, str | os.PathLike):
        source = str(table)
        frame = _read_csv(table, "FACE-Q conversion table")
    else:
        raise EfficacyError(
            f"conversion must be a CSV path, a DataFrame or a FaceQConversion, "
            f"not {type(table).__name__}"
        )
    problems = _missing_columns(frame, ("scale", "raw_sum", "rasch_score"))
    if problems:
        raise ConversionTableError(source, problems)
    if frame.empty:
        raise ConversionTableError(
            source, ["the table has no rows; add scale, raw_sum, rasch_score rows"]
        )
    problems, parsed = _row_problems(frame, registry)
    problems += _scale_problems(parsed, registry)
    if problems:
        raise ConversionTableError(source, problems)
    clean = parsed.sort_values(["scale", "raw_sum"], kind="stable")
    result = pd.DataFrame(
        {
            "scale": clean["scale"].astype("str").to_numpy(),
            "raw_sum": clean["raw_sum"].astype(np.int64).to_numpy(),
            "rasch_score": clean["rasch_score"].astype(float).to_numpy(),
        }
    )
    return FaceQConversion(result, source)
