"""The one file writer (efficacy._atomic): modes, sets replaced together, interrupts."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from efficacy import _atomic
from efficacy._atomic import FileSet, check_folder, file_mode, write_file
from efficacy.errors import InputError


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tmp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def _old_set(folder: Path) -> dict[str, bytes]:
    files = {"report.html": b"<p>trial A</p>\n", "report.json": b'{"trial": "A"}\n'}
    with FileSet() as fs:
        for name, payload in files.items():
            fs.add(folder / name, payload)
    return files


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_modes_follow_the_umask(tmp_path: Path, umask_022: None) -> None:
    assert file_mode() == 0o644
    paths = [write_file(tmp_path / "a.json", "{}\n"), write_file(tmp_path / "b.bin", b"\x00")]
    assert [_mode(p) for p in paths] == [0o644, 0o644]
    os.umask(0o027)
    assert _mode(write_file(tmp_path / "c.csv", "x\n")) == 0o640
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == "{}\n"
    assert _tmp_files(tmp_path) == []


def test_nothing_is_in_place_before_commit(tmp_path: Path) -> None:
    fs = FileSet()
    fs.add(tmp_path / "out" / "a.txt", "new")
    assert (tmp_path / "out").is_dir() and not (tmp_path / "out" / "a.txt").exists()
    assert len(_tmp_files(tmp_path)) == 1
    assert fs.commit() == [tmp_path / "out" / "a.txt"]
    assert (tmp_path / "out" / "a.txt").read_text() == "new" and _tmp_files(tmp_path) == []


def test_interrupt_while_rendering_keeps_the_old_set(tmp_path: Path) -> None:
    old = _old_set(tmp_path)

    def render_pdf(fh: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), FileSet() as fs:
        fs.add(tmp_path / "report.html", b"<p>trial B</p>\n")
        fs.add(tmp_path / "report.pdf", render_pdf)
        fs.add(tmp_path / "report.json", b'{"trial": "B"}\n')
    assert _contents(tmp_path) == old
    assert _tmp_files(tmp_path) == []


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_interrupt_between_renames_puts_the_old_set_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    old = _old_set(tmp_path)
    real_replace = os.replace
    calls = {"n": 0}

    def replace(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt  # as if Ctrl-C arrived between two renames
        real_replace(src, dst)

    fs = FileSet()
    fs.add(tmp_path / "report.html", b"<p>trial B</p>\n")
    fs.add(tmp_path / "report.json", b'{"trial": "B"}\n')
    fs.add(tmp_path / "report.pdf", b"%PDF-B")  # new in this set: removed again
    monkeypatch.setattr(_atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        fs.commit()
    monkeypatch.setattr(_atomic.os, "replace", real_replace)
    assert _contents(tmp_path) == old
    assert _tmp_files(tmp_path) == []


def test_sigint_during_commit_is_delivered_after_the_whole_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    real_replace = os.replace
    sent = {"done": False}

    def replace(src: object, dst: object) -> None:
        real_replace(src, dst)
        if not sent["done"]:
            sent["done"] = True
            # Ctrl-C after the first rename: run the SIGINT handler in place, as Python
            # does when the signal arrives (deterministic, unlike an asynchronous signal)
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)

    fs = FileSet()
    fs.add(tmp_path / "a.csv", "a\n")
    fs.add(tmp_path / "b.csv", "b\n")
    monkeypatch.setattr(_atomic.os, "replace", replace)
    # Python's own Ctrl-C handler, whatever the test runner installed (an xdist worker
    # may ignore SIGINT, and the held signal would then rightly be dropped)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            fs.commit()
    finally:
        signal.signal(signal.SIGINT, before)
    monkeypatch.setattr(_atomic.os, "replace", real_replace)
    # the signal was held until both renames were done: the new set is complete
    assert _contents(tmp_path) == {"a.csv": b"a\n", "b.csv": b"b\n"}
    assert _tmp_files(tmp_path) == []


def test_report_write_interrupted_while_rendering_the_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M1: a re-run interrupted during the PDF leaves the previous report set whole."""
    from efficacy.report import build_report, model
    from tests.consort.bundle_factory import make_bundle, r2

    def trial(name: str, subject: str) -> object:
        row = (
            subject,
            "ACTIVE",
            "",
            "true",
            "true",
            "true",
            "true",
            "completed",
            "",
            30,
            "F",
            "II",
        )
        return make_bundle(tmp_path / name, [row], [r2(subject, "W0", 0.6)])

    out = tmp_path / "R"
    first = build_report(trial("a", "S01"))
    monkeypatch.setattr(model, "_pdf", lambda html: b"%PDF-first " + html[:20].encode())
    first.write(out, ["html", "pdf", "json"])
    before = _contents(out)
    assert sorted(before) == ["report.html", "report.json", "report.pdf"]

    def interrupted(html: str) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "_pdf", interrupted)
    second = build_report(trial("b", "S02"))
    assert second.to_json() != first.to_json()
    with pytest.raises(KeyboardInterrupt):
        second.write(out, ["html", "pdf", "json"])
    assert _contents(out) == before
    assert _tmp_files(out) == []


def test_check_folder_refuses_what_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError, match=r"is a file, not a folder; give a folder path"):
        check_folder(afile)
    with pytest.raises(InputError, match=r"afile is a file, so the folder cannot be created"):
        check_folder(afile / "sub" / "dir")
    assert check_folder(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]  # and leaves no probe file

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_atomic.tempfile, "mkstemp", denied)
    with pytest.raises(InputError) as info:
        check_folder(tmp_path / "ro", "--out")
    assert str(info.value) == (
        f"--out {tmp_path / 'ro'}: cannot write there (in {tmp_path}, where it would be "
        "created): Permission denied; choose a folder you can write to, or fix its permissions"
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_check_folder_on_a_folder_not_even_root_can_write() -> None:
    # chmod does not stop root (the tests run as root): /proc refuses new files for all
    with pytest.raises(InputError, match=r"^--out /proc/efficacy-out: cannot write there"):
        check_folder("/proc/efficacy-out")


def test_a_folder_in_the_way_is_named_and_the_set_left_alone(tmp_path: Path) -> None:
    old = _old_set(tmp_path)
    (tmp_path / "report.pdf").mkdir()
    with pytest.raises(InputError) as info, FileSet() as fs:
        fs.add(tmp_path / "report.html", b"new")
        fs.add(tmp_path / "report.pdf", b"%PDF")
    assert str(info.value).startswith(f"{tmp_path / 'report.pdf'}: cannot be written (")
    assert ".tmp" not in str(info.value)
    assert _contents(tmp_path) == old and (tmp_path / "report.pdf").is_dir()
    assert _tmp_files(tmp_path) == []
