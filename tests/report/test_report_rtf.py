"""The report's tables as one RTF file (efficacy.report.rtf): rows, cells, reproducibility.

Cells are read back from the RTF with a small parser of the writer's own row layout
(``\\trowd`` ... ``\\cell`` ... ``\\row``) and compared with the report JSON.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from efficacy.report._format import fixed
from efficacy.report.rtf import escape, render_rtf

_U = re.compile(r"\\u(-?\d+)\?")


def _unescape(text: str) -> str:
    text = _U.sub(lambda m: chr(int(m.group(1)) % 0x10000), text)
    text = text.replace("\\line ", "\n").replace("\\b0", "").replace("\\b ", "")
    return re.sub(r"\\([\\{}])", r"\1", text)


def _tables(rtf: str) -> dict[str, list[list[str]]]:
    """Table number -> rows of cell texts (header rows included), in file order."""
    out: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for line in rtf.split("\n"):
        m = re.match(
            r"\\pard\\plain\\qc\\keepn\\sb120\\sa60\\f0\\fs20\\b (?:Table|Listing) (\S+)\\par$",
            line,
        )
        if m:
            current = out.setdefault(m.group(1), [])
        elif line.startswith("\\pard\\plain\\intbl"):
            cells = [c for c in line.split("\\cell")[:-1]]
            current.append([_unescape(c.split(" ", 1)[1]) if " " in c else "" for c in cells])
    return out


@pytest.fixture(scope="module")
def report(samples) -> tuple[dict[str, Any], str]:
    r = samples.report("parallel_12wk")
    return r.to_dict(), r.to_rtf()


def test_one_table_per_shell_each_with_repeated_header(report) -> None:
    data, rtf = report
    eff, pros = data["efficacy"]["result"], data["pros"]["result"]
    tipping = sum(tp["tipping_delta"] is not None for tp in eff["sensitivity"])
    expected = (
        len(data["baseline"]["tables"])
        + len(data["estimands"]["tables"])  # 6.1 Estimands
        + 1  # estimates of all endpoints
        + 2 * len(eff["endpoints"])  # LS means and differences per endpoint
        + tipping
        + len(data["subgroups"]["tables"])
        + 2 * len(pros["endpoints"])
        + len(data["harms"]["tables"])
    )
    tables = _tables(rtf)
    assert len(tables) == expected == 43
    # the claims matrix (an unnumbered annex) is one more table, on its own page
    assert len(data["claims"]["tables"]) == 1 and "Claims by jurisdiction" in rtf
    assert rtf.count("\\sbkpage") == expected + 1  # each table on its own page
    assert list(tables)[:3] == ["5.1", "5.2", "6.1"] and list(tables)[-1] == "8.8"
    assert "6.S1" in tables and "Synopsis" not in rtf  # the synopsis is no TLF
    # header rows repeat on every page: one \trhdr row per table, two for the LS means
    # tables (the arms' spanning row above n / LS mean (SE) / CI)
    n_header = expected + 1 + len(eff["endpoints"]) + len(pros["endpoints"])  # + claims
    assert rtf.count("\\trhdr") == n_header
    assert "\\creatim" not in rtf and "\\revtim" not in rtf


def test_baseline_and_harms_cells_match_json(report) -> None:
    data, rtf = report
    tables = _tables(rtf)
    for number, table in (("5.1", data["baseline"]["tables"][0]),):
        cols = table["columns"]
        rows = tables[number]
        assert rows[0] == ["", *[f"{c['label']}\n{c['head']}" for c in cols]]
        body = rows[1:]
        assert len(body) == len(table["rows"])
        for got, want in zip(body, table["rows"], strict=True):
            if want["kind"] == "group":
                assert got == [want["label"]]
            else:
                assert got == [want["label"], *[want["cells"][c["key"]]["text"] for c in cols]]
    assert tables["5.1"][3] == ["Mean (SD)", "43.1 (10.10)", "42.3 (9.26)", "42.7 (9.66)"]
    # harms tables are shells (header, rows of strings) numbered by their own titles
    shell = data["harms"]["tables"][1]
    assert shell["title"].startswith("Table 8.2 ")
    assert tables["8.2"][0] == shell["header"]
    assert tables["8.2"][1:] == [list(r) for r in shell["rows"]]


def test_efficacy_summary_cells(report) -> None:
    data, rtf = report
    rows = _tables(rtf)["6.5"]  # after the four estimand tables
    primary = data["efficacy"]["result"]["summary"][0]
    assert rows[2][:3] == ["ITT", primary["visit"], fixed(primary["estimate"], primary["decimals"])]
    assert rows[2][2] == "0.0528" and rows[2][4] == "<0.001"
    # a negative difference prints with a true minus sign, escaped as \u8722?
    assert "\\u8722?" in rtf


def test_rtf_is_reproducible_and_ascii(report) -> None:
    data, rtf = report
    assert render_rtf(data) == rtf
    rtf.encode("ascii")  # every other character is a \uN? escape
    assert escape("\U0001f600 {x}") == "\\u-10179?\\u-8704? \\{x\\}"
