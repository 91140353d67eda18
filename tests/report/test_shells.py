"""Table shells (efficacy.report.shells) and the adapters that turn report sections into them."""

from __future__ import annotations

import pytest

from efficacy.errors import EfficacyError
from efficacy.report._adapt_main import stat_shell
from efficacy.report._blocks import Heading, Table, report_order, sections
from efficacy.report.shells import (
    ShellRow,
    TableShell,
    decimal_layout,
    decimal_split,
    text_width,
)

SHELL = {
    "id": "subgroups.primary",
    "title": "Primary estimate by subgroup",
    "header": ["Subgroup", "Test serum\n(N=60)", "Vehicle\n(N=60)"],
    "rows": [
        {"cells": ["Fitzpatrick phototype", "", ""], "group": True},
        {"cells": ["I-II", "0.051 (0.006)", "0.004 (0.006)"], "level": 1},
        ["Total", "0.053 (0.004)", "0.004 (0.004)"],
    ],
    "footnotes": ["Interaction p: 0.41."],
}


def test_dict_form_round_trips_and_fills_defaults() -> None:
    shell = TableShell.from_dict(SHELL)
    assert shell.rows[0] == ShellRow(("Fitzpatrick phototype", "", ""), 0, True)
    assert shell.rows[1].level == 1 and shell.rows[2].cells == (
        "Total",
        "0.053 (0.004)",
        "0.004 (0.004)",
    )
    assert shell.alignments == ("l", "d", "d")
    assert TableShell.from_dict(shell.to_dict()) == shell


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"rows": [["Total", "1"]]}, "row 0 has 2 cells for 3 columns"),
        ({"align": ["l", "x", "d"]}, "align must give one of"),
        ({"spans": [["a", 2]]}, "spans cover 2 of 3 columns"),
        ({"id": "has space"}, "id 'has space'"),
        ({"rows": ["abc"]}, "a row is a list of cell strings"),
    ],
)
def test_bad_shell_names_table_and_problem(change: dict, needle: str) -> None:
    with pytest.raises(EfficacyError, match=r"subgroups\.primary|has space") as err:
        TableShell.from_dict({**SHELL, **change})
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_key_is_one_line() -> None:
    bad = {k: v for k, v in SHELL.items() if k != "header"}
    with pytest.raises(EfficacyError, match=r"'subgroups.primary': KeyError 'header'"):
        TableShell.from_dict(bad)


def test_decimal_layout_closed_form() -> None:
    # Arial widths (1/1000 em): digits 556, '.' 278; at 10 pt: ".5" = 8.34, ".25" = 13.9,
    # "10" = 11.12; block = 11.12 + 13.9 in a 100 pt cell -> margin (100 - 25.02) / 2.
    shell = TableShell("t", "t", ("", "x"), (ShellRow(("a", "1.5")), ShellRow(("b", "10.25"))))
    assert text_width(".25", 10) == 13.9
    pad = (100 - 11.12 - 13.9) / 2
    assert decimal_layout(shell, 1, 100.0, 10.0) == [round(pad + 13.9 - 8.34, 2), round(pad, 2)]
    assert decimal_split("\u22120.72 (\u22121.12, \u22120.33)") == (
        "\u22120",
        ".72 (\u22121.12, \u22120.33)",
    )


def test_baseline_adapter_keeps_n_headers_and_cells(samples) -> None:
    data = samples.report("parallel_12wk").data
    table = data["baseline"]["tables"][0]
    shell = stat_shell(table, "baseline")
    cols = table["columns"]
    assert shell.header[1:] == tuple(f"{c['label']}\n(N={c['N']})" for c in cols)
    assert shell.header[1] == "Test serum (simulated product)\n(N=60)"
    age = [r.cells[0] for r in shell.rows].index("Age (years)")
    assert shell.rows[age].group and shell.rows[age + 2].cells[0] == "Mean (SD)"
    assert shell.rows[age + 2].cells[1:] == ("43.1 (10.10)", "42.3 (9.26)", "42.7 (9.66)")
    assert shell.rows[age + 2].level == 1


def test_generic_section_takes_its_place_in_report_order(samples) -> None:
    data = dict(samples.report("parallel_12wk").data)
    ordered = {}
    for key, value in data.items():
        if key == "harms":
            ordered["extra"] = {
                "title": "Extra analyses",
                "notes": ["By skin type."],
                "tables": [SHELL],
            }
        ordered[key] = value
    out = sections(ordered)
    keys = [k for k, _h, _b in out]
    assert keys.index("extra") == keys.index("harms") - 1
    _key, heading, blocks = out[keys.index("extra")]
    # the synopsis comes first, unnumbered
    assert keys[0] == "synopsis" and out[0][1] == "Synopsis"
    assert heading == f"{keys.index('extra')}. Extra analyses"
    table = next(b for b in blocks if isinstance(b, Table))
    assert table.number == f"{keys.index('extra')}.1"
    assert table.shell == TableShell.from_dict(SHELL)
    # sorted keys (a JSON file read back): known sections in report order, others
    # before the appendices
    resorted = dict(sorted(ordered.items()))
    assert report_order(resorted) == [
        "synopsis",
        "title_block",
        "verdict",
        "flow",
        "populations",
        "deviations",
        "checklist",
        "baseline",
        "estimands",
        "efficacy",
        "pros",
        "subgroups",
        "harms",
        "claims",
        "extra",
        "schema",
        "appendices",
    ]
    assert [k for k, _h, _b in sections(resorted)][-4:] == [
        "harms",
        "claims",
        "extra",
        "appendices",
    ]
    assert not any(isinstance(b, Heading) and b.level == 1 for _k, _h, bl in out for b in bl)
