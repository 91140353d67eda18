"""Read TOML files (``trial.toml`` and protocol files) safely: one function for both.

Every problem is one line naming the file: an OS error (missing, a folder, permission,
a name too long, a symbolic-link loop) is an :class:`~efficacy.errors.InputError`; text
that is not UTF-8 or not TOML, or TOML nested deeper than :data:`MAX_DEPTH` levels, is
the caller's error class (``InputError`` for a manifest, ``ProtocolError`` for a
protocol). Deep nesting is refused both while parsing (``tomllib`` recurses, so 1,000
nested arrays raise RecursionError) and after (dotted keys build deep tables without
recursing), so that no later step recurses into a hostile structure.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from efficacy.errors import EfficacyError, InputError

__all__ = ["MAX_DEPTH", "load_toml", "parse_toml"]

#: Deepest nesting of tables and arrays accepted (the top-level table counts as 1).
MAX_DEPTH = 16


def _too_deep(data: dict[str, Any]) -> bool:
    """Whether tables/arrays nest deeper than MAX_DEPTH (iterative: no recursion)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return False


def parse_toml(text: str, where: str, error: type[EfficacyError] = InputError) -> dict[str, Any]:
    """Parse TOML `text`; `where` names its source in the one-line message.

    Raises
    ------
    EfficacyError
        Of class `error`: invalid TOML, or nesting deeper than :data:`MAX_DEPTH`.
    """
    deep = (
        f"{where}: not valid TOML: it is nested more than {MAX_DEPTH} levels deep; a trial "
        "or protocol file needs a few: flatten the tables and arrays"
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML: {exc}; fix the syntax") from None
    except RecursionError:
        raise error(deep) from None
    if _too_deep(data):
        raise error(deep)
    return data


def load_toml(
    path: Path, where: str | None = None, error: type[EfficacyError] = InputError
) -> dict[str, Any]:
    """Read and parse the TOML file `path` (UTF-8; a byte-order mark is allowed).

    Parameters
    ----------
    path : pathlib.Path
        The file.
    where : str, optional
        How messages name it (default: the path).
    error : type, default InputError
        Error class for text that is not UTF-8 or not valid TOML.

    Raises
    ------
    InputError
        The file cannot be read (any OS error), with its reason.
    EfficacyError
        Of class `error`: not UTF-8, not TOML, nested too deeply.
    """
    where = str(path) if where is None else where
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"{where}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save it as UTF-8"
        ) from None
    return parse_toml(text, where, error)
