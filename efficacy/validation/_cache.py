"""Rule results computed once per trial, reused by every validation that can reuse them.

A validation runs ~60 rules; the analysis, the report and the claims matrix (one
validation per jurisdiction pack) validate the same trial up to seven times, and the
packs share every data rule with the default protocol. This module lets
:func:`~efficacy.validation.validate` run each rule once per trial and per *distinct
input the rule read*.

How a reuse is known to be correct
----------------------------------
A rule's result depends on the trial, the rule itself, and what it reads of the protocol
and of files outside the trial. The engine records those reads while the rule runs
(:class:`Reads`, filled by :class:`~efficacy.validation.context.Context`):

* ``("params", key)`` -- one ``[validation]`` parameter (``ctx.params[key]``, also
  ``get`` and ``in``); ``("params",)`` -- the whole mapping (iterating it);
* ``("protocol",)`` -- the whole protocol (``ctx.protocol``, e.g. to count the CONSORT
  flow with its primary endpoint);
* ``("file", key)`` -- a reference file of the bundle (``ctx.reference_file(key)``), by
  the SHA-256 of its bytes (or the error reading it gave).

A stored result is reused for another protocol only when every recorded read gives the
same value again, compared by :func:`fingerprint` (type-exact: ``1``, ``1.0`` and
``True`` differ; an object it cannot describe never compares equal, so it is never
reused). Because a deterministic rule that reads the same values takes the same path,
it would produce the same findings: the reuse is exact, not a heuristic. A requirement
rule is also keyed by its requirement (id, check, parameters, severity, text...) and
the function that checks it; a data rule by the :class:`~efficacy.validation.Rule`
itself. The trial's derived views in the context read no protocol (a test pins it),
so a rule cannot depend on the protocol through them.

The derived views of the context (canonical measurement values, factorized columns,
first rows per subject...) are kept beside the results and shared by every validation of
the trial. The store lives on the trial (``Trial._memo``, like the trial's other derived
views) and is dropped when one of the trial's tables or its manifest is rebound; changing a
trial's tables in place after validating it is unsupported (they are read-only by
convention, see :meth:`efficacy.trial.Trial.subjects_unique`). Stored findings frames
are never handed out: each report concatenates them into a new frame. A rule that
crashed is not stored (it runs again next time).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from efficacy._digest import file_sha256

if TYPE_CHECKING:
    from efficacy.protocol import Protocol
    from efficacy.trial import Trial
    from efficacy.validation.report import RuleStatus

__all__ = ["Reads", "RuleCache", "TrackedParams", "fingerprint", "kept_fingerprint", "rule_cache"]

#: A read of something outside the trial: ("params", key), ("params",), ("protocol",)
#: or ("file", key).
Read = tuple[str, ...]

_MISSING = ("<missing>",)


class _Opaque:
    """Fingerprint of an object :func:`fingerprint` cannot describe: equal to nothing."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return id(self)


