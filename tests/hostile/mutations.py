"""Structure-aware mutations of a copy of a sample bundle, and hypothesis strategies.

A *mutation* is a small frozen dataclass whose :meth:`apply` edits one file of a bundle
folder in place (the folder is always a throw-away copy) and whose ``str()`` is a short,
human-readable description used in failure messages and the crash census. Mutations
never raise on their own account: one that cannot apply any more (its file was
re-encoded, swapped to another format or deleted by an earlier mutation) is a no-op.

Kinds (the issue-11 list):

* cells: empty, huge, negative, NaN / inf text, unicode, formula text
  (``=HYPERLINK(...)``), wrong types, quotes and line breaks (:class:`SetCell`);
* columns: dropped, duplicated, renamed, emptied header, swapped headers
  (:class:`ColumnOp`);
* rows: dropped, duplicated, header dropped, all rows dropped (:class:`RowOp`);
* ``trial.toml``: key deletion, value type changes, unknown keys (:class:`TomlEdit`),
  deep nesting (:class:`TomlDeep`), junk text (:class:`TomlJunk`);
* whole files: re-encoding (UTF-16 with / without BOM, latin-1, UTF-8 BOM + semicolons)
  (:class:`Encode`), format swaps CSV -> xlsx / parquet with the manifest pointed at the
  new file (:class:`SwapFormat`), truncation (:class:`Truncate`), a corrupt xlsx
  (:class:`CorruptXlsx`), a deleted file or a too-long file name (:class:`FileGone`).

Deliberately absent: an xlsx whose sheet dimension is absurd (``XFD1048576``); today it
makes ``read_excel`` allocate ~10 GB, which would take the shared CI machine down rather
than fail a test. It is a targeted test for the fix, not a random mutation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from efficacy.sim._toml import dumps

#: Sample bundles the strategies choose from (folders of ``sample_data``).
SAMPLES: tuple[str, ...] = (
    "parallel_12wk",
    "split_face_12wk",
    "flawed_consort",
    "flawed_design",
    "flawed_integrity",
    "flawed_manifest",
    "flawed_pro",
    "flawed_split_face",
)
#: The manifest's table keys and their file names in every sample bundle.
TABLE_FILES: dict[str, str] = {
    "subjects": "subjects.csv",
    "measurements": "measurements.csv",
    "pro_responses": "pro_responses.csv",
    "adverse_events": "adverse_events.csv",
    "faceq_conversion": "faceq_conversion_SYNTHETIC.csv",
}
TABLES: tuple[str, ...] = tuple(TABLE_FILES)
#: Largest table (data rows) that SwapFormat / CorruptXlsx turn into a workbook.
XLSX_MAX_ROWS = 2000
REPO = Path(__file__).resolve().parents[2]
SAMPLE_ROOT = REPO / "sample_data"


# -- bundle copies -------------------------------------------------------------------
def cut_bundle(source: Path, target: Path, n_subjects: int | None) -> Path:
    """Copy `source` to `target`, keeping only the first `n_subjects` subjects (all if None).

    Subject-keyed tables keep the rows of those subjects, in their original order; the
    manifest and the FACE-Q table are copied byte for byte.
    """
    shutil.copytree(source, target)
    if n_subjects is None:
        return target
    rows = read_csv(target / TABLE_FILES["subjects"])
    keep = {r[0] for r in rows[1 : n_subjects + 1]}
    for table in ("subjects", "measurements", "pro_responses", "adverse_events"):
        path = target / TABLE_FILES[table]
        rows = read_csv(path)
        col = rows[0].index("subject_id")
        write_csv(path, [rows[0], *(r for r in rows[1:] if len(r) > col and r[col] in keep)])
    return target


def tree_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below `folder`, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read_csv(path: Path) -> list[list[str]]:
    """The rows of a UTF-8 CSV file as lists of cells."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_csv(path: Path, rows: Sequence[Sequence[str]], delimiter: str = ",") -> None:
    """Write `rows` as a UTF-8 CSV file (``\\n`` line ends)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def _csv_rows(folder: Path, table: str) -> list[list[str]] | None:
    """The rows of `table`'s CSV file, or None when it is no longer a UTF-8 CSV file."""
    path = folder / TABLE_FILES[table]
    try:
        rows = read_csv(path)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return rows or None


def _pick(n: int, fraction: float) -> int:
    return min(int(fraction * n), n - 1)


def _set_manifest_file(folder: Path, table: str, name: str) -> None:
    """Point the manifest's ``[tables]`` entry of `table` at `name` (textual replace)."""
    path = folder / "trial.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    path.write_text(text.replace(f'"{TABLE_FILES[table]}"', f'"{name}"'), encoding="utf-8")


