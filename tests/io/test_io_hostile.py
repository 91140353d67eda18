"""Hostile and broken input files: one InputError line naming the file, never a crash.

Each case here crashed (or misled) before issue 11: UTF-16 without a byte-order mark read
as a one-field CSV, undecodable bytes met inside the error path, spreadsheets whose
declared dimension allocated gigabytes, corrupt workbooks, deep TOML, OS errors.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from efficacy.errors import InputError
from efficacy.io import read_trial
from tests.io.bundle_factory import SUBJECTS_CSV, tree_hashes, write_manifest


def _refused(folder: Path) -> str:
    before = tree_hashes(folder)
    with pytest.raises(InputError) as info:
        read_trial(folder)
    assert tree_hashes(folder) == before
    message = str(info.value)
    assert "\n" not in message
    return message


def _bundle_with(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    write_manifest(folder, {"subjects": name})
    return path


# --- CSV encoding ----------------------------------------------------------------------

LONG_CSV = SUBJECTS_CSV + "".join(
    f"S{i:04d},ACTIVE,true,true,true,true,completed,,30,F,II,2025-01-20,01\n"
    for i in range(4, 3000)
)


@pytest.mark.parametrize(
    ("codec", "kind"),
    [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32-le", "UTF-32")],
)
def test_utf16_without_bom_is_named(tmp_path: Path, codec: str, kind: str) -> None:
    """Was 'line 3002: 1 field where the header has 13' (LE) or read as data (BE)."""
    path = _bundle_with(tmp_path, "subjects.csv", LONG_CSV.encode(codec))
    assert _refused(tmp_path) == (
        f"{path}: the file looks like {kind} text without a byte-order mark (NUL bytes "
        "between the letters); re-save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"
    )


def test_bad_byte_after_a_ragged_row_names_the_encoding(tmp_path: Path) -> None:
    """A ragged row early and a Latin-1 byte later: the encoding is named, by line."""
    data = SUBJECTS_CSV.encode() + b"S9,ACTIVE,true,extra\n" + LONG_CSV.encode()[-300:]
    data += "S10,ACTIVE,true,true,true,true,completed,d\u00e9m,30,F,II,2025-01-20,01\n".encode(
        "latin-1"
    )
    path = _bundle_with(tmp_path, "subjects.csv", data)
    line = data.count(b"\n")
    assert _refused(tmp_path).startswith(f"{path} line {line}: not UTF-8 text (byte 0xe9)")


def test_character_split_across_read_chunks_is_fine(tmp_path: Path) -> None:
    """A 2-byte character straddling the 1 MB read boundary is valid UTF-8."""
    from efficacy.io._files import read_text

    head = b"subject_id,note\n"
    filler = b"S1," + b"x" * ((1 << 20) - 1 - len(head) - 3)
    body = head + filler + "\u00e9\nS2,ok\n".encode()
    assert body[(1 << 20) - 1 : (1 << 20) + 1] == "\u00e9".encode()
    path = tmp_path / "t.csv"
    path.write_bytes(body)
    text, _ = read_text(path)
    assert text.columns[1].to_pylist()[0].endswith("x\u00e9")
    assert text.n_rows == 2


def test_nul_byte_in_a_text_file(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", b"subject_id,arm\nS1,A\nS2,\x00B\n")
    assert _refused(tmp_path).startswith(f"{path} line 3: contains a NUL byte (0x00)")


def test_file_ending_inside_a_character(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", b"subject_id,arm\nS1,A\nS2,\xc3")
    assert _refused(tmp_path).startswith(
        f"{path} line 3: not UTF-8 text (the file ends inside a character)"
    )


# --- Excel -----------------------------------------------------------------------------


def _cell(ref: str, value: str | float) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def sheet_xml(rows: dict[int, dict[str, str | float]], dimension: str | None = None) -> str:
    """A worksheet part: ``rows`` maps a sheet row number to {column letters: value}."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(
        f'<row r="{r}">' + "".join(_cell(f"{c}{r}", v) for c, v in cells.items()) + "</row>"
        for r, cells in sorted(rows.items())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{body}</sheetData></worksheet>"
    )


