"""The state file: which picture was saved under which name (with its index row), so later runs skip it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from picextract.errors import StorageError
from picextract.pictures.filters import Author
from picextract.store.index import INDEX_COLUMNS, padded_row, posting_order, read_index_rows, write_index
from picextract.store.layout import ChannelFolder

DEAD_AFTER_RUNS = 3  # a link failing 404/410 on this many runs is given up

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
CREATE TABLE IF NOT EXISTS given_up (
    identity TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,  -- not_picture or dead
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS authors (  -- who posted in this folder's windows: --author checks names against them
    author_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    global_name TEXT NOT NULL,
    nick TEXT NOT NULL,
    is_bot INTEGER NOT NULL
);
"""
# Columns added after the first release; older state files get them on open.
_ADDED_COLUMNS = {"pictures": [("index_row", "TEXT")], "failures": [("failed_runs", "INTEGER NOT NULL DEFAULT 1")]}
_NEEDED = {
    "pictures": {"identity", "filename", "size_bytes", "message_id", "channel_id"},
    "progress": {"source_id", "covered_after", "covered_to"},
    "failures": {"identity", "message_id", "source_id"},
}


def _stored_row(stored: str | None) -> list[str] | None:
    """An index row kept in the state file (a JSON list of strings)."""
    try:
        row = json.loads(stored) if stored else None
    except ValueError:
        return None
    return [str(field) for field in row] if isinstance(row, list) else None