def fingerprint(value: Any) -> Any:
    """Return a type-exact, comparable description of `value` (protocol parts, parameters).

    Two fingerprints are equal only when the values have the same types all the way down
    and equal contents, in the same order: ``1``, ``1.0`` and ``True`` differ, as do a
    list and a tuple, or ``0.0`` and ``-0.0`` (floats compare by ``repr``, so NaN equals
    NaN). Mappings, sequences, sets, paths and dataclasses are described recursively;
    any other object gets a fingerprint equal to nothing (a cache never reuses it).

    Examples
    --------
    >>> fingerprint({"a": (1, 2.5)}) == fingerprint({"a": (1, 2.5)})
    True
    >>> fingerprint(1) == fingerprint(1.0), fingerprint((1,)) == fingerprint([1])
    (False, False)
    """
    if value is None or isinstance(value, str | bytes | bool | int):
        return (type(value).__qualname__, value)
    if isinstance(value, float):
        return (type(value).__qualname__, repr(value))
    if isinstance(value, Mapping):
        items = tuple((fingerprint(k), fingerprint(v)) for k, v in value.items())
        return ("mapping", type(value).__qualname__, items)
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value).__qualname__, tuple(fingerprint(v) for v in value))
    if isinstance(value, Path):
        return (type(value).__qualname__, str(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = tuple(
            (f.name, fingerprint(getattr(value, f.name))) for f in dataclasses.fields(value)
        )
        return ("dataclass", cls.__module__, cls.__qualname__, fields)
    return _Opaque()


def _immutable(value: Any) -> bool:
    """Whether `value` cannot change, all the way down (what :func:`fingerprint` reads).

    Read-only mappings count as unchangeable: the protocol model wraps mappings it
    builds itself (never a caller's dict) in ``MappingProxyType``.
    """
    if value is None or isinstance(value, str | bytes | bool | int | float | Path):
        return True
    if isinstance(value, MappingProxyType):
        return all(_immutable(k) and _immutable(v) for k, v in value.items())
    if isinstance(value, tuple | frozenset):
        return all(_immutable(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        frozen: bool = type(value).__dataclass_params__.frozen  # type: ignore[attr-defined]
        return frozen and all(_immutable(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


_KEPT: dict[int, tuple[Any, Any]] = {}
_KEPT_MAX = 256
_KEPT_LOCK = threading.Lock()


def kept_fingerprint(value: Any) -> Any:
    """Return :func:`fingerprint` of `value`, kept by identity when `value` cannot change.

    A protocol (or requirement) immutable all the way down has one fingerprint for
    its whole life, so validations against it compute it once; the object is held with
    its fingerprint (an id is never reused while the object lives). A value that could
    change is fingerprinted afresh every time.

    Examples
    --------
    >>> from efficacy.protocol import load_protocol
    >>> iso = load_protocol("iso-efficacy-2025")
    >>> kept_fingerprint(iso) is kept_fingerprint(iso), kept_fingerprint(iso) == fingerprint(iso)
    (True, True)
    """
    hit = _KEPT.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    made = fingerprint(value)
    if _immutable(value):
        with _KEPT_LOCK:
            if len(_KEPT) >= _KEPT_MAX:
                _KEPT.pop(next(iter(_KEPT)))  # the oldest
            _KEPT[id(value)] = (value, made)
    return made


def file_stamp(path: Path | None) -> Any:
    """Return what a rule reading the file at `path` sees: its bytes' SHA-256, or why not."""
    if path is None:
        return None
    try:
        return (str(path), file_sha256(path))
    except OSError as exc:
        return (str(path), "unreadable", type(exc).__name__, exc.errno, str(exc))


class Reads:
    """What one rule read outside the trial while it ran: read -> fingerprint of the value.

    Parameters
    ----------
    now : callable
        The current fingerprint of a read for the protocol and trial under validation
        (:func:`value_of`, the one memo of a validation: the rules of one validation
        that read the whole protocol fingerprint it once).
    """

    __slots__ = ("_now", "seen")

    def __init__(self, now: Callable[[Read], Any]) -> None:
        self._now = now
        self.seen: dict[Read, Any] = {}

    def note(self, read: Read) -> None:
        """Record `read` (the first value seen stays: it is what the rule used first)."""
        if read not in self.seen:
            self.seen[read] = self._now(read)


class TrackedParams(Mapping[str, Any]):
    """A read-only view of the ``[validation]`` parameters that records what is read."""

    __slots__ = ("_params", "_reads")

    def __init__(self, params: Mapping[str, Any], reads: Reads | None = None) -> None:
        self._params = params
        self._reads = reads

    def __getitem__(self, key: str) -> Any:
        value = self._params.get(key, _MISSING)
        if self._reads is not None:
            self._reads.note(("params", key))
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            try:
                self[key]
            except KeyError:
                return False
            return True
        return False

    def __iter__(self) -> Iterator[str]:
        if self._reads is not None:
            self._reads.note(("params",))
        return iter(self._params)

    def __len__(self) -> int:
        if self._reads is not None:
            self._reads.note(("params",))
        return len(self._params)


def current_value(read: Read, protocol: Protocol, trial: Trial) -> Any:
    """Return the fingerprint `read` gives now, for `protocol` and `trial`."""
    kind = read[0]
    if kind == "params":
        params = protocol.parameters
        return (
            kept_fingerprint(params)
            if len(read) == 1
            else fingerprint(params.get(read[1], _MISSING))
        )
    if kind == "protocol":
        return kept_fingerprint(protocol)
    if kind == "file":
        return file_stamp(trial.reference_file(read[1]))
    return _Opaque()  # an unknown kind of read: never reuse


@dataclasses.dataclass(frozen=True)
class Stored:
    """One stored rule result: the reads it depended on, its status and findings."""

    reads: Mapping[Read, Any]
    status: RuleStatus
    frame: pd.DataFrame | None


class RuleCache:
    """Rule results of one trial, by rule key (see the module notes)."""

    def __init__(self, trial: Trial) -> None:
        self._stamp = _stamp(trial)
        self._lock = threading.Lock()
        self._results: dict[Hashable, list[Stored]] = {}
        #: The trial's derived views (:class:`~efficacy.validation.context.Context`'s
        #: ``__dict__``): they read no protocol, so every validation of the trial shares them.
        self.views: dict[str, Any] = {}

    def fresh_for(self, trial: Trial) -> bool:
        """Whether the trial still holds the tables and manifest this cache was built on."""
        return all(a is b for a, b in zip(self._stamp, _stamp(trial), strict=True))

    def find(self, key: Hashable, value_of: _ValueOf) -> Stored | None:
        """Return the stored result of rule `key` whose every read has the same value now."""
        with self._lock:
            entries = list(self._results.get(key, ()))
        for entry in entries:
            if all(value_of(read) == seen for read, seen in entry.reads.items()):
                return entry
        return None

    def store(self, key: Hashable, entry: Stored) -> None:
        """Keep `entry` for rule `key` (beside results for other read values)."""
        with self._lock:
            self._results.setdefault(key, []).append(entry)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._results.values())

    def rule_ids(self) -> list[str]:
        """Return the rule id of every stored result (a rule run twice is listed twice)."""
        with self._lock:
            return [e.status.rule_id for v in self._results.values() for e in v]


class _ValueOf:
    """Current fingerprints of reads for one protocol and trial, each computed once."""

    __slots__ = ("_done", "_protocol", "_trial")

    def __init__(self, protocol: Protocol, trial: Trial) -> None:
        self._protocol = protocol
        self._trial = trial
        self._done: dict[Read, Any] = {}

    def __call__(self, read: Read) -> Any:
        if read not in self._done:
            self._done[read] = current_value(read, self._protocol, self._trial)
        return self._done[read]


def value_of(protocol: Protocol, trial: Trial) -> _ValueOf:
    """Return a function giving the current fingerprint of a read (memoised per call)."""
    return _ValueOf(protocol, trial)


def _stamp(trial: Trial) -> tuple[object, ...]:
    """Return the objects a trial's rule results are computed from (compared by identity)."""
    return (
        trial.manifest,
        trial.subjects,
        trial.measurements,
        trial.pro_responses,
        trial.adverse_events,
        trial.deviations,
        trial.intercurrent_events,
        trial.issues,
        trial.sources,
    )


def rule_cache(trial: Trial) -> RuleCache:
    """Return the trial's rule cache (made on first use, remade when its tables are rebound)."""
    cache = trial._memo("validation_rule_cache", lambda _: RuleCache(trial))
    if not cache.fresh_for(trial):
        memo: dict[str, tuple[int, Any]] = trial.__dict__.setdefault("_memos", {})
        cache = RuleCache(trial)
        memo["validation_rule_cache"] = (id(trial.subjects), cache)
    return cache
