r"""Table shells: one typed form of every report table, rendered by the DOCX and RTF writers.

A :class:`TableShell` is a table whose cells are already formatted strings, laid out as
the pharmaverse table shells (rtables, Tplyr) lay them: a stub column of row labels
(indented by level), one column per arm with its ``(N=xx)`` under the arm's label, cells
such as ``n (%)`` and ``mean (SD)``, footnotes under the table. The writers never
format a number: they place strings.

Dict form
---------
Report sections carry shells as plain JSON-ready dicts (a section's ``tables`` list)::

    {
      "id": "subgroups.primary",              # unique in the report; [A-Za-z0-9_.-]
      "title": "Primary estimate by subgroup",
      "header": ["Subgroup", "Test serum\n(N=60)", "Vehicle\n(N=60)"],
      "rows": [
        {"cells": ["Fitzpatrick phototype", "", ""], "group": true},
        {"cells": ["I-II", "0.051 (0.006)", "0.004 (0.006)"], "level": 1},
        ["Total", "0.053 (0.004)", "0.004 (0.004)"]
      ],
      "footnotes": ["Interaction p: 0.41."],
      "spans": [["", 1], ["Week 12", 2]],     # optional
      "align": ["l", "d", "d"]                # optional
    }

* ``header``: one label per column; the first labels the stub column (may be "");
  ``\n`` breaks a label into lines (arm label, then ``(N=xx)``).
* ``rows``: each a dict with ``cells`` (one string per column, the first being the row
  label), optional ``level`` (indent of the label, 0 = flush) and ``group`` (true: a
  heading row whose label spans the table; its other cells are ignored), or a plain list
  of strings (a level-0 row).
* ``footnotes``: lines printed under the table, in order.
* ``spans`` (optional): a header row above ``header``, as ``[label, number of columns]``
  pairs covering every column.
* ``align`` (optional): per column ``l`` (left), ``r`` (right) or ``d`` (numbers aligned on
  their first decimal point); default ``l`` for the stub and ``d`` for the others.

A section of the report data whose value is a mapping with a ``tables`` list of such dicts
is rendered generically by the DOCX writer (heading from its ``title``, paragraphs from
its ``notes``, then its tables), in report order; the RTF writer includes its tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from efficacy.errors import EfficacyError

__all__ = [
    "ALIGNMENTS",
    "ShellRow",
    "TableShell",
    "decimal_layout",
    "decimal_split",
    "id_part",
    "lead_text",
    "text_width",
]

#: Column alignments: left, right, on the decimal point.
ALIGNMENTS: tuple[str, ...] = ("l", "r", "d")
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_NOT_ID = re.compile(r"[^A-Za-z0-9_.-]")


def id_part(text: str) -> str:
    """Return `text` usable in a table shell id: each other character as ``-``.

    >>> id_part("ACTIVE vs VEHICLE")
    'ACTIVE-vs-VEHICLE'
    """
    return _NOT_ID.sub("-", text)


@dataclass(frozen=True)
class ShellRow:
    """One body row of a :class:`TableShell`.

    Attributes
    ----------
    cells : tuple of str
        One formatted string per column; the first is the row label.
    level : int
        Indent of the row label (0 = flush left).
    group : bool
        A heading row: only its label is shown, across the whole table.
    """

    cells: tuple[str, ...]
    level: int = 0
    group: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the row's dict form (see the module doc)."""
        out: dict[str, Any] = {"cells": list(self.cells), "level": self.level}
        if self.group:
            out["group"] = True
        return out


