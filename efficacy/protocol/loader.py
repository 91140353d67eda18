"""Load protocols: the built-in standard files and user TOML files that extend them.

Built-in protocols are the ``*.toml`` files of the repository's ``protocols/`` folder,
shipped inside the wheel as ``efficacy/_protocols`` (see ``pyproject.toml``). They are
found with :mod:`importlib.resources` in the installed package first and, for an
editable install, in the repository folder next to the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from efficacy.errors import InputError, ProtocolError
from efficacy.io._toml import load_toml, parse_toml
from efficacy.protocol.analysis_params import AnalysisPlan, check_analysis, merge_analysis
from efficacy.protocol.model import Protocol, Requirement
from efficacy.protocol.params import VALIDATION_PARAMETERS, check_scoring, normalise_parameters

__all__ = ["DEFAULT_PROTOCOL", "list_protocols", "load_protocol"]

#: Id of the protocol :func:`efficacy.validate` uses when none is given.
DEFAULT_PROTOCOL = "iso-efficacy-2025"

_TOP_KEYS = ("protocol", "extends", "validation", "scoring", "analysis", "requirements")
_PROTOCOL_KEYS = ("id", "version", "title", "source", "description", "extends")
_REQ_KEYS = (
    "title",
    "text",
    "check",
    "parameters",
    "severity",
    "source",
    "confidence",
    "claims",
)
_MAX_DEPTH = 8


def _builtin_dir() -> Traversable | Path:
    """Return the folder of the built-in protocol files (installed wheel or repository)."""
    try:
        shipped = resources.files("efficacy").joinpath("_protocols")
        if shipped.is_dir():
            return shipped
    except (ModuleNotFoundError, OSError):  # pragma: no cover - defensive
        pass
    return Path(__file__).resolve().parents[2] / "protocols"


@lru_cache(maxsize=1)
def _builtin_files() -> Mapping[str, tuple[str, str]]:
    """Map built-in protocol id -> (file name, TOML text)."""
    folder = _builtin_dir()
    if not folder.is_dir():
        raise ProtocolError(
            f"the built-in protocols folder is missing ({folder}); reinstall efficacy"
        )
    found: dict[str, tuple[str, str]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        text = entry.read_text(encoding="utf-8")
        meta = parse_toml(text, f"built-in protocol file {entry.name}", ProtocolError)
        pid = meta.get("protocol", {}).get("id")
        if isinstance(pid, str):
            found[pid] = (entry.name, text)
    return found


def list_protocols() -> tuple[Protocol, ...]:
    """Return the built-in protocols, sorted by id.

    Returns
    -------
    tuple of Protocol
        Each parsed and checked; ``efficacy protocols list`` shows their id, version and
        title.

    Examples
    --------
    >>> [(p.id, p.version) for p in list_protocols()]  # doctest: +NORMALIZE_WHITESPACE
    [('cn-nmpa-2021', '1.0'), ('eu-655-2013', '1.0'), ('iso-efficacy-2025', '1.0'),
     ('kr-mfds', '1.0'), ('us-fda', '1.0')]
    """
    return tuple(load_protocol(pid) for pid in sorted(_builtin_files()))


def load_protocol(id_or_path: str | Path | Protocol) -> Protocol:
    """Load a protocol by built-in id or from a TOML file.

    Parameters
    ----------
    id_or_path : str, pathlib.Path or Protocol
        A built-in id (``"iso-efficacy-2025"``), or the path of a TOML file. A file may
        ``extends = "<id or path>"`` (top level or in ``[protocol]``) to start from
        another protocol, then override any requirement's ``parameters``, ``severity``,
        ``title``, ``text``, ``source``, ``confidence`` or ``claims``, add requirements
        (which must name their ``check``), and override ``[validation]`` parameters,
        ``[scoring]`` keys and ``[analysis]`` keys (sub-tables key by key). A
        Protocol is returned as is.

    Returns
    -------
    Protocol

    Raises
    ------
    efficacy.errors.ProtocolError
        Unknown id, text that is not UTF-8 or not valid TOML (also TOML nested more
        than 16 levels), or a protocol with problems (unknown keys, wrong types, ...):
        one error lists every problem.
    efficacy.errors.InputError
        The file cannot be read (permission, a folder, a name too long, ...): one line
        naming it and the operating system's reason.

    Examples
    --------
    >>> load_protocol("iso-efficacy-2025").requirement("ISO-DUR").parameters["min_weeks"]
    12
    """
    if isinstance(id_or_path, Protocol):
        return id_or_path
    return _load(id_or_path, depth=0)


def _load(ref: str | Path, depth: int) -> Protocol:
    if depth > _MAX_DEPTH:
        raise ProtocolError(f"extends chain deeper than {_MAX_DEPTH} at {ref!r}: is it a cycle?")
    if not isinstance(ref, str | Path) or not str(ref).strip():
        raise ProtocolError(f"protocol={ref!r}: give a built-in id or a TOML file path")
    builtin = _builtin_files()
    if isinstance(ref, str) and ref in builtin:
        return _builtin(ref, depth)
    path = Path(ref).expanduser()
    try:
        is_file = path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, ...
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"protocol file {path}: cannot be used ({reason})") from None
    if is_file:
        where = f"protocol file {path}"
        return _from_data(load_toml(path, where, ProtocolError), where, path, depth)
    known = ", ".join(sorted(builtin))
    raise ProtocolError(
        f"protocol={str(ref)!r} is neither a built-in protocol ({known}) nor an existing file"
    )


@cache
def _builtin(ref: str, depth: int) -> Protocol:
    """Return the built-in protocol `ref`, parsed and checked once per process.

    A Protocol is immutable all the way down (frozen records, tuples, read-only
    mappings), so every caller can share it; a built-in file that fails raises every
    time (nothing is kept).
    """
    name, text = _builtin_files()[ref]
    where = f"built-in protocol {ref!r} ({name})"
    return _from_data(parse_toml(text, where, ProtocolError), where, None, depth)


def _from_data(data: Mapping[str, Any], where: str, path: Path | None, depth: int) -> Protocol:
    problems, fatal = _shape_problems(data)
    if fatal:
        raise ProtocolError(where, problems)
    meta = {k: v for k, v in data.get("protocol", {}).items() if k in _PROTOCOL_KEYS}
    extends = meta.pop("extends", None) or data.get("extends")
    base = None
    if isinstance(extends, str):
        if path is not None and not Path(extends).is_absolute() and extends.endswith(".toml"):
            extends = str(path.parent / extends)
        base = _load(extends, depth + 1)
    try:
        protocol = _build(data, meta, base, path)
    except ProtocolError as exc:
        if not exc.problems:  # a single-message error: already says what is wrong
            raise
        raise ProtocolError(where, [*problems, *exc.problems]) from None
    if problems:
        raise ProtocolError(where, problems)
    return protocol


def _shape_problems(data: Mapping[str, Any]) -> tuple[list[str], bool]:
    """Unknown keys and wrong section types in the parsed TOML.

    Returns the problems and whether they are fatal (a section of the wrong type, so
    nothing more can be checked); unknown keys are not fatal: the loader goes on and
    reports them together with every parameter problem.
    """
    problems = [f"top-level key {k!r} is unknown" for k in data if k not in _TOP_KEYS]
    meta = data.get("protocol", {})
    fatal = [
        f"[{name}] must be a table"
        for name in ("protocol", "validation", "scoring", "analysis", "requirements")
        if not isinstance(data.get(name, {}), Mapping)
    ]
    if fatal:
        return [*problems, *fatal], True
    problems += [f"[protocol] key {k!r} is unknown" for k in meta if k not in _PROTOCOL_KEYS]
    if "extends" in meta and "extends" in data:
        problems.append("extends is given twice (top level and [protocol]); keep one")
    ext = meta.get("extends", data.get("extends"))
    if ext is not None and (not isinstance(ext, str) or not ext.strip()):
        problems.append("extends must be a protocol id or a file path")
    reqs = data.get("requirements", {})
    bad_reqs = [rid for rid, body in reqs.items() if not isinstance(body, Mapping)]
    if bad_reqs or (ext is not None and (not isinstance(ext, str) or not ext.strip())):
        fatal = [f"[requirements.{rid}] must be a table" for rid in bad_reqs]
        return [*problems, *fatal], True
    for rid, body in data.get("requirements", {}).items():
        problems += [
            f"[requirements.{rid}] key {k!r} is unknown; known: {', '.join(_REQ_KEYS)}"
            for k in body
            if k not in _REQ_KEYS
        ]
    return problems, False


def _build(
    data: Mapping[str, Any], meta: Mapping[str, Any], base: Protocol | None, path: Path | None
) -> Protocol:
    problems: list[str] = []
    reqs: dict[str, Requirement] = {r.id: r for r in base.requirements} if base else {}
    for rid, body in data.get("requirements", {}).items():
        try:
            reqs[rid] = _requirement(rid, body, reqs.get(rid))
        except ProtocolError as exc:
            if not exc.problems:
                raise
            problems += [f"requirement {rid}: {p}" for p in exc.problems]
    params = {**(base.parameters if base else {}), **data.get("validation", {})}
    problems += normalise_parameters("[validation]", VALIDATION_PARAMETERS, params)[1]
    scoring = {**(base.scoring if base else {}), **data.get("scoring", {})}
    problems += check_scoring(scoring)[1]
    inherited = base.analysis.to_dict() if base is not None and base.analysis is not None else {}
    analysis = merge_analysis(inherited, data.get("analysis", {}))
    problems += check_analysis(analysis)[1]
    stem = path.stem if path is not None else "protocol"
    defaults: dict[str, Any] = (
        {
            "id": stem,
            "version": f"{base.version}+{stem}",
            "title": f"{base.title} (as extended by {stem})",
            "source": f"{base.source}; extended by {path.name if path else stem}",
            "description": base.description,
        }
        if base
        else {}
    )
    fields = {**defaults, **meta}
    missing = [k for k in ("id", "version", "title", "source") if k not in fields]
    problems += [f"[protocol] {k} is required" for k in missing]
    if problems:
        raise ProtocolError("protocol", problems)
    try:
        return Protocol(
            id=fields["id"],
            version=str(fields["version"]),
            title=fields["title"],
            source=fields["source"],
            requirements=tuple(reqs.values()),
            parameters=params,
            description=fields.get("description", ""),
            scoring=scoring,
            analysis=AnalysisPlan.from_mapping(analysis) if analysis else None,
            extends=f"{base.id}@{base.version}" if base else None,
            path=path,
        )
    except ProtocolError as exc:
        if not exc.problems:
            raise
        raise ProtocolError("protocol", exc.problems) from None


def _requirement(rid: str, body: Mapping[str, Any], base: Requirement | None) -> Requirement:
    """Build a requirement from its TOML table, on top of `base` when extending."""
    params = body.get("parameters", {})
    if base is None:
        return Requirement(
            id=rid,
            title=body.get("title", ""),
            text=body.get("text", ""),
            check=body.get("check", ""),
            parameters=params,
            severity=body.get("severity", "error"),
            source=body.get("source", ""),
            confidence=body.get("confidence", ""),
            claims=body.get("claims", ()),
        )
    if "check" in body and body["check"] != base.check:
        raise ProtocolError(
            rid,
            [
                f"check cannot change from {base.check!r} when extending; "
                "add a requirement with a new id instead"
            ],
        )
    if not isinstance(params, Mapping):
        raise ProtocolError(rid, ["parameters must be a table of key = value"])
    return Requirement(
        id=rid,
        title=body.get("title", base.title),
        text=body.get("text", base.text),
        check=base.check,
        parameters={**base.parameters, **params},
        severity=body.get("severity", base.severity),
        source=body.get("source", base.source),
        confidence=body.get("confidence", base.confidence),
        claims=body.get("claims", base.claims),
    )
