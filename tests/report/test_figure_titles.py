"""The change figure's panel titles: drawn at the top of their axes, as matplotlib places them.

:func:`efficacy.report.outcome_figures.change_svg` skips matplotlib's automatic title
placement when it would not move a title, and draws again with it when it would: both
ways give the SVG of matplotlib's own placement.
"""

from __future__ import annotations

import matplotlib
import pytest

from efficacy.report import outcome_figures as of
from efficacy.report._figcache import fresh_figure_memo

_VISITS = [{"visit": "W0", "week": 0}, {"visit": "W4", "week": 4}, {"visit": "W12", "week": 12}]


def _block(scale: float, label: str = "Skin elasticity R2") -> dict:
    def cell(v: float) -> dict:
        return {"estimate": v, "conf_low": v - scale, "conf_high": v + scale}

    rows = [
        {"visit": v, "arms": {"ACTIVE": cell(k * scale), "VEHICLE": cell(-k * scale / 2)}}
        for k, v in enumerate(("W4", "W12"), start=1)
    ]
    pop = {"arms": ["ACTIVE", "VEHICLE"], "lsmeans": rows}
    return {"label": label, "direction": "higher", "unit": "ratio", "populations": [pop]}


def _auto(blocks: list, label: str) -> str:
    """The figure as matplotlib places the titles itself."""
    return of._change_svg(blocks, _VISITS, label, of._RC)[0]


def test_usual_figures_skip_the_placement_with_the_same_svg() -> None:
    """Eight panels in two rows of four, long wrapped titles with their direction tags."""
    labels = [
        "Skin elasticity R2",
        "Transepidermal water loss",
        "Skindex-16 emotions",
        "Hydration (Corneometer)",
        "Wrinkle depth, crow's feet (profilometry)",
        "FACE-Q satisfaction with skin",
        "Erythema index",
        "Melanin index",
    ]
    blocks = [_block(0.05 * (i + 1), label) for i, label in enumerate(labels)]
    blocks[2]["direction"] = "lower"
    fast, at_top = of._change_svg(blocks, _VISITS, "x", {**of._RC, "axes.titley": 1.0})
    assert at_top
    assert fast == _auto(blocks, "x")


@pytest.mark.parametrize(
    ("scale", "rc", "why"),
    [
        (1e-7, {}, "y-axis offset text 1e-7"),
        (0.05, {"xtick.labeltop": True, "xtick.top": True}, "x tick labels at the top"),
        (0.05, {"axes.titlepad": -20.0}, "titles inside the axes"),
    ],
)
def test_titles_matplotlib_would_move_are_drawn_by_matplotlib(scale, rc, why) -> None:
    blocks = [_block(scale)]
    with matplotlib.rc_context(rc):
        fixed = of._change_svg(blocks, _VISITS, why, {**of._RC, "axes.titley": 1.0})
        auto = _auto(blocks, why)
        with fresh_figure_memo():
            drawn = of.change_svg(blocks, _VISITS, why)
    assert fixed[1] is False  # the check saw it
    assert drawn == auto
    if scale == 1e-7:
        assert fixed[0] != auto  # the offset text moved the titles up: the check matters


def test_a_global_title_position_is_kept() -> None:
    blocks = [_block(0.05)]
    with matplotlib.rc_context({"axes.titley": 1.2}), fresh_figure_memo():
        drawn = of.change_svg(blocks, _VISITS, "y")
        assert drawn == _auto(blocks, "y")
    with fresh_figure_memo():
        assert of.change_svg(blocks, _VISITS, "y") != drawn
