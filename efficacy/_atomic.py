"""The one file writer of `efficacy`: checked folders, atomic sets of files.

Every file the package writes (the report's HTML, PDF and JSON, the CSV tables of
``efficacy score`` and ``efficacy analyze``) goes through :class:`FileSet`:

* each file is rendered to a temporary file in its target folder, flushed and fsynced;
* it gets the usual mode of a new file, 0666 minus the umask (0644 under umask 022),
  whatever the temporary file was created with;
* :meth:`FileSet.commit` renames every temporary file over its target in one step at the
  end. SIGINT and SIGTERM are held back while it runs, and if a rename fails the targets
  already replaced are put back, so an interrupted or failed run leaves the previous
  complete set of files (or none), never a mix of two runs, and no temporary files.

:func:`check_folder` refuses a folder that cannot be written before any work is done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from efficacy.errors import InputError

__all__ = ["FileSet", "check_folder", "file_mode", "write_file"]

_TMP_SUFFIX = ".tmp"


def file_mode() -> int:
    """Return the mode of a new regular file under the current umask (0o644 under 022)."""
    mask = _umask()
    return 0o666 & ~mask


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would race with other threads)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_folder(folder: str | os.PathLike[str], option: str = "--out") -> Path:
    """Refuse a folder that cannot be written, before any work is done.

    The folder may not exist yet (it is created when the files are written); then its
    nearest existing ancestor must be a folder that can be written. Writability is
    probed by creating and removing a temporary file, which also catches read-only
    mounts, immutable folders and permissions that do not stop root.

    Parameters
    ----------
    folder : str or path-like
        The output folder.
    option : str
        How the user named it (``--out``, ``out_dir``), for the message.

    Returns
    -------
    Path
        `folder` as a Path.

    Raises
    ------
    InputError
        One line naming the folder, the reason and the fix.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise InputError(
            f"{option} {path}: is a file, not a folder; give a folder path (or move the file)"
        )
    probe = path
    while not probe.exists():
        if probe.parent == probe:  # pragma: no cover - a root that does not exist
            break
        probe = probe.parent
    if probe != path and not probe.is_dir():
        raise InputError(
            f"{option} {path}: {probe} is a file, so the folder cannot be created there; "
            "give a path under a folder"
        )
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".efficacy-write-check.", suffix=_TMP_SUFFIX)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = "" if probe == path else f" (in {probe}, where it would be created)"
        raise InputError(
            f"{option} {path}: cannot write there{where}: {reason}; choose a folder you can "
            "write to, or fix its permissions"
        ) from None
    return path


Payload = str | bytes | Callable[[IO[bytes]], None]


class FileSet:
    r"""A set of files written to temporary files now and renamed into place together.

    Use it as a context manager: files are added (rendered) inside the block, and
    committed when the block ends normally; on an exception (KeyboardInterrupt included)
    every temporary file is removed and the previous files stay as they were.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> with FileSet() as files:
    ...     _ = files.add(out / "a.json", "{}\n")
    ...     _ = files.add(out / "b.csv", b"x\n1\n")
    >>> sorted(p.name for p in out.iterdir())
    ['a.json', 'b.csv']
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary file, target)
        self._done = False

    def add(self, path: str | os.PathLike[str], payload: Payload) -> Path:
        """Render `payload` to a temporary file beside `path` (created folder, fsynced).

        Parameters
        ----------
        path : str or path-like
            The target file; its folder is created if needed.
        payload : str, bytes or callable
            Text (written as UTF-8), bytes, or a function that writes bytes to the open
            binary file it is given.

        Returns
        -------
        Path
            The target path (not written until :meth:`commit`).
        """
        if self._done:
            raise RuntimeError("this FileSet was already committed or discarded")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=_TMP_SUFFIX
        )
        tmp = Path(name)
        self._pending.append((tmp, target))  # registered first: discard() removes it
        with os.fdopen(fd, "wb") as fh:
            if isinstance(payload, str):
                fh.write(payload.encode("utf-8"))
            elif isinstance(payload, bytes):
                fh.write(payload)
            else:
                payload(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())  # mkstemp makes 0600: give the usual mode
        return target

    def commit(self) -> list[Path]:
        """Rename every temporary file over its target; all or none.

        Returns
        -------
        list of Path
            The targets, in the order they were added.
        """
        if self._done:
            raise RuntimeError("this FileSet was already committed or discarded")
        with _signals_held():
            backups: list[tuple[Path, Path | None]] = []  # (target, its previous version)
            replaced = 0
            target = Path()
            try:
                for _tmp, target in self._pending:
                    backups.append((target, _backup(target)))
                for tmp, target in self._pending:
                    os.replace(tmp, target)
                    replaced += 1
            except OSError as exc:  # e.g. a folder in the way: name the file, not the temp
                _restore(backups[:replaced])
                self.discard()
                raise InputError(
                    f"{target}: cannot be written ({exc.strerror or type(exc).__name__}); "
                    "remove or rename what is in the way, or choose another folder"
                ) from None
            except BaseException:
                _restore(backups[:replaced])
                self.discard()
                raise
            finally:
                for _target, backup in backups:
                    if backup is not None:
                        _unlink(backup)
            for folder in dict.fromkeys(t.parent for _, t in self._pending):
                _fsync_folder(folder)
            self._done = True
        return [target for _, target in self._pending]

    @property
    def targets(self) -> list[Path]:
        """The target paths added so far, in order."""
        return [target for _, target in self._pending]

    def discard(self) -> None:
        """Remove every temporary file; the targets are left as they were."""
        for tmp, _target in self._pending:
            _unlink(tmp)
        self._done = True

    def __enter__(self) -> FileSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            if not self._done:
                self.commit()
        elif not self._done:
            self.discard()


def write_file(path: str | os.PathLike[str], payload: Payload) -> Path:
    """Write one file atomically (a :class:`FileSet` of one); return its path."""
    with FileSet() as files:
        files.add(path, payload)
    return Path(path)


def _backup(target: Path) -> Path | None:
    """Keep the current version of `target` under a temporary name (a hard link)."""
    if not target.exists():
        return None
    backup = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.old{_TMP_SUFFIX}")
    try:
        os.link(target, backup)
    except OSError:  # no hard links on this file system
        shutil.copy2(target, backup)
    return backup


def _restore(backups: list[tuple[Path, Path | None]]) -> None:
    """Put back the previous version of each replaced target (remove those that were new).

    The previous version is copied back from its hard link (the link itself is removed
    by the caller), so a failure here leaves the backup for the caller to clean up.
    """
    for target, backup in backups:
        with contextlib.suppress(OSError):
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                _relink(backup, target)


def _relink(backup: Path, target: Path) -> None:
    """Make `target` the file `backup` links to again, atomically (link, then rename)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.back{_TMP_SUFFIX}")
    try:
        try:
            os.link(backup, tmp)
        except OSError:
            shutil.copy2(backup, tmp)
        os.replace(tmp, target)
    finally:
        _unlink(tmp)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable (POSIX; a no-op where folders cannot be opened)."""
    if sys.platform == "win32":  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs, then deliver them.

    Only in the main thread (elsewhere Python cannot set signal handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[signal.Signals, Any] = {}

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    for held in (signal.SIGINT, signal.SIGTERM):
        previous[held] = signal.signal(held, hold)
    try:
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(caught):
            _deliver(signum, previous[signal.Signals(signum)])


def _deliver(signum: int, handler: Any) -> None:
    """Deliver a held signal now, synchronously (Ctrl-C: KeyboardInterrupt raised here)."""
    if callable(handler):
        handler(signum, None)
    elif handler != signal.SIG_IGN:  # the default action (SIGTERM: the process ends)
        signal.raise_signal(signum)
