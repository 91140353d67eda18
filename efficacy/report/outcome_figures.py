"""Figures of report sections 6 and 7 (matplotlib, inline SVG), drawn from the report JSON.

* :func:`change_svg`: LS mean change from baseline by week with 95% CIs, one panel per
  endpoint (ITT), one line per arm (split-face: the within-person difference, treated
  minus control site, with a zero line).
* :func:`forest_svg`: Hedges' g with its 95% CI at the final visit for every endpoint
  (ITT filled circles, per protocol open squares): g is unit-free, so endpoints measured
  in ratios, arbitrary units, micrometres and 0-100 scores share one honest axis.

Palette: Okabe-Ito (colour-blind safe), with marker shape and line style as a second
cue. Text stays text in the SVG (``svg.fonttype = none``, DejaVu Sans); mathtext is off,
so a ``$`` in an arm label prints as is; matplotlib escapes every text. Output is
deterministic (fixed hash salt, no date), so each figure is drawn once per process for
equal inputs and settings (:mod:`efficacy.report._figcache`).
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from efficacy.report._figcache import memo_figure
from efficacy.report._format import unit_text

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["PALETTE", "change_svg", "forest_svg", "outcome_figures"]

#: Okabe & Ito (2008) colour-blind-safe colours: blue, vermillion, green, purple, orange.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
_MARKERS = ("o", "s", "^", "D", "v", "P")
_STYLES = ("-", "--", "-.", ":", "-", "--")
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "efficacy-report",
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 7.5,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.parse_math": False,
    "axes.unicode_minus": True,
    "xtick.major.size": 0.0,  # no tick marks (grid lines instead): far fewer SVG nodes
    "ytick.major.size": 0.0,
    "xtick.major.pad": 2.0,
    "ytick.major.pad": 2.0,
}
_SVG_NS = "http://www.w3.org/2000/svg"
_WIDTH = 7.0  # inches: the text width of an A4 page with the report's margins
# Fixed layout in inches (tight_layout would draw every figure twice): one row of
# panels, its title block, the space under the axes and left of them, the legend band.
_ROW_H, _TITLE_H, _BOTTOM, _LEFT, _LEGEND_H = 2.0, 0.48, 0.36, 0.62, 0.3


def _svg(fig: Any, label: str) -> str:
    """Serialise `fig` as an inline SVG element that scales to its container."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    size = r'<svg([^>]*?) width="[^"]*" height="[^"]*"'
    text = re.sub(size, r'<svg\1 width="100%"', text, count=1)
    # matplotlib's <style>*{...}</style> would be a document-wide rule in HTML: drop it
    text = re.sub(r"<style[^>]*>.*?</style>", "", text, count=1, flags=re.S)
    text = text.replace("<svg", '<svg stroke-linejoin="round" stroke-linecap="butt"', 1)
    title = label.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _lean(text).replace("<svg", f'<svg role="img" aria-label="{title}"', 1)


def _lean(text: str) -> str:
    """Drop matplotlib's metadata and bare ``<g>`` / ``<g id>`` wrappers (same drawing).

    Fewer nodes make weasyprint draw the figure several times faster, and no ``id``
    repeats across the figures of one HTML page (clip paths keep theirs: hashed).
    matplotlib's ``style="fill: ...; stroke: ..."`` becomes presentation attributes
    (``fill="..."``, same drawing): weasyprint then reads them instead of running its
    CSS parser on each of the figure's several hundred nodes.
    """
    from xml.etree import ElementTree as ET

    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(text)
    g_tag, meta = f"{{{_SVG_NS}}}g", f"{{{_SVG_NS}}}metadata"

    def flatten(node: ET.Element) -> list[ET.Element]:
        kids: list[ET.Element] = []
        for child in list(node):
            if child.tag == meta:
                continue
            _unstyle(child)
            if child.tag == g_tag and set(child.attrib) <= {"id"}:
                kids += flatten(child)
            else:
                child[:] = flatten(child)
                kids.append(child)
        return kids

    root[:] = flatten(root)
    return ET.tostring(root, encoding="unicode")