def _refuse_foreign(db: sqlite3.Connection) -> None:
    """Another program's database at our name is left as it is."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "pictures" not in tables:
        raise sqlite3.DatabaseError(f"it holds other tables ({', '.join(sorted(tables)[:3])}): not our state file")


@dataclass(frozen=True)
class SavedPicture:
    """One row of the state file."""

    identity: str
    filename: str
    size_bytes: int


class StateStore:
    """SQLite state in the output folder; used from one thread only (the planner).

    Every record is committed at once: in WAL mode with synchronous=NORMAL a commit is a write, not
    a disk sync, and a killed run then loses nothing it had recorded.
    """

    def __init__(self, folder: Path, read_only: bool = False) -> None:
        self.path = ChannelFolder(folder).state_file.absolute()
        with self._storage("open"):
            self._db = self._open_copy() if read_only else self._open()
            self._db.executescript(_SCHEMA)
            self._migrate()
            rows = list(self._db.execute("SELECT identity, filename, size_bytes FROM pictures"))
            # Read once, kept in memory: the planner asks for every picture (one process per folder: the lock).
            self._given_up = {str(i): str(v) for i, v in self._db.execute("SELECT identity, verdict FROM given_up")}
            self._failing = {str(row[0]) for row in self._db.execute("SELECT identity FROM failures")}
        self._by_identity: dict[str, SavedPicture] = {}
        self._by_name: dict[str, str] = {}
        for identity, filename, size_bytes in rows:
            self._remember(SavedPicture(str(identity), str(filename), int(size_bytes)))

    # --- opening -------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        _refuse_foreign(db)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _open_copy(self) -> sqlite3.Connection:
        """A dry run writes nothing, not even `-wal`/`-shm`: it reads a private copy of the state file."""
        memory = sqlite3.connect(":memory:", isolation_level=None)
        if not self.path.is_file():
            return memory
        with tempfile.TemporaryDirectory(prefix="picextract-") as scratch:
            copy = Path(scratch) / self.path.name
            for suffix in ("", "-wal"):
                source = Path(f"{self.path}{suffix}")
                if source.is_file():
                    shutil.copyfile(source, f"{copy}{suffix}")
            source_db = sqlite3.connect(copy)
            _refuse_foreign(source_db)
            source_db.backup(memory)
            source_db.close()
        return memory

    def _migrate(self) -> None:
        """Refuse a foreign database; add the columns newer versions use."""
        for table, needed in _NEEDED.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if not needed <= columns:
                raise sqlite3.DatabaseError(f"table {table} lacks {', '.join(sorted(needed - columns))}: not our state file")
        for table, added in _ADDED_COLUMNS.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, declaration in added:
                if name not in columns:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")

    @contextmanager
    def _storage(self, action: str) -> Iterator[None]:
        """sqlite3 and OS errors -> one StorageError naming the state file and the cause."""
        try:
            yield
        except sqlite3.DatabaseError as problem:
            cause = str(problem)
            if isinstance(problem, sqlite3.OperationalError) and "locked" in cause:
                cause += " (another program holds it)"
            damaged = action == "open" and not isinstance(problem, sqlite3.OperationalError) or "not our state file" in cause
            advice = "; move it away and run again" if damaged else ""
            raise StorageError(f"cannot {action} the state file {self.path}: {cause}{advice}") from None
        except OSError as problem:
            raise StorageError(f"cannot {action} the state file {self.path}: {problem.strerror or problem}") from None

    # --- pictures ------------------------------------------------------------------------

    def _remember(self, saved: SavedPicture) -> None:
        self._by_identity[saved.identity] = saved
        self._by_name[saved.filename.casefold()] = saved.identity

    def lookup(self, identity: str) -> SavedPicture | None:
        """The recorded save of a picture, if any."""
        return self._by_identity.get(identity)

    def owner_of(self, filename: str) -> str | None:
        """The identity recorded under a file name (compared case-insensitively)."""
        return self._by_name.get(filename.casefold())

    def record(
        self, identity: str, filename: str, size_bytes: int, message_id: int, channel_id: str, index_row: Sequence[object] = ()
    ) -> None:
        """Remember a saved picture and its index.csv row."""
        stored_row = json.dumps([str(field) for field in index_row], ensure_ascii=False) if index_row else None
        with self._storage("write"):
            self._db.execute(
                "INSERT OR REPLACE INTO pictures (identity, filename, size_bytes, message_id, channel_id, index_row) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (identity, filename, size_bytes, str(message_id), channel_id, stored_row),
            )
        self._remember(SavedPicture(identity, filename, size_bytes))

    def index_rows(self, folder: Path) -> list[list[str]]:
        """One index row per recorded picture whose file is in `folder`, in the order they were saved."""
        legacy = read_index_rows(ChannelFolder(folder).index_file)
        rows: list[list[str]] = []
        with self._storage("read"):
            records = list(self._db.execute("SELECT filename, message_id, index_row FROM pictures ORDER BY rowid"))
        for filename, message_id, stored in records:
            if not (folder / filename).is_file():
                continue
            stored_row = _stored_row(stored)
            row = (padded_row(stored_row) if stored_row else None) or legacy.get(filename)
            if row is None:
                row = [filename, "", str(message_id)] + [""] * (len(INDEX_COLUMNS) - 3)
            rows.append([filename, *row[1:]])
        # Rows of files on disk the state file does not know (it was deleted): kept, not lost.
        recorded = {str(record[0]) for record in records}
        rows += [row for filename, row in legacy.items() if filename not in recorded and (folder / filename).is_file()]
        return rows

    def rebuild_index(self, folder: Path) -> set[str]:
        """Write index.csv again from the state file: one row per saved picture on disk, none twice, by posting time.

        Returns the file names it holds, so the run does not append their rows a second time.
        """
        rows = posting_order(self.index_rows(folder))
        write_index(ChannelFolder(folder).index_file, rows)
        return {row[0] for row in rows}

    # --- progress, failures, links given up ------------------------------------------------

    def coverage(self, source_id: str) -> tuple[int, int] | None:
        """(after, to): every message of the source with after < id <= to was processed."""
        with self._storage("read"):
            row = self._db.execute("SELECT covered_after, covered_to FROM progress WHERE source_id = ?", (source_id,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def set_coverage(self, source_id: str, covered_after: int, covered_to: int) -> None:
        """Remember what a completed run of a source processed."""
        with self._storage("write"):
            self._db.execute("INSERT OR REPLACE INTO progress VALUES (?, ?, ?)", (source_id, covered_after, covered_to))

    def add_failure(self, identity: str, message_id: int, source_id: str) -> int:
        """A picture that failed: the next run retries it. Returns on how many runs it has failed."""
        with self._storage("write"):
            self._db.execute(
                "INSERT INTO failures (identity, message_id, source_id) VALUES (?, ?, ?) "
                "ON CONFLICT (identity) DO UPDATE SET failed_runs = failed_runs + 1",
                (identity, str(message_id), source_id),
            )
            row = self._db.execute("SELECT failed_runs FROM failures WHERE identity = ?", (identity,)).fetchone()
        self._failing.add(identity)
        return int(row[0]) if row else 1

    def clear_failure(self, identity: str) -> None:
        """The picture is saved now, or gone."""
        if identity not in self._failing:
            return
        with self._storage("write"):
            self._db.execute("DELETE FROM failures WHERE identity = ?", (identity,))
        self._failing.discard(identity)

    def failures(self, source_id: str) -> dict[str, int]:
        """identity -> message id of the pictures of a source that failed last time."""
        with self._storage("read"):
            rows = list(self._db.execute("SELECT identity, message_id FROM failures WHERE source_id = ?", (source_id,)))
        return {identity: int(message_id) for identity, message_id in rows}

    def give_up(self, identity: str, verdict: str, detail: str) -> None:
        """A link that is no picture, or dead: never fetched again."""
        with self._storage("write"):
            self._db.execute("INSERT OR REPLACE INTO given_up VALUES (?, ?, ?)", (identity, verdict, detail))
            self._db.execute("DELETE FROM failures WHERE identity = ?", (identity,))
        self._given_up[identity] = verdict
        self._failing.discard(identity)

    def given_up(self, identity: str) -> str | None:
        """`not_picture` or `dead` for a link given up on an earlier run."""
        return self._given_up.get(identity)

    def close(self) -> None:
        """Close the database (every record is already committed)."""
        with self._storage("close"):
            self._db.close()

    def authors(self) -> list[Author]:
        """The authors earlier runs saw (a later run pages only new messages)."""
        with self._storage("read"):
            rows = list(self._db.execute("SELECT author_id, username, global_name, nick, is_bot FROM authors"))
        return [
            Author(author_id, username, global_name, nick, bool(is_bot))
            for author_id, username, global_name, nick, is_bot in rows
        ]

    def record_authors(self, authors: list[Author]) -> None:
        """Remember the authors a run saw."""
        with self._storage("write"):
            self._db.executemany(
                "INSERT OR REPLACE INTO authors VALUES (?, ?, ?, ?, ?)",
                [(a.id, a.username, a.global_name, a.nick, int(a.is_bot)) for a in authors],
            )


def recorded_message_ids(folder: Path) -> dict[str, int]:
    """File name -> message id from the state file, read-only; empty when there is none or it is unreadable."""
    path = ChannelFolder(folder).state_file
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return {
                str(filename): int(message_id) for filename, message_id in db.execute("SELECT filename, message_id FROM pictures")
            }
        finally:
            db.close()
    except (sqlite3.Error, ValueError):  # the gallery does without it
        return {}