# -- mutations -----------------------------------------------------------------------
class Mutation:
    """Base class: ``apply(folder)`` edits the bundle copy in place."""

    def apply(self, folder: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class SetCell(Mutation):
    """Set one data cell (row and column chosen by fraction) to `value`."""

    table: str
    row: float
    col: float
    value: str

    def apply(self, folder: Path) -> None:
        rows = _csv_rows(folder, self.table)
        if rows is None or len(rows) < 2 or not rows[0]:
            return
        r = 1 + _pick(len(rows) - 1, self.row)
        c = _pick(len(rows[0]), self.col)
        rows[r] = rows[r] + [""] * (c + 1 - len(rows[r]))
        rows[r][c] = self.value
        write_csv(folder / TABLE_FILES[self.table], rows)

    def __str__(self) -> str:
        return f"cell({self.table}, row~{self.row:.2f}, col~{self.col:.2f}) = {self.value!r:.60}"


@dataclass(frozen=True)
class ColumnOp(Mutation):
    """drop / duplicate / rename / empty_name / upper / swap one column of a table."""

    table: str
    op: str
    col: float
    name: str = ""

    def apply(self, folder: Path) -> None:
        rows = _csv_rows(folder, self.table)
        if rows is None or not rows[0]:
            return
        j = _pick(len(rows[0]), self.col)
        if self.op == "drop":
            rows = [r[:j] + r[j + 1 :] for r in rows]
        elif self.op == "duplicate":
            rows = [[*r, r[j] if j < len(r) else ""] for r in rows]
        elif self.op == "rename":
            rows[0][j] = self.name
        elif self.op == "empty_name":
            rows[0][j] = ""
        elif self.op == "upper":
            rows[0][j] = rows[0][j].upper()
        else:  # swap with the next header
            k = (j + 1) % len(rows[0])
            rows[0][j], rows[0][k] = rows[0][k], rows[0][j]
        write_csv(folder / TABLE_FILES[self.table], rows)

    def __str__(self) -> str:
        extra = f" -> {self.name!r:.30}" if self.op == "rename" else ""
        return f"column {self.op}({self.table}, col~{self.col:.2f}){extra}"


@dataclass(frozen=True)
class RowOp(Mutation):
    """drop / duplicate `count` data rows from a position, drop the header, or all rows."""

    table: str
    op: str
    row: float
    count: int = 1

    def apply(self, folder: Path) -> None:
        rows = _csv_rows(folder, self.table)
        if rows is None:
            return
        header, body = rows[0], rows[1:]
        if self.op == "drop_header":
            rows = body or [[]]
        elif self.op == "drop_all":
            rows = [header]
        elif body:
            i = _pick(len(body), self.row)
            chunk = body[i : i + self.count]
            if self.op == "drop":
                body = body[:i] + body[i + self.count :]
            else:  # duplicate
                body = body[: i + self.count] + chunk + body[i + self.count :]
            rows = [header, *body]
        write_csv(folder / TABLE_FILES[self.table], rows)

    def __str__(self) -> str:
        return f"rows {self.op}({self.table}, row~{self.row:.2f}, n={self.count})"


def _walk(doc: Any, path: Sequence[Any]) -> Any:
    target = doc
    for key in path:
        if (isinstance(target, list) and isinstance(key, int) and key < len(target)) or (
            isinstance(target, dict) and key in target
        ):
            target = target[key]
        else:
            return None
    return target


@dataclass(frozen=True)
class TomlEdit(Mutation):
    """Delete the key at `path` of ``trial.toml`` or set it to `value` (any TOML type)."""

    path: tuple[Any, ...]
    value: Any = None
    delete: bool = False

    def apply(self, folder: Path) -> None:
        manifest = folder / "trial.toml"
        try:
            doc = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return
        parent = _walk(doc, self.path[:-1])
        last = self.path[-1]
        if isinstance(parent, dict):
            if self.delete:
                parent.pop(last, None)
            else:
                parent[last] = self.value
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            if self.delete:
                del parent[last]
            else:
                parent[last] = self.value
        try:
            text = dumps(doc)
        except Exception:
            return
        manifest.write_text(text, encoding="utf-8")

    def __str__(self) -> str:
        where = ".".join(map(str, self.path))
        return f"toml del {where}" if self.delete else f"toml {where} = {self.value!r:.60}"


@dataclass(frozen=True)
class TomlDeep(Mutation):
    """Append a key whose value is an array (or inline table) nested `depth` deep."""

    depth: int
    table: bool = False

    def apply(self, folder: Path) -> None:
        if self.table:
            value = "{a = " * self.depth + "1" + "}" * self.depth
        else:
            value = "[" * self.depth + "1" + "]" * self.depth
        with (folder / "trial.toml").open("r+b") as handle:
            text = handle.read()
            # a top-level key must come before the first table header
            handle.seek(0)
            handle.write(f"deep = {value}\n".encode() + text)

    def __str__(self) -> str:
        return f"toml deep {'inline-table' if self.table else 'array'} x{self.depth}"


@dataclass(frozen=True)
class TomlJunk(Mutation):
    """Append raw text (often invalid TOML: duplicate keys, bad syntax) to ``trial.toml``."""

    text: str

    def apply(self, folder: Path) -> None:
        with (folder / "trial.toml").open("a", encoding="utf-8") as handle:
            handle.write("\n" + self.text + "\n")

    def __str__(self) -> str:
        return f"toml append {self.text!r:.60}"


_FILES = (*TABLES, "trial.toml")


def _file(folder: Path, target: str) -> Path:
    return folder / (TABLE_FILES.get(target, target))


@dataclass(frozen=True)
class Encode(Mutation):
    """Re-encode a text file: utf-16 (BOM), utf-16-le (no BOM), latin-1, utf8-bom-semicolon."""

    target: str
    encoding: str

    def apply(self, folder: Path) -> None:
        path = _file(folder, self.target)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        if self.encoding == "utf8-bom-semicolon":
            if self.target == "trial.toml":
                return
            rows = list(csv.reader(io.StringIO(text)))
            write_csv(path, rows, delimiter=";")
            path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
            return
        if self.encoding == "latin-1":  # make sure there is a non-ASCII character
            text = text + "# é\n" if self.target == "trial.toml" else text.replace(",", "é,", 1)
        path.write_bytes(text.encode(self.encoding, errors="replace"))

    def __str__(self) -> str:
        return f"encode({self.target}) as {self.encoding}"


@dataclass(frozen=True)
class SwapFormat(Mutation):
    """Rewrite a table's CSV as .xlsx or .parquet (all text) and point the manifest at it.

    A table of more than :data:`XLSX_MAX_ROWS` rows is not swapped to .xlsx (a no-op):
    writing and reading a 12,000-row workbook takes ~30 s, which the cut bundles avoid.
    """

    table: str
    fmt: str

    def apply(self, folder: Path) -> None:
        import pandas as pd

        path = folder / TABLE_FILES[self.table]
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except Exception:
            return
        if self.fmt == "xlsx" and len(frame) > XLSX_MAX_ROWS:
            return
        frame.columns = [str(c) for c in frame.columns]
        new = path.with_suffix("." + self.fmt)
        try:
            if self.fmt == "xlsx":
                frame.to_excel(new, index=False)
            else:
                frame.to_parquet(new, index=False)
        except Exception:
            new.unlink(missing_ok=True)
            return
        path.unlink()
        _set_manifest_file(folder, self.table, new.name)

    def __str__(self) -> str:
        return f"swap({self.table}) to .{self.fmt}"


@dataclass(frozen=True)
class Truncate(Mutation):
    """Cut a file (whatever its format by now) to `fraction` of its bytes."""

    target: str
    fraction: float

    def apply(self, folder: Path) -> None:
        path = _file(folder, self.target)
        for candidate in (path, path.with_suffix(".xlsx"), path.with_suffix(".parquet")):
            if candidate.is_file():
                data = candidate.read_bytes()
                candidate.write_bytes(data[: int(len(data) * self.fraction)])
                return

    def __str__(self) -> str:
        return f"truncate({self.target}) to {self.fraction:.2f}"


@dataclass(frozen=True)
class CorruptXlsx(Mutation):
    """Swap a table to .xlsx, then damage one of its zip members (bad XML or bad deflate)."""

    table: str
    how: str  # "xml" (truncated sheet XML) or "deflate" (flipped compressed bytes)

    def apply(self, folder: Path) -> None:
        import zipfile

        if not (folder / TABLE_FILES[self.table]).is_file():
            return  # no longer a CSV file (already swapped, corrupted or deleted)
        SwapFormat(self.table, "xlsx").apply(folder)
        path = (folder / TABLE_FILES[self.table]).with_suffix(".xlsx")
        if not path.is_file() or (folder / TABLE_FILES[self.table]).is_file():
            return  # not swapped (too large, or not a table pandas reads)
        if self.how == "deflate":
            data = bytearray(path.read_bytes())
            with zipfile.ZipFile(path) as z:
                info = z.getinfo("xl/worksheets/sheet1.xml")
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            for k in range(start + 4, min(start + 64, start + info.compress_size)):
                data[k] ^= 0x5A
            path.write_bytes(bytes(data))
            return
        buf = io.BytesIO()
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
            for item in src.infolist():
                body = src.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    body = body[: len(body) // 2]
                dst.writestr(item, body)
        path.write_bytes(buf.getvalue())

    def __str__(self) -> str:
        return f"corrupt xlsx({self.table}, {self.how})"


@dataclass(frozen=True)
class FileGone(Mutation):
    """Delete a table's file, or point the manifest at a name too long for the OS."""

    table: str
    how: str  # "delete" or "long_name"

    def apply(self, folder: Path) -> None:
        if self.how == "delete":
            (folder / TABLE_FILES[self.table]).unlink(missing_ok=True)
        else:
            _set_manifest_file(folder, self.table, "x" * 300 + ".csv")

    def __str__(self) -> str:
        return f"file {self.how}({self.table})"


def apply_all(folder: Path, mutations: Sequence[Mutation]) -> None:
    """Apply `mutations` in order to the bundle copy in `folder`."""
    for mutation in mutations:
        mutation.apply(folder)


def describe(mutations: Sequence[Mutation]) -> str:
    """One line naming every mutation, in order."""
    return "; ".join(map(str, mutations)) or "(none)"