def _title(label: str, tag: str, width: int) -> str:
    """`label` wrapped at `width` characters, then `tag` (e.g. "(↑ better)") kept whole."""
    lines = textwrap.wrap(label, width) or [""]
    if tag:
        if len(lines[-1]) + 1 + len(tag) <= width:
            lines[-1] += " " + tag
        else:
            lines.append(tag)
    return "\n".join(lines)


def _unstyle(node: Any) -> None:
    """Move `node`'s ``style`` declarations into attributes (a style declaration wins)."""
    style = node.attrib.pop("style", None)
    if not style:
        return
    for declaration in style.split(";"):
        name, sep, value = declaration.partition(":")
        if sep and name.strip():
            node.set(name.strip(), value.strip())


def _weeks(visits: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    return {v["visit"]: v["week"] for v in visits if v.get("week") is not None}


def _panel_title(block: Mapping[str, Any], wrap: int) -> str:
    better = {"higher": "\u2191 better", "lower": "\u2193 better"}.get(block["direction"], "")
    return _title(block["label"], f"({better})" if better else "", wrap)


def _fit_title(ax: Any, block: Mapping[str, Any], right: float, wrap: int) -> None:
    """Re-wrap the panel title narrower until it ends left of `right` (display units).

    Character counts misjudge proportional type ("Skindex-16 emotions (\u2193 better)" ran
    past the figure's edge): the drawn extent decides.
    """
    renderer = ax.figure.canvas.get_renderer()
    title = ax.get_title(loc="left")
    drawn = ax.set_title(title, loc="left", fontsize=7.8)  # the title's Text
    while wrap > 8 and drawn.get_window_extent(renderer).x1 > right:
        wrap -= 1
        text = _panel_title(block, wrap)
        if text != title:
            drawn = ax.set_title(text, loc="left", fontsize=7.8)
            title = text


def _panel(
    ax: Any, block: Mapping[str, Any], weeks: Mapping[str, float], wrap: int = 30
) -> list[Any]:
    """Draw one endpoint's ITT LS means by arm (title wrapped at `wrap` characters)."""
    pop = block["populations"][0]
    arms = pop["arms"]
    width = 0.12 * max(1.0, max(weeks.values(), default=1.0) / 12)
    handles = []
    for i, arm in enumerate(arms):
        xs, ys, lo, hi = [], [], [], []
        for row in pop["lsmeans"]:
            cell = row["arms"].get(arm)
            if cell is None or cell["estimate"] is None or row["visit"] not in weeks:
                continue
            xs.append(weeks[row["visit"]] + (i - (len(arms) - 1) / 2) * width)
            ys.append(cell["estimate"])
            lo.append(
                cell["estimate"]
                - (cell["conf_low"] if cell["conf_low"] is not None else cell["estimate"])
            )
            hi.append(
                (cell["conf_high"] if cell["conf_high"] is not None else cell["estimate"])
                - cell["estimate"]
            )
        colour = PALETTE[i % len(PALETTE)]
        h = ax.errorbar(
            xs,
            ys,
            yerr=[lo, hi],
            color=colour,
            marker=_MARKERS[i % 6],
            markersize=3.5,
            linestyle=_STYLES[i % 6],
            linewidth=1.2,
            capsize=0,
            elinewidth=0.9,
            label=arm,
        )
        handles.append(h)
    ax.axhline(0, color="#777777", linewidth=0.6, zorder=0)
    ticks = sorted({weeks[r["visit"]] for r in pop["lsmeans"] if r["visit"] in weeks})
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_xlim(0, (max(ticks) if ticks else 1) * 1.06)
    ax.set_xlabel("Week")
    what = "Difference in change" if "(within subject)" in " ".join(arms) else "Change"
    ax.set_ylabel(f"{what} ({unit_text(block['unit'])})" if block["unit"] else what)
    ax.set_title(_panel_title(block, wrap), loc="left", fontsize=7.8)
    ax.grid(color="#e5e5e5", linewidth=0.5)
    return handles


@memo_figure(matplotlib_rc=True)
def change_svg(
    blocks: Sequence[Mapping[str, Any]], visits: Sequence[Mapping[str, Any]], label: str
) -> str:
    """Small multiples of LS mean change from baseline (ITT) with 95% CIs, per endpoint.

    The panel titles are drawn at the top of their axes (``axes.titley = 1``) rather than
    placed by matplotlib, which measures every y axis first to see whether a title must
    move up (a tenth of the drawing). It moves one only above decorations at the top of
    the axes, which these panels lack: the drawing checks that with the renderer
    (:func:`_titles_at_top`) and, should a title have needed to move (an x axis at the
    top or a y-axis offset text, from the global settings or the data), the figure is
    drawn again with matplotlib's own placement, so the SVG is the same either way.
    """
    import matplotlib

    if matplotlib.rcParams["axes.titley"] is None:  # automatic placement asked for
        svg, at_top = _change_svg(blocks, visits, label, {**_RC, "axes.titley": 1.0})
        if at_top:
            return svg
    return _change_svg(blocks, visits, label, _RC)[0]


def _titles_at_top(fig: Any, renderer: Any) -> bool:
    """Whether matplotlib's automatic placement would leave every title at y = 1.

    It would (``Axes._update_title_position``) unless the x axis has ticks or its label
    at the top, a y-axis offset text is shown (it may overlap the title), or a title
    reaches below the top of its axes.
    """
    for ax in fig.axes:
        if ax.xaxis.get_ticks_position() in ("top", "unknown"):
            return False
        if ax.xaxis.get_label_position() == "top":
            return False
        offset = ax.yaxis.offsetText
        if offset.get_visible() and offset.get_text():
            return False
        names = ("title", "_left_title", "_right_title")
        titles: list[Any] = [getattr(ax, name, None) for name in names]
        if any(title is None for title in titles):  # another matplotlib: cannot tell
            return False
        top = ax.get_window_extent(renderer).ymax
        for title in titles:
            if title.get_text() and title.get_window_extent(renderer).ymin < top:
                return False
    return True


def _change_svg(
    blocks: Sequence[Mapping[str, Any]],
    visits: Sequence[Mapping[str, Any]],
    label: str,
    rc: dict[RcKeyType, Any],
) -> tuple[str, bool]:
    """Draw :func:`change_svg` with settings `rc`; also say :func:`_titles_at_top`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weeks = _weeks(visits)
    n = len(blocks)
    # 7-8 panels in two rows of four: the figure then fits under the forest plot
    cols = 4 if n > 6 else 3 if n > 4 else max(1, min(n, 2))
    rows = -(-n // cols)
    height = _ROW_H * rows + _LEGEND_H
    at_top: list[bool] = []
    with matplotlib.rc_context(rc):
        fig = plt.figure(figsize=(_WIDTH, height))
        fig.canvas.mpl_connect(
            "draw_event", lambda event: at_top.append(_titles_at_top(fig, event.renderer))
        )
        handles: list[Any] = []
        col_w = _WIDTH / cols
        for i, block in enumerate(blocks):
            r, c = divmod(i, cols)
            top = _LEGEND_H + r * _ROW_H + _TITLE_H  # inches from the top
            rect = (
                (c * col_w + _LEFT) / _WIDTH,
                1 - (top + _ROW_H - _TITLE_H - _BOTTOM) / height,
                (col_w - _LEFT - 0.12) / _WIDTH,
                (_ROW_H - _TITLE_H - _BOTTOM) / height,
            )
            ax = fig.add_axes(rect)
            wrap = 23 if cols > 3 else 30
            drawn = _panel(ax, block, weeks, wrap)
            # a title may run over the next panel's left margin, not into its title
            # nor past the figure's edge
            right = _WIDTH if c == cols - 1 else (c + 1) * col_w + _LEFT - 0.1
            _fit_title(ax, block, (right - 0.04) * fig.dpi, wrap)
            handles = handles or drawn  # the legend names the first panel's arms
        if handles:
            fig.legend(
                handles=handles,
                loc="upper center",
                ncol=len(handles),
                frameon=False,
                bbox_to_anchor=(0.5, 1.0),
            )
        svg = _svg(fig, label)
    return svg, all(at_top) and bool(at_top)


@memo_figure(matplotlib_rc=True)
def forest_svg(
    summary: Sequence[Mapping[str, Any]], label: str, level: str = "95", split: bool = False
) -> str:
    """Hedges' g (95% CI) at the final visit per endpoint: ITT circles, PP squares.

    One series per population and comparison: with several active arms each comparison
    has its own marker and legend entry, so a reader can tell the arms apart. `split`:
    the trial is split-face (the axis reads treated minus control site).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary if r.get("hedges_g") is not None]
    endpoints = list(dict.fromkeys(r["endpoint"] for r in rows))
    meta = {r["endpoint"]: r for r in rows}
    series = list(dict.fromkeys((r["population"], r["comparison"]) for r in rows))
    several = len({c for _, c in series}) > 1
    height = 0.24 * len(endpoints) * (2 if several else 1) + (1.2 if several else 0.9)
    with matplotlib.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(_WIDTH, height))
        for j, (pop, comparison) in enumerate(series):
            sel = [r for r in rows if (r["population"], r["comparison"]) == (pop, comparison)]
            shift = (j - (len(series) - 1) / 2) * (0.18 if several else 0.22)
            ys = [endpoints.index(r["endpoint"]) + shift for r in sel]
            gs = [r["hedges_g"] for r in sel]
            err = [
                [r["hedges_g"] - r["g_low"] for r in sel],
                [r["g_high"] - r["hedges_g"] for r in sel],
            ]
            ax.errorbar(
                gs,
                ys,
                xerr=err,
                fmt=_MARKERS[j % 6],
                color=PALETTE[j % len(PALETTE)],
                markerfacecolor=PALETTE[j % len(PALETTE)] if j == 0 else "white",
                markersize=4,
                capsize=0,
                elinewidth=1.0,
                label=sel[0]["population_label"] + (f", {comparison}" if several else ""),
            )
        ax.axvline(0, color="#444444", linewidth=0.8)
        arrows = {"higher": " \u2191", "lower": " \u2193"}
        ax.set_yticks(range(len(endpoints)))
        ax.set_yticklabels(
            [
                textwrap.fill(meta[e]["label"] + arrows.get(meta[e]["direction"], ""), 40)
                + (
                    " [P]"
                    if meta[e]["role"] == "primary"
                    else " [K]"
                    if meta[e]["role"] == "key secondary"
                    else ""
                )
                for e in endpoints
            ]
        )
        ax.set_ylim(len(endpoints) - 0.5, -0.5)
        contrast = "treated \u2212 control site" if split else "active \u2212 control"
        ax.set_xlabel(f"Hedges' g at the final visit ({contrast}), {level}% CI")
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.5)
        # the legend sits above the axes, where it cannot hide an interval
        ax.legend(
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=2 if several else len(series),
            frameon=False,
            borderaxespad=0.1,
        )
        longest = max(
            (len(line) for t in ax.get_yticklabels() for line in t.get_text().split("\n")),
            default=10,
        )
        left = min(0.55 * _WIDTH, 0.15 + 0.052 * longest)
        fig.subplots_adjust(
            left=left / _WIDTH,
            right=0.98,
            top=1 - (0.5 if several else 0.28) / height,  # two legend rows when several
            bottom=0.4 / height,
        )
        return _svg(fig, label)


def outcome_figures(report: Mapping[str, Any]) -> dict[str, str]:
    """SVGs of sections 6 and 7 from the report data (empty when there is no analysis).

    Returns
    -------
    dict
        ``change_efficacy``, ``forest`` (section 6) and ``change_pros`` (section 7), each
        present only when it has something to show.
    """
    out: dict[str, str] = {}
    eff = (report.get("efficacy") or {}).get("result")
    if not eff:
        return out
    visits = eff["visits"]
    trial = report["title_block"]["trial_id"]
    if eff["endpoints"] and visits:
        out["change_efficacy"] = change_svg(
            eff["endpoints"], visits, f"LS mean change from baseline by week, {trial}"
        )
    if any(r.get("hedges_g") is not None for r in eff["summary"]):
        level = str(eff["analysis"].get("confidence_pct", "95"))
        split = report["title_block"].get("design") == "split_face"
        out["forest"] = forest_svg(
            eff["summary"], f"Hedges' g forest plot, {trial}", level, split=split
        )
    pros = (report.get("pros") or {}).get("result")
    if pros and pros["endpoints"] and visits:
        out["change_pros"] = change_svg(
            pros["endpoints"], visits, f"PRO LS mean change from baseline by week, {trial}"
        )
    return out
