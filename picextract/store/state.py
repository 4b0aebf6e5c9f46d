"""The state file: which picture was saved under which name, so later runs skip it."""

from __future__ import annotations

import csv
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from picextract.pictures.filters import Author

STATE_FILE_NAME = ".discordpicextract.sqlite3"
COMMIT_EVERY = 200  # records per transaction: a commit costs a disk sync, paging must not wait on it
COMMIT_SECONDS = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pictures (
    identity TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    saved_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS pictures_filename ON pictures (filename);
CREATE TABLE IF NOT EXISTS progress (
    source_id TEXT PRIMARY KEY,
    covered_after INTEGER NOT NULL,  -- every message with covered_after < id <= covered_to is done
    covered_to INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    identity TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    source_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS authors (  -- who posted in this folder's windows: --author checks names against them
    author_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    global_name TEXT NOT NULL,
    nick TEXT NOT NULL,
    is_bot INTEGER NOT NULL
);
"""
INDEX_FILE_NAME = "index.csv"
INDEX_COLUMNS = ["file", "posted_at_utc", "message_id", "channel", "author", "text", "source_url", "width", "height"]


@dataclass(frozen=True)
class SavedPicture:
    """One row of the state file."""

    identity: str
    filename: str
    size_bytes: int


class StateStore:
    """SQLite state in the output folder; used from one thread only (the planner)."""

    def __init__(self, folder: Path, read_only: bool = False) -> None:
        self.path = folder / STATE_FILE_NAME
        if read_only:
            # A dry run writes nothing: work on an in-memory copy of the state, if there is one.
            self._db = sqlite3.connect(":memory:")
            if self.path.is_file():
                source = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
                source.backup(self._db)
                source.close()
        else:
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._by_identity: dict[str, SavedPicture] = {}
        self._by_name: dict[str, str] = {}
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        for identity, filename, size_bytes in self._db.execute("SELECT identity, filename, size_bytes FROM pictures"):
            self._remember(SavedPicture(identity, filename, size_bytes))

    def _remember(self, saved: SavedPicture) -> None:
        self._by_identity[saved.identity] = saved
        self._by_name[saved.filename.casefold()] = saved.identity

    def lookup(self, identity: str) -> SavedPicture | None:
        """The recorded save of a picture, if any."""
        return self._by_identity.get(identity)

    def owner_of(self, filename: str) -> str | None:
        """The identity recorded under a file name (compared case-insensitively)."""
        return self._by_name.get(filename.casefold())

    def record(self, identity: str, filename: str, size_bytes: int, message_id: int, channel_id: str) -> None:
        """Remember a saved picture; committed in batches (see `flush`)."""
        self._db.execute(
            "INSERT OR REPLACE INTO pictures (identity, filename, size_bytes, message_id, channel_id) VALUES (?, ?, ?, ?, ?)",
            (identity, filename, size_bytes, str(message_id), channel_id),
        )
        self._remember(SavedPicture(identity, filename, size_bytes))
        self._uncommitted += 1
        if self._uncommitted >= COMMIT_EVERY or time.monotonic() - self._last_commit >= COMMIT_SECONDS:
            self.flush()

    def coverage(self, source_id: str) -> tuple[int, int] | None:
        """(after, to): every message of the source with after < id <= to was processed."""
        row = self._db.execute("SELECT covered_after, covered_to FROM progress WHERE source_id = ?", (source_id,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def set_coverage(self, source_id: str, covered_after: int, covered_to: int) -> None:
        """Remember what a completed run of a source processed."""
        self._db.execute("INSERT OR REPLACE INTO progress VALUES (?, ?, ?)", (source_id, covered_after, covered_to))
        self.flush()

    def add_failure(self, identity: str, message_id: int, source_id: str) -> None:
        """A picture that failed: the next run retries it."""
        self._db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?)", (identity, str(message_id), source_id))

    def clear_failure(self, identity: str) -> None:
        """The picture is saved now, or gone."""
        self._db.execute("DELETE FROM failures WHERE identity = ?", (identity,))

    def failures(self, source_id: str) -> dict[str, int]:
        """identity -> message id of the pictures of a source that failed last time."""
        rows = self._db.execute("SELECT identity, message_id FROM failures WHERE source_id = ?", (source_id,))
        return {identity: int(message_id) for identity, message_id in rows}

    def authors(self) -> list[Author]:
        """The authors earlier runs saw (a later run pages only new messages)."""
        rows = self._db.execute("SELECT author_id, username, global_name, nick, is_bot FROM authors")
        return [
            Author(author_id, username, global_name, nick, bool(is_bot))
            for author_id, username, global_name, nick, is_bot in rows
        ]

    def record_authors(self, authors: list[Author]) -> None:
        """Remember the authors a run saw."""
        self._db.executemany(
            "INSERT OR REPLACE INTO authors VALUES (?, ?, ?, ?, ?)",
            [(a.id, a.username, a.global_name, a.nick, int(a.is_bot)) for a in authors],
        )

    def flush(self) -> None:
        """Commit pending records. A batch lost in a crash costs nothing: the next run
        recognises those files by name and size."""
        self._db.commit()
        self._uncommitted = 0
        self._last_commit = time.monotonic()

    def close(self) -> None:
        """Commit and close the database."""
        self.flush()
        self._db.close()


_INDEX_KEY = (INDEX_COLUMNS.index("message_id"), INDEX_COLUMNS.index("source_url"))


def _index_key(row: list[object] | list[str]) -> tuple[str, str]:
    """What makes a row one picture, whatever its file name: message id and URL without signature."""
    return str(row[_INDEX_KEY[0]]), str(row[_INDEX_KEY[1]])


class IndexWriter:
    """`index.csv` in the output folder: one row a saved picture, appended, never rewritten."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / INDEX_FILE_NAME
        is_new = not self.path.is_file() or self.path.stat().st_size == 0
        # The rows already there: a run after the state file was deleted must not add them again.
        self._keys: set[tuple[str, str]] = set()
        if not is_new:
            with open(self.path, newline="", encoding="utf-8") as existing:
                self._keys = {_index_key(row) for row in csv.reader(existing) if len(row) == len(INDEX_COLUMNS)}
        self._file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._writer = csv.writer(self._file)
        if is_new:
            self._writer.writerow(INDEX_COLUMNS)

    def append(self, row: list[object]) -> None:
        """Add one picture's row, unless the index has that picture already."""
        key = _index_key(row)
        if key in self._keys:
            return
        self._keys.add(key)
        self._writer.writerow(row)

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()
