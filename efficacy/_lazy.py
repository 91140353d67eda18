"""Lazy module attributes (PEP 562) for the package's ``__init__`` files.

Public names are imported on first access, so ``import efficacy`` and the CLI start
quickly and a sub-package is loaded only when one of its names is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for `package`.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : Mapping[str, str]
        Public name -> module that defines it.
    public : sequence of str
        The package's ``__all__`` (what ``dir()`` lists).

    Notes
    -----
    A resolved name is stored in the package's namespace, so the import happens once.
    """

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return list(public)

    return getattr_, dir_
