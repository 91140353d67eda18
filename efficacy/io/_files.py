"""Read CSV, Parquet and Excel files as text (:class:`TextTable`), or fail clearly.

Any file that cannot be used at all raises :class:`~efficacy.errors.InputError` with one
line naming the file (and the line where known) and saying how to fix it. Files are only
ever opened for reading.

Format notes
------------
* CSV: UTF-8 (a byte-order mark is allowed), comma-separated, ``"`` quoting (values
  may contain commas and line breaks when quoted). Blank lines are skipped and not
  counted as data rows. Read with Arrow's parser (multithreaded for files of 4 MB
  or more).
* Parquet: columns of any plain type; values are cast to text (floats round-trip
  exactly, NaN counts as missing) and then read like CSV cells.
* Excel (.xlsx): the first sheet, or the sheet named after ``#`` in the manifest
  (``"data.xlsx#Measurements"``). The header is the first non-empty row; a data row's
  number is its sheet row minus the header's sheet row, so blank rows inside the data
  keep the numbering a user sees in Excel (blank rows themselves are skipped).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from efficacy.errors import InputError
from efficacy.io._convert import TextTable, clean_text

__all__ = ["FORMATS", "as_text", "read_text"]

#: Supported file extensions -> format name.
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}
_CHUNK = 1 << 20
#: Files at least this large are parsed by Arrow's thread pool; a smaller one costs less
#: CPU in one thread (the threads' start-up and hand-off outweigh the parse: a 1 MB
#: table takes ~40% less CPU), and the table read is the same.
_THREADS_FROM = 4 << 20
_UTF8_FIX = "re-save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"


def read_text(path: Path, sheet: str | None = None) -> tuple[TextTable, str]:
    """Read a table file as text; return it with its format name.

    Raises
    ------
    InputError
        Unsupported extension, unreadable or malformed file, duplicate or empty header
        names (with data beneath), a sheet that does not exist.
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported file type {path.suffix!r}; save the table as "
            ".csv, .parquet or .xlsx"
        )
    if sheet is not None and fmt != "xlsx":
        raise InputError(f"{path}: '#{sheet}' names a sheet, but only .xlsx files have sheets")
    if fmt == "csv":
        names, columns = _read_csv(path)
        rows = None
    elif fmt == "parquet":
        names, columns = _read_parquet(path)
        rows = None
    else:
        names, columns, rows = _read_xlsx(path, sheet)
    names, columns = _check_header(path, names, columns)
    return TextTable(tuple(names), tuple(columns), rows), fmt


def _check_header(
    path: Path, names: list[str], columns: list[pa.ChunkedArray]
) -> tuple[list[str], list[pa.ChunkedArray]]:
    """Strip names; drop nameless empty columns; refuse nameless data and duplicates."""
    out_names: list[str] = []
    out_cols: list[pa.ChunkedArray] = []
    seen: dict[str, int] = {}
    for position, (raw, col) in enumerate(zip(names, columns, strict=True), start=1):
        name = str(raw).strip()
        if not name:
            if clean_text(col).null_count == len(col):
                continue  # a nameless, empty column (e.g. a trailing comma): nothing lost
            raise InputError(
                f"{path}: header cell {position} is empty but its column holds data; "
                "name the column or delete it"
            )
        if name in seen:
            raise InputError(
                f"{path}: columns {seen[name]} and {position} are both named {name!r}; "
                "rename or delete one"
            )
        seen[name] = position
        out_names.append(name)
        out_cols.append(col)
    return out_names, out_cols


# --- CSV -------------------------------------------------------------------------------


def _read_header(path: Path, data: bytes) -> tuple[list[str], int]:
    """Return the header cells of the file's bytes `data` and the lines they span.

    `data` passed :func:`_check_encoding`: it decodes.
    """
    try:
        with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            lines = reader.line_num
    except csv.Error as exc:
        raise InputError(f"{path} line 1: the header cannot be read as CSV ({exc})") from None
    if not header or all(not h.strip() for h in header):
        raise InputError(
            f"{path}: the file is empty or its first line is blank; "
            "put the column names on the first line"
        )
    if len(header) == 1 and ";" in header[0]:
        raise InputError(
            f"{path} line 1: the header looks semicolon-separated; save the file "
            "comma-separated (CSV) with '.' as decimal separator"
        )
    return header, lines


