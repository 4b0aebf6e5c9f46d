"""One run per folder: an exclusive lock on a file in the output folder, held for the whole run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from picextract.errors import StorageError
from picextract.store.layout import ChannelFolder

try:  # POSIX; elsewhere the lock is not taken (and said so in the README)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class FolderLock:
    """`flock` on `.discordpicextract.lock`: released by the kernel when the process ends, however it ends."""

    def __init__(self, folder: Path) -> None:
        self.path = ChannelFolder(folder).lock_file.absolute()
        self._file: TextIO | None = None

    def acquire(self) -> None:
        """Take the lock, or StorageError naming the folder and the process that holds it."""
        try:
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release())
        except OSError as problem:
            raise StorageError(f"cannot use the folder {self.path.parent}: {problem.strerror or problem}") from None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise StorageError(
                    f"the folder {self.path.parent} is in use by another run (process {holder}); wait for it to end"
                ) from None
        self._file = handle
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        except OSError:
            pass  # the pid is only for the message above; a full disk must not stop the lock

    def release(self) -> None:
        """Let the next run in."""
        if self._file is not None:
            self._file.close()
            self._file = None
