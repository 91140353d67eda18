"""`blas_threads` sets a limit once per nesting and restores the previous one."""

from __future__ import annotations

import contextlib

import pytest

from efficacy.mmrm import _threads


class _Recorder:
    """A stand-in BLAS controller recording the limits set and restored."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    @contextlib.contextmanager
    def limit(self, *, limits: int, user_api: str):
        assert user_api == "blas"
        self.calls.append(("set", limits))
        try:
            yield
        finally:  # as threadpoolctl's limiter, which restores on any exit
            self.calls.append(("restore", limits))


def test_nested_blocks_switch_only_when_the_limit_changes(monkeypatch) -> None:
    rec = _Recorder()
    monkeypatch.setattr(_threads, "_CONTROLLER", rec)
    with _threads.blas_threads(1):
        # already 1: no switch; None: left alone
        with _threads.blas_threads(1), _threads.blas_threads(None):
            pass
        # a different limit is set (once), then restored
        with _threads.blas_threads(2), _threads.blas_threads(2):
            pass
        with _threads.blas_threads(1):  # back in the outer 1: no switch
            pass
    assert rec.calls == [("set", 1), ("set", 2), ("restore", 2), ("restore", 1)]
    with _threads.blas_threads(1):  # after the outer block: set again
        pass
    assert rec.calls[4:] == [("set", 1), ("restore", 1)]


def test_an_error_inside_restores_the_outer_limit(monkeypatch) -> None:
    rec = _Recorder()
    monkeypatch.setattr(_threads, "_CONTROLLER", rec)
    with pytest.raises(ValueError, match="inner"), _threads.blas_threads(1):
        raise ValueError("inner")
    with _threads.blas_threads(1):
        pass
    assert rec.calls == [("set", 1), ("restore", 1), ("set", 1), ("restore", 1)]
