"""One numbering in every format, and figures and tables that a reader can read.

The HTML (and so the PDF) and the DOCX/RTF outline (:func:`efficacy.report._blocks.sections`)
must show the same sections with the same numbers in the same order: the synopsis first
and unnumbered, 1-9 after it, with analysis populations and protocol deviations inside
section 3 and the estimands (6.1) and subgroups inside section 6. Built from the session's
sample reports (tests/conftest.py), so nothing is analysed here.
"""

from __future__ import annotations

import html
import re
from typing import Any
from unittest import mock

import pytest

from efficacy.report import outcome_figures as of
from efficacy.report._blocks import Heading, Table, sections, tlf_tables
from efficacy.report._figcache import fresh_figure_memo
from efficacy.report.shells import ShellRow, TableShell, decimal_layout


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _html_headings(page: str, tag: str) -> list[str]:
    return [_text(h) for h in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", page, flags=re.S)]


def _key(text: str) -> tuple[int, int]:
    m = re.match(r"^(\d+)\.(\d+)", text)
    assert m is not None, text
    return int(m.group(1)), int(m.group(2))


@pytest.mark.parametrize("bundle", ["parallel_12wk", "split_face_12wk"])
def test_html_and_docx_outline_share_section_numbers(samples, bundle: str) -> None:
    page = samples.html(bundle)
    h2 = _html_headings(page, "h2")
    out = sections(samples.report(bundle).data)
    assert h2 == [heading for _key_, heading, _b in out]
    assert h2[0] == "Synopsis"
    # the claims matrix (decision support) sits unnumbered between harms and appendices
    numbered = [h for h in h2[1:] if h != "Claims by jurisdiction"]
    assert [int(h.split(".")[0]) for h in numbered] == list(range(1, 10))
    assert h2[-2:] == ["Claims by jurisdiction", "9. Appendices"]
    assert h2[6].startswith("6. Efficacy")
    # numbered subsections: the same, in increasing order, in both renderings
    h3 = [h for h in _html_headings(page, "h3") if re.match(r"^\d+\.\d+ ", h)]
    sub = [
        b.text
        for _k, _h, blocks in out
        for b in blocks
        if isinstance(b, Heading) and re.match(r"^\d+\.\d+ ", b.text)
    ]
    # same numbers (the HTML sets an endpoint's role apart, the DOCX in brackets)
    assert [h.split(" ")[0] for h in h3] == [h.split(" ")[0] for h in sub]
    assert [_key(h) for h in h3] == sorted(_key(h) for h in h3)
    assert h3[0] == "6.1 Estimands (ICH E9(R1))"
    assert h3[1] == "6.2 Estimates of all endpoints"
    assert [h for h in h3 if h.endswith("Subgroup analyses of the primary endpoint")]
    # the parts sit inside their host, once
    keys = [k for k, _h, _b in out]
    assert not {"populations", "deviations", "estimands", "subgroups"} & set(keys)
    flow = next(b for k, _h, b in out if k == "flow")
    assert [b.text for b in flow if isinstance(b, Heading)][-2:] == [
        "Analysis populations",
        "Protocol deviations",
    ]


def test_table_numbers_are_unique_and_rtf_leaves_out_the_synopsis(samples) -> None:
    data = samples.report("parallel_12wk").data
    labels = []
    for _k, _h, blocks in sections(data):
        for b in blocks:
            if isinstance(b, Table):
                m = re.match(r"^(Table|Listing) (\S+) ", b.shell.title)
                labels.append(b.number or (m.group(2) if m else ""))
    numbered = [x for x in labels if x]
    assert len(numbered) == len(set(numbered))
    # the shells' own numbers are kept (3.1 populations, 8.1 harms), not doubled
    assert "3.1" in numbered and "8.1" in numbered and "10.1" not in numbered
    assert not [t for t in tlf_tables(data) if t.shell.id.startswith("synopsis")]


def test_change_figure_panel_titles_stay_inside_their_space(samples) -> None:
    """Every panel title ends inside the figure and before the next panel's title."""
    data = samples.report("parallel_12wk").data
    seen: list[tuple[str, float, float]] = []
    real = of._svg

    def spy(fig: Any, label: str) -> str:
        renderer = fig.canvas.get_renderer()
        lefts = sorted({round(ax.get_position().x0 * fig.bbox.width, 1) for ax in fig.axes})
        for ax in fig.axes:
            title = ax.set_title(ax.get_title(loc="left"), loc="left", fontsize=7.8)
            x0 = ax.get_position().x0 * fig.bbox.width
            later = [x for x in lefts if x > x0 + 1]
            limit = min(later) if later else fig.bbox.width
            seen.append((title.get_text(), title.get_window_extent(renderer).x1, limit))
        return str(real(fig, label))

    # drawn figures are memoised: draw them again, through the spy
    with fresh_figure_memo(), mock.patch.object(of, "_svg", spy):
        of.outcome_figures(data)
    titles = [t for t, _x1, _lim in seen if t]
    assert any(t.startswith("Cutometer R5") for t in titles)
    assert any(t.startswith("Skindex-16 emotions") for t in titles)
    over = [(t, round(x1), round(lim)) for t, x1, lim in seen if t and x1 > lim]
    assert over == []


def test_text_columns_are_left_and_words_never_take_a_decimal_indent() -> None:
    synopsis = TableShell(
        "synopsis",
        "Synopsis",
        ("Item", "Summary"),
        (
            ShellRow(("Trial", "T-1: a randomised, vehicle-controlled trial of a serum")),
            ShellRow(("Design", "randomised, controlled")),
        ),
    )
    assert synopsis.alignments == ("l", "l")
    sub = TableShell(
        "subgroups",
        "Subgroups",
        ("Subgroup", "n", "Difference (95% CI)"),
        (
            ShellRow(("Type I", "2, 4", "not estimable")),
            ShellRow(("Type II", "16, 19", "0.0528 (0.0382, 0.0674)")),
            ShellRow(("Type III", "24, 19", "0.0482 (0.0356, 0.0607)")),
        ),
    )
    assert sub.alignments == ("l", "d", "d")
    indents = decimal_layout(sub, 2, 120.0, 8.0)
    assert indents[0] == 0.0 and indents[1] == indents[2] > 0.0


def test_efficacy_not_run_keeps_its_subsection_numbers(samples) -> None:
    data = dict(samples.report("parallel_12wk").data)
    data["efficacy"] = {"status": "not_run", "message": "Efficacy analysis not run."}
    data["pros"] = {"status": "not_run", "message": "PRO analysis not run."}
    efficacy = next(b for k, _h, b in sections(data) if k == "efficacy")
    heads = [b.text for b in efficacy if isinstance(b, Heading)]
    assert heads == [
        "6.1 Estimands (ICH E9(R1))",
        "6.2 Estimates of all endpoints",
        "6.3 Subgroup analyses of the primary endpoint",
    ]
