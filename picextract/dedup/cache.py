"""The hash cache: SQLite, outside the source folder, so a rerun over unchanged files reads none of them.

Files are keyed by their absolute path (as bytes, so any name fits), size and modification time;
a changed file misses and is read again. Contents are keyed by their BLAKE2b digest, so a renamed
or copied file reuses the pHash of its bytes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from picextract.dedup.hashing import HashOutcome, Header
from picextract.errors import StorageError

CACHE_FILE_NAME = "dedup-hashes.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER,
    width INTEGER, height INTEGER, mode TEXT, header_problem TEXT, digest TEXT
);
CREATE TABLE IF NOT EXISTS contents (digest TEXT PRIMARY KEY, phash TEXT, problem TEXT);
"""


def default_cache_path(environ: Mapping[str, str]) -> Path:
    """The user cache directory: $XDG_CACHE_HOME, %LOCALAPPDATA% on Windows, else ~/.cache."""
    base = environ.get("XDG_CACHE_HOME") or environ.get("LOCALAPPDATA") or str(Path.home() / ".cache")
    return Path(base) / "discordpicextract" / CACHE_FILE_NAME


@dataclass
class FileRecord:
    """What is known about one file at one size and modification time."""

    size: int
    mtime_ns: int
    header: Header | None = None
    header_problem: str | None = None
    digest: str | None = None


class HashCache:
    """Reads every record under a folder at once, writes new ones in one transaction at the end."""

    def __init__(self, path: Path | None) -> None:
        self.connection: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.connection = sqlite3.connect(path)
                self.connection.executescript(_SCHEMA)
            except sqlite3.DatabaseError as problem:
                raise StorageError(f"the hash cache {path} cannot be used ({problem}); delete it or pass --no-cache") from None

    def files_under(self, folder: Path) -> dict[bytes, FileRecord]:
        """Every cached file record whose path lies under `folder`."""
        return self._files_from(os.fsencode(folder) + b"/")

    def files_starting(self, prefix: bytes) -> dict[bytes, FileRecord]:
        """The cached records of the paths that start with `prefix` (one range of the key: no other row is read)."""
        return self._files_from(prefix)

    def files_at(self, paths: Iterable[bytes]) -> dict[bytes, FileRecord]:
        """The cached records of these paths."""
        wanted = list(paths)
        records: dict[bytes, FileRecord] = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start : start + 500]
            records |= self._records(f"path IN ({','.join('?' * len(chunk))})", chunk)
        return records

    def _files_from(self, prefix: bytes) -> dict[bytes, FileRecord]:
        # The byte after the prefix's last one ends the range of paths that start with it.
        upper = prefix[:-1] + bytes([prefix[-1] + 1]) if prefix[-1] < 255 else prefix + b"\xff"
        return self._records("path >= ? AND path < ?", [prefix, upper])

    def _records(self, where: str, parameters: list[bytes]) -> dict[bytes, FileRecord]:
        if self.connection is None:
            return {}
        rows = self.connection.execute(
            f"SELECT path, size, mtime_ns, width, height, mode, header_problem, digest FROM files WHERE {where}", parameters
        )
        records = {}
        for path, size, mtime_ns, width, height, mode, header_problem, digest in rows:
            header = Header(width, height, mode) if mode is not None else None
            records[bytes(path)] = FileRecord(size, mtime_ns, header, header_problem, digest)
        return records

    def contents(self, digests: Iterable[str]) -> dict[str, HashOutcome]:
        """Cached pHash outcomes of these digests."""
        if self.connection is None:
            return {}
        wanted = list(digests)
        found: dict[str, HashOutcome] = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for digest, phash, problem in self.connection.execute(
                f"SELECT digest, phash, problem FROM contents WHERE digest IN ({marks})", chunk
            ):
                found[digest] = HashOutcome(phash, problem)
        return found

    def save(self, files: Mapping[bytes, FileRecord], contents: Mapping[str, HashOutcome]) -> None:
        """Store new or changed records in one transaction."""
        if self.connection is None:
            return
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        path,
                        record.size,
                        record.mtime_ns,
                        record.header.width if record.header else None,
                        record.header.height if record.header else None,
                        record.header.mode if record.header else None,
                        record.header_problem,
                        record.digest,
                    )
                    for path, record in files.items()
                ],
            )
            self.connection.executemany(
                "INSERT OR REPLACE INTO contents VALUES (?, ?, ?)",
                [(digest, outcome.phash, outcome.problem) for digest, outcome in contents.items()],
            )

    def close(self) -> None:
        """Close the database."""
        if self.connection is not None:
            self.connection.close()