def _check_encoding(path: Path, data: bytes) -> None:
    """Refuse a CSV (bytes `data`) that is not UTF-8 text, naming the problem; 1 MB at a time.

    Checked once, before any parsing, so that no later step (Arrow, the header reader,
    the ragged-row locator) meets undecodable bytes. NUL bytes never occur in UTF-8 text:
    they mark UTF-16/UTF-32 saved without a byte-order mark, or a binary file.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line = 1
    with io.BytesIO(data) as handle:
        first = True
        while chunk := handle.read(_CHUNK):
            if first and chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise InputError(f"{path}: the file is UTF-16 text; {_UTF8_FIX}")
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise InputError(_nul_message(path, chunk, nul, line, first))
            pending = decoder.getstate()[0]  # an incomplete character from the last chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                where = line + data.count(b"\n", 0, exc.start)
                byte = data[min(exc.start, len(data) - 1)]
                raise InputError(
                    f"{path} line {where}: not UTF-8 text (byte 0x{byte:02x}); {_UTF8_FIX}"
                ) from None
            line += chunk.count(b"\n")
            first = False
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(
                f"{path} line {line}: not UTF-8 text (the file ends inside a character); "
                f"{_UTF8_FIX}"
            ) from None


def _nul_message(path: Path, chunk: bytes, nul: int, line: int, first: bool) -> str:
    """Name UTF-16/UTF-32 text without a byte-order mark, else a NUL byte at its line."""
    head = chunk[:4096]
    if first and len(head) >= 4 and head.count(0) * 4 >= len(head):
        zeros = [head[k::4].count(0) for k in range(4)]
        kind = "UTF-32" if sum(z > 0 for z in zeros) == 3 else "UTF-16"
        return (
            f"{path}: the file looks like {kind} text without a byte-order mark "
            f"(NUL bytes between the letters); {_UTF8_FIX}"
        )
    where = line + chunk.count(b"\n", 0, nul)
    return (
        f"{path} line {where}: contains a NUL byte (0x00): not a text file; "
        f"check the file is the table and {_UTF8_FIX}"
    )


def _read_csv(path: Path) -> tuple[list[str], list[pa.ChunkedArray]]:
    data = path.read_bytes()  # read once: checked, its header read, then parsed by Arrow
    _check_encoding(path, data)
    header, header_lines = _read_header(path, data)
    names = [f"f{i}" for i in range(len(header))]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(
                column_names=names,
                skip_rows=header_lines,
                use_threads=len(data) >= _THREADS_FROM,
            ),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise _csv_error(path, len(header), exc) from None
    return header, [table.column(i) for i in range(table.num_columns)]


def _csv_error(path: Path, n_fields: int, exc: Exception) -> InputError:
    """Locate the first bad line with the (slow) standard csv module; error path only."""
    message = str(exc)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for record in reader:
                if record and len(record) != n_fields and reader.line_num > 1:
                    return InputError(
                        f"{path} line {reader.line_num}: {len(record)} "
                        f"field{'s' if len(record) != 1 else ''} where the "
                        f"header has {n_fields}; give every row {n_fields} fields "
                        "(quote values that contain commas)"
                    )
        except csv.Error as err:
            return InputError(f"{path} line {reader.line_num}: {err}; fix the quoting")
    first = message.splitlines()[0] if message else type(exc).__name__
    return InputError(f"{path}: cannot be read as CSV ({first}); check it opens in a spreadsheet")


# --- Parquet ---------------------------------------------------------------------------


def as_text(path: Path, name: str, col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cast a typed Arrow column to text (NaN -> null); InputError for nested types."""
    kind = col.type
    if pa.types.is_dictionary(kind):
        col = col.cast(kind.value_type)
        kind = col.type
    if pa.types.is_floating(kind):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, kind), col)
    if pa.types.is_nested(kind):
        raise InputError(
            f"{path}: column {name!r} holds nested values ({kind}); store one plain value per cell"
        )
    try:
        return col.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(
            f"{path}: column {name!r} of type {kind} cannot be read as text ({exc}); "
            "store numbers, text, booleans or dates"
        ) from None


def _read_parquet(path: Path) -> tuple[list[str], list[pa.ChunkedArray]]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: not a readable Parquet file ({first}); re-export the table"
        ) from None
    names = list(table.column_names)
    return names, [as_text(path, n, table.column(i)) for i, n in enumerate(names)]


# --- Excel -----------------------------------------------------------------------------


#: Excel's own sheet limits (rows, columns): a sheet row beyond them is not Excel's.
_EXCEL_ROWS, _EXCEL_COLUMNS = 1_048_576, 16_384
#: Most cells kept from one sheet (data rows x header width), to bound memory.
_MAX_CELLS = 20_000_000


#: Largest uncompressed parts accepted: the whole workbook, and every part openpyxl
#: loads whole (shared strings, styles, workbook; worksheets are streamed). The sizes
#: are those the zip declares, which bound what decompression yields (zipfile stops
#: there and checks the CRC), so a small zip bomb is refused before it is inflated.
_MAX_UNZIPPED, _MAX_LOADED_PART = 512 << 20, 32 << 20
_SHARED_STRINGS = "spreadsheetml.sharedStrings+xml"


