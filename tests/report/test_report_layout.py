"""Layout of the rendered report: what a reader sees in the HTML and in the PDF pages.

Built from the committed example JSON in ``reports/`` (tests/report/test_examples_current.py
checks that it is what the code produces now), so no analysis runs here. Values are
checked against that JSON, rounded as the template prints them (``efficacy.report._format``);
the page-break tests lay the split-face report out with weasyprint and look at the pages.
"""

from __future__ import annotations

import copy
import html
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from efficacy.report._format import fixed, pval, unit_text
from efficacy.report.model import Report

ROOT = Path(__file__).resolve().parents[2]


@cache
def _data(bundle: str) -> dict[str, Any]:
    return json.loads((ROOT / "reports" / bundle / "report.json").read_text("utf-8"))


@cache
def _html(bundle: str) -> str:
    return Report(_data(bundle)).to_html()


def _text(fragment: str) -> str:
    """Visible text (tags dropped, entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _tables(page: str, cls: str) -> list[str]:
    """The ``<table class="small est {cls}...">`` elements of `page`, in order."""
    return re.findall(rf'<table class="small est {cls}\b.*?</table>', page, flags=re.S)


def _groups(table: str) -> list[str]:
    """The row groups (``tbody.grp``) of one table."""
    return re.findall(r'<tbody class="grp">(.*?)</tbody>', table, flags=re.S)


def _endpoints(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["efficacy"]["result"]["endpoints"] + data["pros"]["result"]["endpoints"]


def _lsmean_row(row: dict[str, Any], arms: list[str], d: int) -> str:
    """One printed LS-means row: visit, then per arm n, LS mean (SE) and the CI."""
    cells = [row["visit"] + (" \u2605" if row["final"] else "")]
    for a in arms:
        c = row["arms"][a]
        cells += [
            str(c["n"]),
            f"{fixed(c['estimate'], d)} ({fixed(c['std_error'], d + 1)})",
            f"{fixed(c['conf_low'], d)}, {fixed(c['conf_high'], d)}",
        ]
    return " ".join(cells)


def test_per_protocol_lsmeans_are_printed_like_itt() -> None:
    """Sections 6 and 7 print every population's LS means, each in its own row group."""
    data, page = _data("parallel_12wk"), _html("parallel_12wk")
    blocks = _endpoints(data)
    tables = _tables(page, "lsm")
    assert len(blocks) == len(tables) == 13  # 8 efficacy + 5 PRO endpoints
    for block, table in zip(blocks, tables, strict=True):
        groups = _groups(table)
        assert [p["label"] for p in block["populations"]] == ["ITT", "Per protocol"]
        assert len(groups) == 2
        for pop, group in zip(block["populations"], groups, strict=True):
            want = [pop["label"]] + [
                _lsmean_row(r, pop["arms"], block["decimals"]) for r in pop["lsmeans"]
            ]
            assert _text(group) == " ".join(want), (block["endpoint"], pop["label"])
    # reference values, read off the committed JSON (corneometer, per protocol, W12):
    # ACTIVE n 50, LS mean 13.9238 (SE 0.8887), 95% CI 12.15 to 15.68; 2 decimals
    corneo = _groups(tables[1])[1]
    assert "W12 \u2605 50 13.92 (0.889) 12.15, 15.68 54 4.59 (0.855) 2.90, 6.29" in _text(corneo)
    assert "other populations' LS means are in the JSON" not in page


def test_split_face_prints_no_lsmeans_table() -> None:
    """Split-face LS means are the within-person differences: printed once, not twice."""
    data, page = _data("split_face_12wk"), _html("split_face_12wk")
    assert _tables(page, "lsm") == []
    diffs = _tables(page, "diff")
    assert len(diffs) == len(data["efficacy"]["result"]["endpoints"]) == 8
    first = data["efficacy"]["result"]["endpoints"][0]["populations"][1]["differences"][-1]
    assert (first["visit"], first["n_active"]) == ("W12", 33)
    assert "W12 \u2605 33 0.0394 (0.00420) 0.0308, 0.0479 <0.001" in _text(_groups(diffs[0])[1])


def test_estimand_summary_groups_each_endpoint() -> None:
    """6.1: one row group per endpoint, its name and role spanning its population rows."""
    data, page = _data("parallel_12wk"), _html("parallel_12wk")
    (table,) = _tables(page, "summary")
    groups = _groups(table)
    rows = data["efficacy"]["result"]["summary"]
    assert len(groups) == 13 and len(rows) == 26
    for i, group in enumerate(groups):
        itt, pp = rows[2 * i], rows[2 * i + 1]
        assert itt["endpoint"] == pp["endpoint"]
        assert group.count('rowspan="2"') == 1 and group.count("<tr") == 2
        unit = unit_text(itt["unit"])  # typeset: um -> µm, mm3 -> mm³
        label = html.escape(f"{itt['label']} ({unit or 'no unit'})", quote=False)
        assert f'<td class="ep" rowspan="2">{label}<span class="role">{itt["role"]}' in group
        d = itt["decimals"]
        shown = (
            f"Per protocol {pp['visit']} {fixed(pp['estimate'], d)} "
            f"{fixed(pp['conf_low'], d)}, {fixed(pp['conf_high'], d)} {pval(pp['p_value'])}"
        )
        assert shown in _text(group)
    # the primary estimand (cutometer_r2, ITT): 0.0528 (0.0455, 0.0600), g 2.73 (2.20, 3.26)
    assert _text(groups[0]).startswith(
        "Cutometer R2 (gross elasticity, Ua/Uf) (ratio) primary ITT W12 0.0528 0.0455, 0.0600"
    )