def write_xlsx(path: Path, sheet: str, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    """A minimal hand-written workbook (one sheet, inline strings), like Excel writes."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", compress) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    return path


SMALL = {1: {"A": "subject_id", "B": "arm"}, 2: {"A": "S1", "B": "ACTIVE"}, 4: {"A": "S2"}}

_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB: fail fast, not swap
from pathlib import Path
from efficacy.io._files import read_text
text, _ = read_text(Path(sys.argv[1]))
# VmHWM is this process's own peak; ru_maxrss keeps the forking parent's (a big pytest worker)
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
kb = int(peak[0].split()[1]) if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(text.names, text.n_rows, kb // 1024)
"""


def test_absurd_declared_dimension_is_read_within_a_memory_bound(tmp_path: Path) -> None:
    """One cell at XFD1048576 in a 1.5 KB file: pandas padded it to 16,384 x 1,048,576
    cells (MemoryError at 2.6 GB RSS under a 4 GB limit); now ~150 MB peak."""
    path = write_xlsx(tmp_path / "far.xlsx", sheet_xml({1_048_576: {"XFD": "x"}}, "A1:XFD1048576"))
    assert path.stat().st_size < 2048
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-500:]
    names, n_rows, peak_mb = done.stdout.split(")")[0] + ")", *done.stdout.split(")")[1].split()
    assert names == "('x',)" and n_rows == "0"
    assert int(peak_mb) < 400


def test_value_far_right_of_the_header_is_a_nameless_column(tmp_path: Path) -> None:
    rows = {**SMALL, 1_048_576: {"XFD": 1}}
    path = write_xlsx(tmp_path / "subjects.xlsx", sheet_xml(rows, "A1:XFD1048576"))
    write_manifest(tmp_path, {"subjects": "subjects.xlsx"})
    assert _refused(tmp_path) == (
        f"{path}: header cell 16384 is empty but its column holds data; "
        "name the column or delete it"
    )


def test_small_hand_written_workbook_reads_with_sheet_row_numbers(tmp_path: Path) -> None:
    from efficacy.io._files import read_text

    text, fmt = read_text(write_xlsx(tmp_path / "t.xlsx", sheet_xml(SMALL, "A1:B4")))
    assert (fmt, text.names) == ("xlsx", ("subject_id", "arm"))
    assert [c.to_pylist() for c in text.columns] == [["S1", "S2"], ["ACTIVE", ""]]
    assert text.rows.tolist() == [1, 3]


def _corrupt(kind: str, path: Path) -> Path:
    good = sheet_xml(SMALL, "A1:B4")
    if kind == "truncated XML":
        return write_xlsx(path, good[: len(good) // 2])
    if kind == "bad deflate":
        write_xlsx(path, good)
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as book:
            info = book.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        data[start : start + info.compress_size] = b"\xff" * info.compress_size
        path.write_bytes(bytes(data))
        return path
    if kind == "truncated zip":
        write_xlsx(path, good)
        path.write_bytes(path.read_bytes()[:700])
        return path
    if kind == "numbers out of range":
        return write_xlsx(
            path,
            sheet_xml({1: {"A": "id"}, 2: {"A": "1e999"}}).replace(
                't="inlineStr"><is><t>1e999</t></is>', "><v>1e999</v>"
            ),
        )
    if kind == "text cell number":
        return write_xlsx(path, good.replace('t="inlineStr"><is><t>S1</t></is>', "><v>S1</v>"))
    path.write_bytes(b"subject_id,arm\nS1,A\n")  # "not a zip": a CSV named .xlsx
    return path


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("truncated XML", "the sheet cannot be read (ParseError: "),
        ("bad deflate", "not a readable .xlsx workbook (error: Error -3 while decompressing"),
        ("truncated zip", "not a readable .xlsx workbook (BadZipFile: "),
        ("not a zip", "not a readable .xlsx workbook (BadZipFile: File is not a zip file)"),
        ("text cell number", "the sheet cannot be read (ValueError: "),
    ],
)
def test_corrupt_workbook_is_one_line_naming_the_file(tmp_path: Path, kind: str, what: str) -> None:
    path = _corrupt(kind, tmp_path / "subjects.xlsx")
    write_manifest(tmp_path, {"subjects": "subjects.xlsx"})
    message = _refused(tmp_path)
    assert message.startswith(f"{path}: {what}")
    assert message.endswith("; re-save the workbook from Excel as .xlsx")


