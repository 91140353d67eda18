"""A small, deterministic TOML writer for the manifests the simulator produces.

Only what ``trial.toml`` needs: tables, arrays of tables, strings, booleans, integers,
floats and flat arrays of those. Keys are written in insertion order, so the same
manifest always gives the same bytes (the standard library reads TOML but cannot write
it, and the project does not depend on a TOML writer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from efficacy.errors import EfficacyError

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(_scalar(v, where) for v in value) + "]"
    raise EfficacyError(
        f"manifest value at {where!r} has type {type(value).__name__}; use str, int, float, "
        "bool, a list of those, a table (dict) or a list of tables"
    )


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(isinstance(v, Mapping) for v in value)
    )


def _emit(table: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    subtables: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, Mapping) or _is_table_array(value):
            subtables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_scalar(value, '.'.join((*path, key)))}")
    for key, value in subtables:
        sub_path = (*path, key)
        dotted = ".".join(_key(k) for k in sub_path)
        if isinstance(value, Mapping):
            lines.append("")
            lines.append(f"[{dotted}]")
            _emit(value, sub_path, lines)
        else:
            for item in value:
                lines.append("")
                lines.append(f"[[{dotted}]]")
                _emit(item, sub_path, lines)


def dumps(document: Mapping[str, Any]) -> str:
    """Serialise `document` as TOML text (keys in insertion order, LF line ends).

    Parameters
    ----------
    document : Mapping
        Nested mappings (tables), lists of mappings (arrays of tables) and scalars.

    Returns
    -------
    str
        TOML text ending with a newline; ``tomllib.loads`` returns `document` again.
    """
    lines: list[str] = []
    _emit(document, (), lines)
    while lines and lines[0] == "":
        lines.pop(0)
    return "\n".join(lines) + "\n"