@dataclass(frozen=True)
class TableShell:
    r"""A table of formatted strings: id, title, header, rows, footnotes.

    Attributes
    ----------
    id : str
        Unique in the report (letters, digits, ``_ . -``).
    title : str
        The table's title (numbered by the writer, e.g. "Table 5.1").
    header : tuple of str
        One label per column, the first for the stub; ``\n`` breaks a label into lines.
    rows : tuple of ShellRow
        Body rows, each with exactly ``len(header)`` cells.
    footnotes : tuple of str
        Lines under the table.
    spans : tuple of (str, int)
        Optional header row above `header`: labels and how many columns each covers.
    align : tuple of str
        Per column, one of :data:`ALIGNMENTS`; empty: stub ``l``, others ``d``.

    Examples
    --------
    >>> shell = TableShell.from_dict({
    ...     "id": "t1", "title": "Age", "header": ["", "A\n(N=2)"],
    ...     "rows": [["Mean (SD)", "41.5 (2.12)"]], "footnotes": []})
    >>> shell.alignments, shell.rows[0].cells[1]
    (('l', 'd'), '41.5 (2.12)')
    >>> TableShell.from_dict(shell.to_dict()) == shell
    True
    """

    id: str
    title: str
    header: tuple[str, ...]
    rows: tuple[ShellRow, ...]
    footnotes: tuple[str, ...] = ()
    spans: tuple[tuple[str, int], ...] = ()
    align: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = []
        if not _ID.match(self.id):
            problems.append(f"id {self.id!r} must be letters, digits, '_', '.' or '-'")
        k = len(self.header)
        if k == 0:
            problems.append("header must name at least one column")
        for i, row in enumerate(self.rows):
            if len(row.cells) != k and not row.group:
                problems.append(f"row {i} has {len(row.cells)} cells for {k} columns")
        if self.spans and sum(n for _, n in self.spans) != k:
            problems.append(f"spans cover {sum(n for _, n in self.spans)} of {k} columns")
        if self.align and (len(self.align) != k or set(self.align) - set(ALIGNMENTS)):
            problems.append(f"align must give one of {ALIGNMENTS} for each of {k} columns")
        if problems:
            raise EfficacyError(f"table shell {self.id!r}: " + "; ".join(problems))

    @property
    def alignments(self) -> tuple[str, ...]:
        """Alignment of each column: `align`, else the stub left and the others decimal.

        Without `align`, a column holding text (:meth:`_text_column`: listings, the
        synopsis, estimands) is set left.
        """
        if self.align:
            return self.align
        rest = ("l" if self._text_column(j) else "d" for j in range(1, len(self.header)))
        return ("l", *rest)

    def _text_column(self, j: int) -> bool:
        """Whether column `j` holds text: a cell over 32 characters, or mostly no digit.

        Decimal alignment of prose sets every line flush right under an indent sized by
        the widest "decimal part" (one character per line in Word and LibreOffice).
        """
        cells = [r.cells[j] for r in self.rows if not r.group and r.cells[j].strip()]
        if not cells:
            return False
        wordy = sum(1 for c in cells if not any(ch.isdigit() for ch in c))
        return max(len(c) for c in cells) > 32 or 2 * wordy > len(cells)

    @property
    def ncol(self) -> int:
        """Number of columns."""
        return len(self.header)

    def widths(self) -> tuple[float, ...]:
        """Relative column widths from the text they hold, in characters.

        Each column is as wide as its longest cell, between 4 and 44 characters (longer
        text wraps), but never narrower than its longest word (at most 70: a SHA-256
        hash stays on one line). The stub counts its indents; a header label counts at
        most 14 characters beyond its longest word, since labels wrap; ``group`` rows
        are ignored (they span the table).
        """
        out = []
        for j, least in enumerate(self.min_widths()):
            cells = [r.cells[j] for r in self.rows if not r.group]
            body = [
                len(c) + (3 * r.level if j == 0 else 0)
                for c, r in zip(cells, (r for r in self.rows if not r.group), strict=True)
            ]
            longest_line = max((len(x) for x in self.header[j].split("\n")), default=0)
            natural = min(44, max([*body, min(longest_line, 14), 4]))
            out.append(max(float(natural), least))
        return tuple(out)

    def min_widths(self) -> tuple[float, ...]:
        """Return the narrowest each column can be without breaking a word, in characters.

        Its longest word, of the body (at most 70) or of the header label; ``group`` rows
        are ignored. :meth:`widths` is never narrower.
        """
        out = []
        for j in range(self.ncol):
            word = max(
                (len(w) for r in self.rows if not r.group for w in r.cells[j].split()), default=0
            )
            head = max((len(w) for w in self.header[j].split()), default=0)
            out.append(float(max(min(word, 70), head)))
        return tuple(out)

    @property
    def wraps(self) -> bool:
        """Whether some body cell takes several lines (a line break, or over 44 chars)."""
        return any("\n" in c or len(c) > 44 for r in self.rows if not r.group for c in r.cells)

    @property
    def wide(self) -> bool:
        """Whether the table wants a landscape page (over 100 characters, or 9+ columns)."""
        return sum(self.widths()) > 100 or self.ncol > 8

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict form (see the module doc)."""
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "header": list(self.header),
            "rows": [r.to_dict() for r in self.rows],
            "footnotes": list(self.footnotes),
        }
        if self.spans:
            out["spans"] = [[label, n] for label, n in self.spans]
        if self.align:
            out["align"] = list(self.align)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableShell:
        """Build a shell from its dict form (see the module doc).

        Raises
        ------
        EfficacyError
            A key is missing or a value has the wrong shape (names the table and key).
        """
        name = data.get("id", "?") if isinstance(data, Mapping) else "?"
        try:
            rows = tuple(_row(r) for r in data["rows"])
            # the list-of-lists dialect (efficacy.report._shell) gives levels apart
            levels = data.get("indent")
            if levels:
                rows = tuple(
                    r if r.level else ShellRow(r.cells, int(n), r.group)
                    for r, n in zip(rows, levels, strict=True)
                )
            return cls(
                id=str(data["id"]),
                title=str(data["title"]),
                header=tuple(str(h) for h in data["header"]),
                rows=rows,
                footnotes=tuple(str(f) for f in data.get("footnotes", ())),
                spans=tuple((str(s[0]), int(s[1])) for s in data.get("spans", ())),
                align=tuple(str(a) for a in data.get("align", ())),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise EfficacyError(
                f"table shell {name!r}: {type(exc).__name__} {exc}; a shell is a dict with "
                "id, title, header (list of str), rows (lists of str or dicts with cells), "
                "footnotes (see efficacy.report.shells)"
            ) from None


def _row(row: Mapping[str, Any] | Sequence[str]) -> ShellRow:
    if isinstance(row, Mapping):
        return ShellRow(
            cells=tuple(str(c) for c in row["cells"]),
            level=int(row.get("level", 0)),
            group=bool(row.get("group", False)),
        )
    if isinstance(row, str):
        raise TypeError("a row is a list of cell strings or a dict, not a string")
    return ShellRow(cells=tuple(str(c) for c in row))


# Advance widths of Arial (= Liberation Sans, metric-compatible) in 1/1000 em.
_WIDTHS: dict[str, int] = {
    **dict.fromkeys("0123456789", 556),
    **dict.fromkeys(".,:;' []/!|", 278),
    **dict.fromkeys("()-", 333),
    **dict.fromkeys("<>+=\u2212\u00b1", 584),
    "%": 889,
    "*": 389,
}


def text_width(text: str, size_pt: float) -> float:
    """Width of `text` in points in Arial / Liberation Sans at `size_pt` (others: a digit).

    Examples
    --------
    >>> text_width("10.5", 10.0)
    19.46
    """
    return round(sum(_WIDTHS.get(ch, 556) for ch in text) * size_pt / 1000, 4)


def decimal_split(text: str) -> tuple[str, str]:
    """Split a cell at its alignment point: the first number's decimal point or end.

    A column's cells line up on their first number (``n``, ``mean (SD)``, ``min, max``,
    ``n (%)``, p-values), as in submission tables: on its decimal point, or where the
    point would follow an integer.

    Examples
    --------
    >>> decimal_split("43.1 (10.10)")
    ('43', '.1 (10.10)')
    >>> decimal_split("25, 65"), decimal_split("60"), decimal_split("<0.001")
    (('25', ', 65'), ('60', ''), ('<0', '.001'))
    >>> decimal_split("holds")
    ('holds', '')
    """
    m = re.search(r"\d+", text)
    if m is None:
        return text, ""
    return text[: m.end()], text[m.end() :]


def decimal_layout(shell: TableShell, j: int, inner_pt: float, size_pt: float) -> list[float]:
    """Right indent (points) of each body row's cell of column `j`, aligning decimal points.

    Every cell is set flush right; a cell's right indent is the width the column's widest
    part from the decimal point on exceeds its own by, plus the margin that centres the
    column's block of numbers in the cell (`inner_pt` wide). Word and LibreOffice both
    honour paragraph indents in cells, where their decimal tab stops differ. Group rows
    get 0; so does a cell without a number ("not estimable"): it is set flush right and
    does not shift the numbers (an indent sized for them would wrap it letter by letter).
    """
    plain = [r.group or not any(ch.isdigit() for ch in r.cells[j]) for r in shell.rows]
    parts = [
        ("", "") if skip else decimal_split(r.cells[j])
        for r, skip in zip(shell.rows, plain, strict=True)
    ]
    rights = [text_width(b, size_pt) for _, b in parts]
    lmax = max((text_width(a, size_pt) for a, _ in parts), default=0.0)
    rmax = max(rights, default=0.0)
    pad = max(0.0, (inner_pt - lmax - rmax) / 2)
    return [
        0.0 if skip else round(pad + rmax - w, 2) for skip, w in zip(plain, rights, strict=True)
    ]


def lead_text(table: Mapping[str, Any]) -> int:
    """Return how many leading columns of a table shell hold text (at least the stub).

    The HTML report left-aligns and wraps these and right-aligns the rest
    (:attr:`TableShell.alignments` says which columns are text).

    Examples
    --------
    >>> lead_text({"id": "t", "title": "T", "header": ["Endpoint", "Role", "p"],
    ...            "rows": [["R2", "key secondary", "<0.001"]]})
    2
    """
    aligns = TableShell.from_dict(table).alignments
    n = 1
    while n < len(aligns) and aligns[n] == "l":
        n += 1
    return n
