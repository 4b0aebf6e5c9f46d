"""The state file: which picture was saved under which name, so later runs skip it."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

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
"""


@dataclass(frozen=True)
class SavedPicture:
    """One row of the state file."""

    identity: str
    filename: str
    size_bytes: int


class StateStore:
    """SQLite state in the output folder; used from one thread only (the planner)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_FILE_NAME
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._by_identity: dict[str, SavedPicture] = {}
        self._by_name: dict[str, str] = {}
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
        """Remember a saved picture; committed at once so a crash loses nothing."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO pictures (identity, filename, size_bytes, message_id, channel_id) VALUES (?, ?, ?, ?, ?)",
                (identity, filename, size_bytes, str(message_id), channel_id),
            )
        self._remember(SavedPicture(identity, filename, size_bytes))

    def close(self) -> None:
        """Close the database."""
        self._db.close()
