"""DOCX and RTF column widths: a squeezed table wraps its text columns between words.

``column_widths`` gives the text columns of a table wider than the page their share in
proportion to their text, but none less than its longest word while the other text
columns can give the room (a three-arm synopsis broke "LOWDOS|E" and "second|ary"
before). Widths are checked against the closed form: points = characters * 0.56 * 8.5 *
1.05 + 10.8 (Arial digits at 8.5 pt plus Word's cell margins).
"""

from __future__ import annotations

import pytest

from efficacy.report._docx_table import _shrink, column_widths
from efficacy.report.shells import TableShell


def _pt(chars: float) -> float:
    return chars * 0.56 * 8.5 * 1.05 + 10.8


def _shell(rows: list[list[str]], header: list[str]) -> TableShell:
    return TableShell.from_dict({"id": "t", "title": "T", "header": header, "rows": rows})


SYNOPSIS = _shell(
    [
        [
            "FACE-Q Satisfaction with Facial Appearance (score 0-100)",
            "LOWDOSE vs VEHICLE",
            "key secondary",
            "W12",
            "11.5 (7.3, 15.7)",
            "<0.001",
        ],
        [
            "Cutometer R2 (gross elasticity, Ua/Uf) (ratio)",
            "ACTIVE vs VEHICLE",
            "primary",
            "W12",
            "0.0587 (0.0502, 0.0672)",
            "<0.001",
        ],
    ],
    ["Endpoint", "Comparison", "Role", "Visit", "Difference (95% CI)", "p"],
)


def test_min_widths_are_the_longest_words() -> None:
    # "Satisfaction", "Comparison", "secondary", "Visit", "Difference", "<0.001"
    assert SYNOPSIS.min_widths() == (12.0, 10.0, 9.0, 5.0, 10.0, 6.0)
    assert all(w >= m for w, m in zip(SYNOPSIS.widths(), SYNOPSIS.min_widths(), strict=True))


def test_squeezed_text_columns_keep_their_longest_word() -> None:
    available = 450.0  # narrower than the table's natural width (610 pt)
    widths = column_widths(SYNOPSIS, available)
    assert sum(widths) == pytest.approx(available)
    numeric = [a in ("d", "r") for a in SYNOPSIS.alignments]
    natural = [_pt(c) for c in SYNOPSIS.widths()]
    for w, m, nat, num in zip(widths, SYNOPSIS.min_widths(), natural, numeric, strict=True):
        if num:
            assert w == pytest.approx(nat)  # numbers keep their width
        else:
            assert _pt(m) - 1e-9 <= w <= nat
    # proportional scaling alone would have cut "secondary" (column 2) below its word
    text = [j for j, n in enumerate(numeric) if not n]
    room = available - sum(natural[j] for j, n in enumerate(numeric) if n)
    scale = room / sum(natural[j] for j in text)
    assert natural[2] * scale < _pt(9.0) and widths[2] == pytest.approx(_pt(9.0))
    # pinning "secondary" leaves too little for "Comparison" too (59.2 < 60.8 pt): both
    # keep their word, and the endpoint column takes the rest
    assert widths[1] == pytest.approx(_pt(10.0))
    assert widths[0] == pytest.approx(room - _pt(10.0) - _pt(9.0))


def test_shrink_pins_floors_and_shares_the_rest_in_proportion() -> None:
    # free columns 100, 50, 10 (floor 8); room 80: 10 * 80/160 = 5 < 8, so column 2 keeps
    # 8 and columns 0 and 1 share 72 as 100:50; column 3 is fixed
    got = _shrink([100.0, 50.0, 10.0, 30.0], [False, False, False, True], [20, 10, 8, 0], 80.0)
    assert got == pytest.approx([48.0, 24.0, 8.0, 30.0])


def test_shrink_falls_back_to_proportion_when_the_words_do_not_fit() -> None:
    got = _shrink([100.0, 50.0], [False, False], [90.0, 45.0], 60.0)
    assert got == pytest.approx([40.0, 20.0])
