"""The state file: which picture was saved under which name (with its index row), so later runs skip it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from picextract.errors import StorageError
from picextract.pictures.filters import Author
from picextract.store.index import INDEX_COLUMNS, padded_row
from picextract.store.layout import ChannelFolder
from picextract.store.schema import ADDED_COLUMNS, INDEXES, NEEDED, RECORD, SCHEMA

INDEX_META = "index"  # meta: how many bytes of index.csv are committed, and the posting key of its last row
DEAD_AFTER_RUNS = 3  # a link failing 404/410 on this many runs is given up


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
    in_index: bool = False


@dataclass(frozen=True)
class Listing:
    """A saved picture as index.csv and the gallery list it: its row, and its place in saving order (rowid)."""

    identity: str
    filename: str
    row: list[str]
    rowid: int = 0


class StateStore:
    """SQLite state in the output folder; used from one thread only (the planner).

    Every record is committed at once: in WAL mode with synchronous=NORMAL a commit is a write, not
    a disk sync, and a killed run then loses nothing it had recorded.
    """

    def __init__(self, folder: Path, read_only: bool = False) -> None:
        self.path = ChannelFolder(folder).state_file.absolute()
        with self._storage("open"):
            self._db = self._open_copy() if read_only else self._open()
            with self._transaction():  # one commit: each changed page is written once
                self._run_script(SCHEMA)
                self._migrate()
                self._run_script(INDEXES)
            # Small tables, read once (one process per folder: the lock). Pictures are looked up one by
            # one: an archive of 100,000 costs a run nothing until it asks.
            self._given_up = {str(i): str(v) for i, v in self._db.execute("SELECT identity, verdict FROM given_up")}
            self._failing = {str(row[0]) for row in self._db.execute("SELECT identity FROM failures")}

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

    def _run_script(self, script: str) -> None:
        """Statements one by one (executescript would commit the transaction)."""
        for statement in script.split(";"):
            if statement.strip():
                self._db.execute(statement)

    def _migrate(self) -> None:
        """Refuse a foreign database; add the columns newer versions use."""
        for table, needed in NEEDED.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if not needed <= columns:
                raise sqlite3.DatabaseError(f"table {table} lacks {', '.join(sorted(needed - columns))}: not our state file")
        for table, added in ADDED_COLUMNS.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, declaration in added:
                if name not in columns:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
                    if name == "name_key":  # once, for the pictures recorded before
                        names = list(self._db.execute("SELECT rowid, filename FROM pictures"))
                        self._db.executemany(
                            "UPDATE pictures SET name_key = ? WHERE rowid = ?", [(str(f).casefold(), r) for r, f in names]
                        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Several writes committed as one (a kill keeps all or none of them)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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

    def lookup(self, identity: str) -> SavedPicture | None:
        """The recorded save of a picture, if any."""
        with self._storage("read"):
            row = self._db.execute(
                "SELECT filename, size_bytes, in_index FROM pictures WHERE identity = ?", (identity,)
            ).fetchone()
        return SavedPicture(identity, str(row[0]), int(row[1]), bool(row[2])) if row else None

    def owner_of(self, filename: str) -> str | None:
        """The identity recorded under a file name (compared case-insensitively)."""
        with self._storage("read"):
            row = self._db.execute("SELECT identity FROM pictures WHERE name_key = ? LIMIT 1", (filename.casefold(),)).fetchone()
        return str(row[0]) if row else None

    def has_pictures(self) -> bool:
        """True when any picture is recorded."""
        with self._storage("read"):
            return self._db.execute("SELECT 1 FROM pictures LIMIT 1").fetchone() is not None

    def record(
        self,
        identity: str,
        filename: str,
        size_bytes: int,
        message_id: int,
        channel_id: str,
        index_row: Sequence[object] = (),
        index_marker: object = None,
    ) -> int:
        """Remember a saved picture and its index.csv row; with `index_marker` the row is in index.csv
        already, and the marker (`meta`) says how far index.csv is committed. Returns its rowid."""
        stored_row = json.dumps([str(field) for field in index_row], ensure_ascii=False) if index_row else None
        values = (identity, filename, size_bytes, str(message_id), channel_id, stored_row, filename.casefold())
        with self._storage("write"), self._transaction():
            self._db.execute(RECORD, (*values, int(index_marker is not None)))
            if index_marker is not None:
                self._set_meta(INDEX_META, index_marker)
            return int(self._db.execute("SELECT rowid FROM pictures WHERE identity = ?", (identity,)).fetchone()[0])

    def all_rows(self) -> Iterator[tuple[str, int, list[str] | None]]:
        """(file name, message id, stored index row) of every recorded picture, in the order they were saved."""
        with self._storage("read"):
            records = list(self._db.execute("SELECT filename, message_id, index_row FROM pictures ORDER BY rowid"))
        for filename, message_id, stored in records:
            stored_row = _stored_row(stored)
            yield str(filename), int(message_id), (padded_row(stored_row) if stored_row else None)

    # --- index.csv and the gallery: what each holds ------------------------------------------

    def meta(self, key: str) -> Any:
        """A value kept in `meta` (None when unset or unreadable)."""
        with self._storage("read"):
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        try:
            return json.loads(row[0]) if row else None
        except ValueError:
            return None

    def _set_meta(self, key: str, value: object) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def set_meta(self, key: str, value: object) -> None:
        """Keep a value in `meta` (None removes it)."""
        with self._storage("write"):
            self._set_meta(key, value)

    def _listings(self, where: str, parameters: tuple[object, ...] = ()) -> list[Listing]:
        with self._storage("read"):
            records = list(
                self._db.execute(
                    f"SELECT identity, filename, message_id, index_row, rowid FROM pictures WHERE {where}", parameters
                )
            )
        listings = []
        for identity, filename, message_id, stored, rowid in records:
            row = padded_row(_stored_row(stored) or []) or [filename, "", str(message_id)] + [""] * (len(INDEX_COLUMNS) - 3)
            listings.append(Listing(str(identity), str(filename), [str(filename), *row[1:]], int(rowid)))
        return listings

    def unindexed(self) -> list[Listing]:
        """The pictures whose rows are not (yet) in index.csv."""
        return self._listings("in_index = 0")

    def saved_after(self, rowid: int) -> list[Listing]:
        """The pictures recorded after the one with `rowid`, in saving order (the gallery's next lines)."""
        return self._listings("rowid > ? ORDER BY rowid", (rowid,))

    def last_rowid(self) -> int:
        """The rowid of the picture recorded last (0 when none is)."""
        with self._storage("read"):
            return int(self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM pictures").fetchone()[0])

    def identities_named(self, names: Sequence[str]) -> list[str]:
        """The identities recorded under these file names."""
        found: list[str] = []
        with self._storage("read"):
            for start in range(0, len(names), 500):  # SQLite's limit on bound parameters
                chunk = [name.casefold() for name in names[start : start + 500]]
                marks = ",".join("?" * len(chunk))
                found += [
                    str(row[0]) for row in self._db.execute(f"SELECT identity FROM pictures WHERE name_key IN ({marks})", chunk)
                ]
        return found

    def mark_indexed(self, identities: Iterable[str], listed: bool, marker: object) -> None:
        """Flag pictures as in (or out of) index.csv, and store its marker, in one commit."""
        wanted = list(identities)
        with self._storage("write"), self._transaction():
            for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"UPDATE pictures SET in_index = ? WHERE identity IN ({marks})", (int(listed), *chunk))
            self._set_meta(INDEX_META, marker)

    def mark_all_indexed(self, marker: object) -> None:
        """Every picture is in index.csv now (written whole); store its marker, in one commit."""
        with self._storage("write"), self._transaction():
            self._db.execute("UPDATE pictures SET in_index = 1 WHERE in_index = 0")
            self._set_meta(INDEX_META, marker)

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


def _read_only(folder: Path, query: str, parameters: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query on the folder's state file, opened read-only; none when there is none or it is unreadable."""
    path = ChannelFolder(folder).state_file
    if not path.is_file():
        return []
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return list(db.execute(query, parameters))
        finally:
            db.close()
    except (sqlite3.Error, ValueError):  # the gallery and the dedup do without it
        return []


def recorded_message_ids(folder: Path) -> dict[str, int]:
    """File name -> message id from the state file, read-only; empty when there is none or it is unreadable."""
    return {
        str(filename): int(message_id) for filename, message_id in _read_only(folder, "SELECT filename, message_id FROM pictures")
    }


def recorded_rows(folder: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """File name -> its index.csv row kept in the state file (read-only), for a few names."""
    rows: dict[str, list[str]] = {}
    for start in range(0, len(names), 500):  # SQLite's limit on bound parameters
        chunk = [name.casefold() for name in names[start : start + 500]]
        query = f"SELECT filename, index_row FROM pictures WHERE name_key IN ({','.join('?' * len(chunk))})"
        for filename, stored in _read_only(folder, query, chunk):
            row = padded_row(_stored_row(stored) or [])
            if row is not None:
                rows[str(filename)] = [str(filename), *row[1:]]
    return rows
