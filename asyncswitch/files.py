"""All-or-nothing file writes, for every document asyncswitch leaves behind (state, artifacts)."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["TEMP_SUFFIX", "DirectoryLock", "remove_temp_files", "write_atomic", "write_json_atomic"]

TEMP_SUFFIX = ".partial"
"""Every temp file write_atomic makes is ``.<name>.<random>.partial`` beside its target."""


def write_atomic(path: Path, data: bytes, *, mode: int = 0o666) -> None:
    """Temp file in the same directory, fsync, rename, fsync the directory: a reader (or a crash)
    sees the old file or the new one, never half of one. Blocking: call it through a thread from async code.

    ``mode`` is the loosest the file may be: the process umask narrows it, as for any file the user
    creates (0o600 for a file holding secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_atomic(path: Path, payload: Any, *, mode: int = 0o666) -> None:
    write_atomic(path, json.dumps(payload, indent=2, default=str).encode(), mode=mode)


def remove_temp_files(directory: Path) -> int:
    """Remove the temp files a killed writer left under ``directory`` (call it only while holding the
    directory's lock: a live writer's temp file looks the same); returns how many went."""
    removed = 0
    for leftover in directory.rglob(f".*{TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


class DirectoryLock:
    """An exclusive ``flock`` on ``<directory>/.lock``: held while the process lives, released by the
    kernel however it ends (SIGKILL included), so a lock is never left stale."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ConfigError naming the holder's pid; the file records ours."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(f"{self.path.parent} is in use by another asyncswitch process (pid {holder}): "
                              "wait for it to end, or stop it, then resume") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock
