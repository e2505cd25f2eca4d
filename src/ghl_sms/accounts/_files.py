"""Private files: written whole or not at all (temp file + rename) with mode 0600,
refused when others can read them, and an inter-process lock beside them."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
import threading
from pathlib import Path

from ghl_sms.accounts._errors import AccountsError

__all__ = ["FileLock", "check_private", "write_private"]

_POSIX = os.name == "posix"


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, readable by its owner only.

    A reader sees the old content or the new, never a half-written file; a crash
    leaves the old file in place (and at worst a stray temp file beside it).
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise AccountsError(
            f"Cannot write {path}: {exc.strerror or exc}.",
            hint="Check that the folder exists and that you can write there.",
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if _POSIX:
                os.fchmod(handle.fileno(), 0o600)  # mkstemp says 0600 already; make sure
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise AccountsError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    if _POSIX:
        with contextlib.suppress(OSError):  # the rename itself survives a power cut
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def check_private(path: Path, what: str) -> None:
    """Refuse ``path`` when its group or anyone else may read or write it."""
    if not _POSIX:
        return  # Windows ACLs are not mode bits; the user profile folder is private
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # the caller's read reports a missing or unreadable file
    if mode & 0o077:
        raise AccountsError(
            f"Refusing to read {path}: it holds {what} and its mode {mode:04o} lets other "
            "users read it.",
            hint=f"Run `chmod 600 {path}`, and replace the tokens in it if others could "
            "have copied them.",
        )


class FileLock:
    """An exclusive lock between processes on ``path`` (created beside the file it
    guards): ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows. Blocking; threads
    of one process sharing the object also take turns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._threads = threading.Lock()

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                _lock(fd)
            except BaseException:
                os.close(fd)
                raise
        except BaseException:
            self._threads.release()
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)
            self._threads.release()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for ~10 s, then raises
                return
            except OSError:
                continue

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