def test_keep_with_next_classes() -> None:
    """Captions, model lines and endpoint notes keep with their table; every grouped table
    opens with the empty ``tbody.lead`` that makes weasyprint keep its first group whole."""
    page = _html("parallel_12wk")
    for cls in ("tcap", "model"):
        tags = re.findall(rf'<p class="{cls}[^"]*"', page)
        assert tags and all(" kw" in t for t in tags), cls
    css = (ROOT / "efficacy" / "report" / "templates" / "report.css").read_text("utf-8")
    assert "h2, h3, h4, .kw, p.caption + table, .figure { break-after: avoid;" in css
    assert "tbody.lead { break-after: avoid;" in css
    for table in re.findall(r"<table.*?</table>", page, flags=re.S):
        if '<tbody class="grp">' in table:
            assert table.index('<tbody class="lead"></tbody>') < table.index('class="grp"')


def test_skipped_analyses_merge_their_populations() -> None:
    """A PRO analysis not run for both populations, for one reason, is one row, not two."""
    data, page = _data("split_face_12wk"), _html("split_face_12wk")
    skipped = data["pros"]["result"]["skipped"]
    assert len(skipped) == 10
    body = page[page.index("PRO analyses not run") : page.index('<h2 id="s8">')]
    rows = re.findall(r"<tr><td class=\"mono-id\">(.*?)</tr>", body, flags=re.S)
    assert len(rows) == 5
    for row, s in zip(rows, skipped[:5], strict=True):
        assert _text(row) == f"{s['endpoint']} ITT, Per protocol {s['analysis']} {s['reason']}"


def test_model_appendix_prints_bic_and_failed_fits() -> None:
    """9.3: BIC beside AIC, each rounded to 2 decimals; a failed fit is flagged, its note
    under its row; no Notes column when no fit needs one."""
    data = copy.deepcopy(_data("parallel_12wk"))
    rows = data["efficacy"]["result"]["models"]["rows"]
    page = _html("parallel_12wk")  # Report(data).to_html() of the unchanged copy
    body = page[page.index("9.3 Model specifications") : page.index("9.4 Software")]
    first = rows[0]  # cutometer_r2, ITT: -2 log L -2446.49, AIC -2426.49, BIC -2398.62
    tail = f"{fixed(first['neg2_loglik'], 2)} {fixed(first['aic'], 2)} {fixed(first['bic'], 2)}"
    assert tail == "\u22122446.49 \u22122426.49 \u22122398.62"
    assert tail in _text(body)
    assert ">Notes<" not in body and "mnote" not in body
    rows[3] = {**rows[3], "converged": False, "notes": "us did not converge: <toeph> used"}
    body = Report(data).to_html()
    body = body[body.index("9.3 Model specifications") : body.index("9.4 Software")]
    assert body.count('<tbody class="keep failed">') == 1
    assert 'class="mnote" colspan="9">Note: us did not converge: &lt;toeph&gt; used' in body


def test_new_cells_escape_their_data() -> None:
    """Labels and texts the layout added (population groups, merged skips) stay escaped."""
    data = copy.deepcopy(_data("split_face_12wk"))
    data["efficacy"]["result"]["endpoints"][0]["populations"][1]["label"] = "<i>PP</i>"
    data["pros"]["result"]["skipped"][0]["reason"] = "a <script>x</script> reason"
    page = Report(data).to_html()
    assert "<i>PP</i>" not in page and "&lt;i&gt;PP&lt;/i&gt;" in page
    assert "<script>" not in page and "a &lt;script&gt;x&lt;/script&gt; reason" in page


def _pages(bundle: str) -> list[Any]:
    """The pages of `bundle`'s report laid out as ``Report.to_pdf`` lays them out."""
    pytest.importorskip("weasyprint")
    from efficacy._gc import gc_paused
    from efficacy.report._weasy import factory_for, fast_html_parsing

    page = _html(bundle)
    with gc_paused(), fast_html_parsing():
        return list(factory_for(page)(string=page).render().pages)


def _walk(box: Any, out: list[Any]) -> list[Any]:
    out.append(box)
    for child in getattr(box, "children", None) or []:
        _walk(child, out)
    return out


def test_pdf_keeps_groups_and_headings_with_their_rows() -> None:
    """In the laid-out split-face PDF no row group is cut by a page break and no heading,
    caption or group row ends a page."""
    pages = _pages("split_face_12wk")
    assert len(pages) >= 12
    seen: dict[int, int] = {}
    for number, page in enumerate(pages, 1):
        boxes = _walk(page._page_box, [])
        groups = {
            id(b.element)
            for b in boxes
            if type(b).__name__ == "TableRowGroupBox"
            and "grp" in (b.element.get("class") or "").split()
        }
        for g in groups:
            assert g not in seen, f"a row group runs from page {seen[g]} onto page {number}"
            seen[g] = number
        flow = [
            b
            for b in boxes
            if b.element is not None
            and b.element_tag in ("h2", "h3", "p", "tr")
            and type(b).__name__ in ("BlockBox", "TableRowBox")
        ]
        last = max(flow, key=lambda b: b.position_y + b.margin_height())
        cls = (last.element.get("class") or "").split()
        assert last.element_tag not in ("h2", "h3"), f"page {number} ends with a heading"
        assert "kw" not in cls and "group" not in cls, f"page {number} ends with {cls}"
    assert len(seen) > 30  # baseline variables, populations and endpoints: many groups
