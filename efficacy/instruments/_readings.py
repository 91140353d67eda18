"""Measurement readings as integer-coded numpy arrays (the fast internal form).

Text columns (subject, visit, body site, endpoint, device, settings) are held as codes
into a per-column vocabulary (-1 = missing), so grouping, reshaping and filtering are
integer operations; the result gets its text back once, at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from efficacy.trial import _arrow_text_codes

__all__ = ["TEXT", "Readings", "encode", "group_ids", "group_range", "text_array"]

#: Coded text columns.
TEXT: tuple[str, ...] = (
    "subject_id",
    "visit",
    "body_site",
    "endpoint",
    "device",
    "device_settings",
)


@dataclass
class Readings:
    """One row per reading; text columns as codes into ``vocab``.

    Attributes
    ----------
    vocab : dict of str to list
        Values of each coded column (code = position).
    subject_id, visit, body_site, endpoint, device, device_settings : ndarray of int64
        Codes (-1 = missing).
    day, replicate, value : ndarray of float
        Study day, replicate number and value in the canonical unit (NaN = missing).
    derivation, reason, source_rows : ndarray of object
        Formula of a derived value (''), why the value is missing (''), source rows.
    """

    vocab: dict[str, list[object]]
    subject_id: np.ndarray
    visit: np.ndarray
    body_site: np.ndarray
    endpoint: np.ndarray
    device: np.ndarray
    device_settings: np.ndarray
    day: np.ndarray
    replicate: np.ndarray
    value: np.ndarray
    derivation: np.ndarray
    reason: np.ndarray
    source_rows: np.ndarray

    @property
    def n(self) -> int:
        """Number of readings."""
        return len(self.value)

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the per-row arrays by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "vocab"}

    def take(self, idx: np.ndarray) -> Readings:
        """Return rows `idx` (same vocabulary)."""
        return Readings(self.vocab, **{k: v[idx] for k, v in self.arrays().items()})

    def append(self, other: dict[str, np.ndarray]) -> Readings:
        """Return these rows followed by `other` (arrays by name, same vocabulary)."""
        return Readings(
            self.vocab, **{k: np.concatenate([v, other[k]]) for k, v in self.arrays().items()}
        )

    def code(self, column: str, value: object) -> int:
        """Code of `value` in `column`'s vocabulary, added if absent."""
        values = self.vocab[column]
        try:
            return values.index(value)
        except ValueError:
            values.append(value)
            return len(values) - 1

    def codes_of(self, column: str, values: Sequence[object]) -> np.ndarray:
        """Codes of several values (-1 where absent; nothing is added)."""
        index = {v: i for i, v in enumerate(self.vocab[column])}
        return np.array([index.get(v, -1) for v in values], dtype=np.int64)

    def text(self, column: str) -> np.ndarray:
        """Values of a coded column as an object array (None where missing)."""
        return text_array(self.vocab[column], getattr(self, column))


def text_array(vocab: Sequence[object], codes: np.ndarray) -> np.ndarray:
    """``vocab[code]`` for every code, None for -1."""
    table = np.empty(len(vocab) + 1, dtype=object)
    table[: len(vocab)] = list(vocab)
    table[len(vocab)] = None
    return table[np.where(codes < 0, len(vocab), codes)]


def group_ids(*codes: np.ndarray) -> np.ndarray:
    """Dense group id (first-seen order) of the rows' tuples of integer codes."""
    if not codes or len(codes[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for column in codes:
        c = np.asarray(column, dtype=np.int64)
        c = c - c.min()
        base = int(c.max()) + 1
        if int(key.max()) >= (2**62) // base:  # key * base could overflow: renumber first
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        key = key * base + c  # one integer per distinct tuple of codes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def group_range(values: np.ndarray, gid: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest non-NaN value of each group ``0..n-1`` (NaN for none).

    As ``Series(values).groupby(gid).min()`` / ``.max()`` reindexed to ``range(n)``.
    """
    x = np.asarray(values, dtype=float)
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    np.fmin.at(low, gid, x)  # fmin/fmax skip NaN
    np.fmax.at(high, gid, x)
    none = np.bincount(gid, weights=~np.isnan(x), minlength=n) == 0
    low[none] = np.nan
    high[none] = np.nan
    return low, high


def encode(values: pd.Series) -> tuple[np.ndarray, list[object]]:
    """(codes, vocabulary) of a text column; missing and blank cells get -1.

    Arrow text is factorized by Arrow's dictionary encoding, which :func:`pandas.factorize`
    applies to it too (:func:`efficacy.trial._arrow_text_codes`), without its wrapping.
    """
    coded = _arrow_text_codes(values)
    if coded is not None:
        codes, vocab = coded
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        vocab = list(uniques)
    blank = [i for i, v in enumerate(vocab) if isinstance(v, str) and not v.strip()]
    codes = codes.astype(np.int64)
    if blank:
        codes[np.isin(codes, blank)] = -1
    return codes, vocab