def test_overflowing_number_cell_is_text_not_a_crash(tmp_path: Path) -> None:
    """<v>1e999</v> is float inf: pandas' int(inf) raised OverflowError."""
    from efficacy.io._files import read_text

    text, _ = read_text(_corrupt("numbers out of range", tmp_path / "t.xlsx"))
    assert [c.to_pylist() for c in text.columns] == [["inf"]]


def test_cell_cap_refuses_a_huge_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from efficacy.io import _files

    monkeypatch.setattr(_files, "_MAX_CELLS", 3)
    path = write_xlsx(tmp_path / "subjects.xlsx", sheet_xml(SMALL))
    write_manifest(tmp_path, {"subjects": "subjects.xlsx"})
    assert _refused(tmp_path) == (
        f"{path}: the sheet holds more than 3 cells; save the table as .csv or .parquet"
    )


def test_row_beyond_excel_limit_is_refused(tmp_path: Path) -> None:
    """A row number past 1,048,576 would make openpyxl yield empty rows for minutes."""
    path = write_xlsx(tmp_path / "subjects.xlsx", sheet_xml({**SMALL, 1_048_577: {"A": "x"}}))
    write_manifest(tmp_path, {"subjects": "subjects.xlsx"})
    assert _refused(tmp_path).startswith(
        f"{path}: the sheet goes beyond Excel's 1,048,576 rows x 16,384 columns"
    )


# --- Manifest ids ----------------------------------------------------------------------


