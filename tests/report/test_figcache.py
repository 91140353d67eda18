"""The figure memo (efficacy.report._figcache): keyed on everything a figure depends on."""

from __future__ import annotations

import gc

import matplotlib
import pytest

from efficacy._gc import gc_paused
from efficacy.report import _figcache
from efficacy.report._figcache import (
    MAX_ENTRIES,
    clear_figure_memo,
    fresh_figure_memo,
    memo_figure,
)


def _counting(matplotlib_rc: bool) -> tuple[list[object], object]:
    """A memoised stand-in drawing function that records each real call."""
    calls: list[object] = []

    @memo_figure(matplotlib_rc=matplotlib_rc)
    def draw(data: object, label: str = "") -> str:
        calls.append(data)
        return f"<svg>{data!r}{label}{matplotlib.rcParams['lines.linewidth']}</svg>"

    return calls, draw


def test_equal_inputs_draw_once_and_different_inputs_draw_again() -> None:
    calls, draw = _counting(matplotlib_rc=False)
    first = draw([{"a": 1.0, "b": None}], "x")
    again = draw([{"a": 1.0, "b": None}], "x")
    assert again is first and len(calls) == 1
    # value for value: 1 vs 1.0, key order, label, keyword vs positional all count
    draw([{"a": 1, "b": None}], "x")
    draw([{"b": None, "a": 1.0}], "x")
    draw([{"a": 1.0, "b": None}], "y")
    draw([{"a": 1.0, "b": None}], label="x")
    assert len(calls) == 5
    with fresh_figure_memo():  # the other tests' figures stay memoised
        clear_figure_memo()
        draw([{"a": 1.0, "b": None}], "x")
        assert len(calls) == 6


def test_a_fresh_memo_draws_anew_then_gives_the_earlier_memo_back() -> None:
    calls, draw = _counting(matplotlib_rc=False)
    first = draw({"a": 1})
    with fresh_figure_memo():
        again = draw({"a": 1})
        assert again == first and again is not first and len(calls) == 2
        assert draw({"b": 2}) is draw({"b": 2}) and len(calls) == 3  # memoised inside too
    assert draw({"a": 1}) is first and len(calls) == 3  # the memo of before is back
    draw({"b": 2})
    assert len(calls) == 4  # what was drawn inside the block is forgotten
    with pytest.raises(ZeroDivisionError), fresh_figure_memo():
        _ = 1 / 0
    assert draw({"a": 1}) is first and len(calls) == 4  # given back on error too


def test_a_changed_global_matplotlib_setting_is_a_different_figure() -> None:
    calls, draw = _counting(matplotlib_rc=True)
    before = draw({"a": 1})
    with matplotlib.rc_context({"lines.linewidth": 7.25}):
        during = draw({"a": 1})
    assert len(calls) == 2 and during != before and "7.25" in during
    assert draw({"a": 1}) is before and len(calls) == 2
    # the backend is not part of the key: the figures choose theirs
    assert "backend" not in _figcache._rc_state()


def test_arguments_json_cannot_express_are_drawn_every_time() -> None:
    calls, draw = _counting(matplotlib_rc=False)
    odd = {1, 2}
    assert draw(odd) == draw(odd)
    assert len(calls) == 2


def test_the_memo_keeps_the_most_recent_outputs_only() -> None:
    calls, draw = _counting(matplotlib_rc=False)
    for i in range(MAX_ENTRIES + 1):
        draw(i)
    draw(MAX_ENTRIES)  # most recent: kept
    assert len(calls) == MAX_ENTRIES + 1
    draw(0)  # the oldest was dropped
    assert len(calls) == MAX_ENTRIES + 2


@pytest.mark.parametrize("was_on", [True, False])
def test_the_collector_is_paused_while_drawing_then_restored(was_on: bool) -> None:
    seen: list[bool] = []

    @memo_figure(matplotlib_rc=False)
    def draw(data: int) -> str:
        seen.append(gc.isenabled())
        return str(data)

    (gc.enable if was_on else gc.disable)()
    try:
        draw(1)
        assert seen == [False] and gc.isenabled() is was_on
        with pytest.raises(ZeroDivisionError), gc_paused():
            assert not gc.isenabled()
            _ = 1 / 0
        assert gc.isenabled() is was_on
    finally:
        gc.enable()
