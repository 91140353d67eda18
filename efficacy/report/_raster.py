"""The report's figures as PNG images, for the DOCX writer.

The HTML inlines each figure as SVG (:func:`efficacy.report.figures.flow_svg`,
:func:`efficacy.report.outcome_figures.outcome_figures`); Word documents need raster
images, so the very same SVG is rasterised by cairosvg (on the system's cairo library).
The PNG bytes depend only on the SVG (cairo writes no time stamp), so the DOCX stays
byte-reproducible, and each SVG is rasterised once per process
(:mod:`efficacy.report._figcache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from efficacy.errors import EfficacyError
from efficacy.report._figcache import memo_figure

__all__ = ["PNG_WIDTH", "figure_pngs", "svg_png"]

#: Width in pixels of every rasterised figure: 240 dpi over the 6.7 inches of a portrait
#: A4 page's text width (print quality; 2000 pixels took twice as long to rasterise).
PNG_WIDTH = 1600


@memo_figure(matplotlib_rc=False)
def svg_png(svg: str, width: int = PNG_WIDTH) -> bytes:
    """Rasterise `svg` to PNG bytes `width` pixels wide (height from its view box).

    Raises
    ------
    EfficacyError
        cairosvg (or the cairo library it loads) is not installed.
    """
    try:
        import cairosvg
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on the environment
        raise EfficacyError(
            "DOCX figures need cairosvg and the cairo library: pip install cairosvg "
            "(and apt-get install libcairo2), or choose --format html,pdf,json,rtf"
        ) from exc
    png: bytes = cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=width)
    return png


def figure_pngs(data: Mapping[str, Any]) -> dict[str, bytes]:
    """PNG of the flow diagram (``flow``), each outcome figure and subgroup forest plot."""
    from efficacy.report.figures import flow_svg
    from efficacy.report.outcome_figures import outcome_figures
    from efficacy.report.subgroup_figures import subgroup_forest_svg

    svgs = {"flow": flow_svg(data["flow"]), **outcome_figures(data)}
    sub = data.get("subgroups") or {}
    if sub.get("status") == "run":
        for i in range(len(sub.get("comparisons") or ())):
            svgs[f"subgroups_{i}"] = subgroup_forest_svg(sub, i)
    return {key: svg_png(svg) for key, svg in svgs.items()}