def _sample_copy(tmp_path: Path, name: str = "parallel_12wk") -> Path:
    import shutil

    return Path(shutil.copytree(Path(__file__).parents[2] / "sample_data" / name, tmp_path / "b"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'id = "VEHICLE"',
            'id = " ACTIVE "',
            "[[arms]] id 'ACTIVE' is declared twice (arms[1].id and arms[2].id); "
            "give every arm its own id",
        ),
        (
            'id = "W8"',
            'id = "W4"',
            "[[visits]] id 'W4' is declared twice (visits[3].id and visits[4].id); "
            "give every visit its own id",
        ),
    ],
)
def test_duplicate_manifest_ids_are_refused_before_any_analysis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    """Duplicate arm ids reached pandas ('categories must be unique') in analyze --force."""
    from efficacy.cli import main

    bundle = _sample_copy(tmp_path)
    toml = bundle / "trial.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    assert _refused(bundle) == f"{toml}: {expected}"
    out = tmp_path / "out"
    assert main(["analyze", str(bundle), "--force", "--out", str(out), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


# --- Deep TOML ---------------------------------------------------------------------------

DEEP = {
    "arrays": "x = " + "[" * 1000 + "]" * 1000 + "\n",
    "inline tables": "x = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n",
    "dotted keys": "x" + ".a" * 1000 + " = 1\n",
    "table header": "[x" + ".a" * 1000 + "]\n",
}
_TOO_DEEP = "is nested more than 16 levels deep; a trial or protocol file needs a few"


@pytest.mark.parametrize("kind", list(DEEP))
def test_deep_toml_manifest_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """Nested arrays/inline tables raised RecursionError in tomllib; dotted keys parsed
    into a 1,000-deep dict that later code recursed into."""
    from efficacy.cli import main

    bundle = _sample_copy(tmp_path)
    toml = bundle / "trial.toml"
    toml.write_text(DEEP[kind] + toml.read_text(encoding="utf-8"), encoding="utf-8")
    message = _refused(bundle)
    assert message.startswith(f"{toml}: not valid TOML: ")
    assert _TOO_DEEP in message
    assert main(["validate", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and _TOO_DEEP in err and "Traceback" not in err


@pytest.mark.parametrize("kind", list(DEEP))
def test_deep_toml_protocol_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    from efficacy.cli import main
    from efficacy.errors import ProtocolError
    from efficacy.protocol import load_protocol

    path = tmp_path / "deep.toml"
    path.write_text('extends = "iso-efficacy-2025"\n' + DEEP[kind], encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert str(info.value).startswith(f"protocol file {path}: not valid TOML: ")
    assert _TOO_DEEP in str(info.value) and "\n" not in str(info.value)
    bundle = _sample_copy(tmp_path)
    assert main(["validate", str(bundle), "--protocol", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and _TOO_DEEP in err and "Traceback" not in err


def test_moderately_nested_toml_still_parses(tmp_path: Path) -> None:
    from efficacy.io._toml import load_toml

    path = tmp_path / "ok.toml"
    path.write_text("x = " + "[" * 15 + "1" + "]" * 15 + "\n", encoding="utf-8")
    value = load_toml(path)["x"]
    for _ in range(15):
        value = value[0]
    assert value == 1


# --- OS errors on input ------------------------------------------------------------------

LONG = "n" * 300 + ".csv"  # a file name longer than NAME_MAX (255): ENAMETOOLONG


def _with_table(bundle: Path, key: str, spec: str) -> Path:
    toml = bundle / "trial.toml"
    text = toml.read_text(encoding="utf-8")
    start = text.index(f"{key} = ")
    end = text.index("\n", start)
    toml.write_text(text[:start] + f'{key} = "{spec}"' + text[end:], encoding="utf-8")
    return toml


@pytest.mark.parametrize("key", ["subjects", "faceq_conversion"])
@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("name too long", "File name too long"),
        ("symlink loop", "Too many levels of symbolic links"),
        ("NUL byte", "embedded null byte"),
    ],
)
def test_os_error_on_a_table_names_key_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, kind: str, reason: str
) -> None:
    """ENAMETOOLONG was an OSError traceback from Path.exists; a symbolic-link loop a
    RuntimeError from Path.resolve; a NUL byte a ValueError."""
    from efficacy.cli import main

    bundle = _sample_copy(tmp_path)
    spec = {"name too long": LONG, "symlink loop": "loop.csv", "NUL byte": "a\\u0000.csv"}[kind]
    if kind == "symlink loop":
        (bundle / "loop.csv").symlink_to("loop2.csv")
        (bundle / "loop2.csv").symlink_to("loop.csv")
    toml = _with_table(bundle, key, spec)
    shown = spec.replace("\\u0000", "\x00")
    message = _refused(bundle)
    assert message.startswith(f"{toml}: [tables] {key} = {shown!r}: ")
    assert message.endswith(f"({reason}); fix the path or the file")
    assert main(["validate", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and reason in err and "Traceback" not in err


def test_unreadable_table_names_key_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Permission denied (simulated: the tests may run as root) while reading a table."""
    import builtins

    from efficacy.cli import main

    bundle = _sample_copy(tmp_path)
    target = str((bundle / "subjects.csv").resolve())
    real_open = builtins.open
    import io as _io

    def deny(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file) == target:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    monkeypatch.setattr(_io, "open", deny)
    with pytest.raises(InputError) as info:
        read_trial(bundle)
    assert str(info.value) == (
        f"{bundle / 'trial.toml'}: [tables] subjects = 'subjects.csv': {bundle / 'subjects.csv'}"
        ": cannot be read (Permission denied); fix the path or the file"
    )
    assert main(["validate", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err and "Traceback" not in err


def test_bundle_path_too_long_is_one_line(tmp_path: Path, capsys) -> None:
    from efficacy.cli import main

    path = tmp_path / ("b" * 300)
    with pytest.raises(InputError) as info:
        read_trial(path)
    assert str(info.value) == f"{path}: cannot be used (File name too long)"
    assert main(["validate", str(path)]) == 2
    assert "File name too long" in capsys.readouterr().err


@pytest.mark.parametrize(("kind", "reason"), [("long", "File name too long")])
def test_protocol_path_os_error_is_one_line(tmp_path: Path, capsys, kind: str, reason: str) -> None:
    from efficacy.cli import main
    from efficacy.protocol import load_protocol

    path = tmp_path / ("p" * 300 + ".toml")
    with pytest.raises(InputError) as info:
        load_protocol(path)
    assert str(info.value) == f"protocol file {path}: cannot be used ({reason})"
    assert main(["validate", str(_sample_copy(tmp_path)), "--protocol", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and reason in err and "Traceback" not in err


# --- Through the command line ------------------------------------------------------------


def _utf16(folder: Path) -> str:
    (folder / "subjects.csv").write_bytes(LONG_CSV.encode("utf-16-le"))
    return "the file looks like UTF-16 text without a byte-order mark"


def _xlsx(kind: str):  # type: ignore[no-untyped-def]
    def make(folder: Path) -> str:
        _corrupt(kind, folder / "subjects.xlsx")
        _with_table(folder, "subjects", "subjects.xlsx")
        return {"not a zip": "not a readable .xlsx workbook", "truncated XML": "ParseError"}[kind]

    return make


def _far(folder: Path) -> str:
    rows = {**SMALL, 1_048_576: {"XFD": 1}}
    write_xlsx(folder / "subjects.xlsx", sheet_xml(rows, "A1:XFD1048576"))
    _with_table(folder, "subjects", "subjects.xlsx")
    return "header cell 16384 is empty but its column holds data"


@pytest.mark.parametrize(
    "plant", [_utf16, _xlsx("not a zip"), _xlsx("truncated XML"), _far], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("command", ["validate", "score", "analyze", "report"])
def test_hostile_table_through_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], plant, command: str
) -> None:
    """Exit 2, one line on stderr naming the file, no traceback, inputs unchanged."""
    from efficacy.cli import main

    bundle = _sample_copy(tmp_path, "flawed_pro")
    expected = plant(bundle)
    before = tree_hashes(bundle)
    argv = [command, str(bundle)]
    if command in ("score", "analyze", "report"):
        argv += ["--out", str(tmp_path / "out")]
    if command == "analyze":
        argv += ["--format", "csv"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert str(bundle / "subjects.") in err
    assert tree_hashes(bundle) == before


def test_zip_bomb_parts_are_refused_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4M shared strings in a 10 MB workbook took 135 s and 750 MB; parts openpyxl loads
    whole are capped by their declared size (also one renamed by [Content_Types].xml)."""
    from efficacy.io import _files

    path = write_xlsx(tmp_path / "subjects.xlsx", sheet_xml(SMALL))
    with zipfile.ZipFile(path) as book:
        parts = {n: book.read(n).decode() for n in book.namelist()}
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        "</Types>",
        '<Override ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'sharedStrings+xml" PartName="/xl/worksheets/strings.xml"/></Types>',
    )
    parts["xl/worksheets/strings.xml"] = "<sst>" + "<si><t>x</t></si>" * 200 + "</sst>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    write_manifest(tmp_path, {"subjects": "subjects.xlsx"})
    monkeypatch.setattr(_files, "_MAX_LOADED_PART", 3 << 10)
    assert _refused(tmp_path) == (
        f"{path}: the workbook part xl/worksheets/strings.xml unzips to 0 MB (more than 0 MB);"
        " save the table as .csv or .parquet"
    )
    monkeypatch.setattr(_files, "_MAX_LOADED_PART", 32 << 20)
    monkeypatch.setattr(_files, "_MAX_UNZIPPED", 4 << 10)
    assert "the workbook unzips to 0 MB (more than 0 MB)" in _refused(tmp_path)