def _check_archive(path: Path) -> None:
    """Refuse a workbook whose parts would inflate beyond the limits above."""
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {i.filename.lstrip("/"): i.file_size for i in archive.infolist()}
            types = "[Content_Types].xml"
            shared = {"xl/sharedStrings.xml"}
            if sizes.get(types, 0) <= _MAX_LOADED_PART and types in sizes:
                text = archive.read(types).decode("utf-8", "replace")
                for element in re.findall(r"<Override\b[^>]*>", text):
                    part = re.search(r'PartName="([^"]+)"', element)
                    if part and _SHARED_STRINGS in element:
                        shared.add(part.group(1).lstrip("/"))
    except Exception as exc:  # not a zip, truncated, ...: the same line as openpyxl's
        raise _unreadable(path, exc, "not a readable .xlsx workbook") from None
    mb = 1 << 20
    if sum(sizes.values()) > _MAX_UNZIPPED:
        raise InputError(
            f"{path}: the workbook unzips to {sum(sizes.values()) // mb:,} MB (more than "
            f"{_MAX_UNZIPPED // mb} MB); save the table as .csv or .parquet"
        )
    for name, size in sizes.items():
        loaded = not name.startswith("xl/worksheets/") or name in shared
        if loaded and size > _MAX_LOADED_PART:
            raise InputError(
                f"{path}: the workbook part {name} unzips to {size // mb:,} MB (more than "
                f"{_MAX_LOADED_PART // mb} MB); save the table as .csv or .parquet"
            )


def _unreadable(path: Path, exc: Exception, what: str) -> InputError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return InputError(f"{path}: {what} ({detail}); re-save the workbook from Excel as .xlsx")


def _cell_text(cell: object) -> str:
    """Return a cell's text as pandas' ``read_excel(dtype=str)`` did (whole floats as integers)."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if getattr(cell, "data_type", None) == "e":
        return "nan"  # an error cell (#N/A, #DIV/0!): missing, as pandas read it
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def _read_xlsx(
    path: Path, sheet: str | None
) -> tuple[list[str], list[pa.ChunkedArray], np.ndarray]:
    """Stream one sheet with openpyxl in read-only mode, within a memory bound.

    The sheet's declared dimension is ignored (a 2 KB file can declare XFD1048576):
    rows are read as they occur, whitespace-only rows are skipped, and only the
    header's width is kept (a value right of the header is refused, as a nameless
    column). Memory grows with the cells actually present, up to :data:`_MAX_CELLS`.
    Any failure of the zip/XML layers (not a zip, bad deflate, truncated XML) is one
    InputError line naming the file.
    """
    import openpyxl  # here, not at import: a CSV or Parquet bundle never needs it

    _check_archive(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # third-party parser of an untrusted file: any failure
        raise _unreadable(path, exc, "not a readable .xlsx workbook") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(
                f"{path}: no sheet named {sheet!r}; the workbook has {book.sheetnames}"
            )
        return _scan_sheet(path, book[sheet] if sheet is not None else book.worksheets[0])
    except InputError:
        raise
    except Exception as exc:
        raise _unreadable(path, exc, "the sheet cannot be read") from None
    finally:
        book.close()


def _scan_sheet(path: Path, ws: Any) -> tuple[list[str], list[pa.ChunkedArray], np.ndarray]:
    ws.reset_dimensions()  # ignore the declared size; read what is present
    header: list[str] | None = None
    header_at = 0
    data: list[list[str]] = []
    numbers: list[int] = []
    beyond = 0  # first column right of the header holding a value (1-based)
    for number, row in enumerate(ws.iter_rows(), start=1):
        if not row and number <= _EXCEL_ROWS:
            continue  # a row absent from the sheet (openpyxl yields no cells): blank
        if number > _EXCEL_ROWS or len(row) > _EXCEL_COLUMNS:
            raise InputError(
                f"{path}: the sheet goes beyond Excel's {_EXCEL_ROWS:,} rows x "
                f"{_EXCEL_COLUMNS:,} columns; re-save the workbook from Excel"
            )
        # Cell texts are made only where needed: a row can hold 16,384 cells (openpyxl
        # fills the gaps) when one value sits far right of the header.
        last = len(row)
        while last and not _cell_text(row[last - 1]).strip():
            last -= 1
        if not last:
            continue
        if header is None:
            header, header_at = [_cell_text(c) for c in row[:last]], number
            continue
        width = len(header)
        if last > width:
            extra = next(j for j in range(width, last) if _cell_text(row[j]).strip()) + 1
            beyond = extra if not beyond else min(beyond, extra)
        values = [_cell_text(c) for c in row[:width]]
        if (len(data) + 1) * width > _MAX_CELLS:
            raise InputError(
                f"{path}: the sheet holds more than {_MAX_CELLS:,} cells; save the table "
                "as .csv or .parquet"
            )
        data.append(values + [""] * (width - min(last, width)))
        numbers.append(number - header_at)
    if header is None:
        raise InputError(f"{path}: the sheet is empty; put the column names in the first row")
    columns = [
        pa.chunked_array([pa.array([r[j] for r in data], pa.string())], pa.string())
        for j in range(len(header))
    ]
    if beyond:  # a value right of the header: refuse it as a nameless column with data
        _check_header(path, header, columns)
        raise InputError(
            f"{path}: header cell {beyond} is empty but its column holds data; "
            "name the column or delete it"
        )
    return header, columns, np.asarray(numbers, dtype=np.int64)
