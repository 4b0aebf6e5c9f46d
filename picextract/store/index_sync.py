"""index.csv kept in step with the state file, at the cost of what is new.

Rows are appended in posting order; the file is written whole only when an older picture must go
in before rows already there (a retried failure, a late thread), or when it does not match what the
state file says it holds. The state file keeps a marker: how many bytes of index.csv are committed
and the posting key of its last row; each picture is flagged once its row is in. A kill at any
moment leaves either bytes past the marker (cut off by the next run) or flagged-out pictures
(appended by the next run), never a row twice or a row lost.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from picextract.errors import StorageError
from picextract.store.index import INDEX_COLUMNS, INDEX_FILE_NAME, posting_order, read_index_rows, write_index
from picextract.store.state import INDEX_META, StateStore

PostingKey = tuple[str, str]  # (posted_at_utc, file): text order is posting order


def posting_key(row: Sequence[object]) -> PostingKey:
    """Where a row goes in index.csv."""
    return str(row[1]), str(row[0])


@dataclass(frozen=True)
class IndexMarker:
    """What the state file says index.csv holds: its committed length and the key of its last row."""

    size_bytes: int
    last: PostingKey

    def stored(self) -> dict[str, object]:
        return {"bytes": self.size_bytes, "last": list(self.last)}


def stored_marker(value: object) -> IndexMarker | None:
    """The marker as the state file keeps it (None when missing or not ours)."""
    if not isinstance(value, dict):
        return None
    size, last = value.get("bytes"), value.get("last")
    if not isinstance(size, int) or not isinstance(last, list) or len(last) != 2:
        return None
    return IndexMarker(size, (str(last[0]), str(last[1])))


def csv_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    """Rows as index.csv writes them."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def index_rows(folder: Path, state: StateStore) -> list[list[str]]:
    """One row per recorded picture whose file is in `folder`, plus the rows of files the state file does not know."""
    legacy = read_index_rows(folder / INDEX_FILE_NAME)
    rows: list[list[str]] = []
    recorded = set()
    for filename, message_id, stored_row in state.all_rows():
        recorded.add(filename)
        if not (folder / filename).is_file():
            continue
        row = stored_row or legacy.get(filename) or [filename, "", str(message_id)] + [""] * (len(INDEX_COLUMNS) - 3)
        rows.append([filename, *row[1:]])
    # Rows of files on disk the state file does not know (it was deleted): kept, not lost.
    rows += [row for filename, row in legacy.items() if filename not in recorded and (folder / filename).is_file()]
    return rows


class IndexSync:
    """index.csv during one run: checked against its marker at the start, rows added as pictures are saved."""

    def __init__(self, folder: Path, state: StateStore) -> None:
        self.folder = folder
        self.path = folder / INDEX_FILE_NAME
        self.state = state
        self.rewritten = False  # written whole by this run
        marker = stored_marker(state.meta(INDEX_META))
        self.start = marker if marker is not None and self._matches(marker) else self.rebuild()
        self.end = self.start
        self.appended: list[str] = []  # identities whose rows this run appended, in the order they finished
        self.unsorted = False  # pictures finished out of posting order: the run's rows are put in order at the end
        self.late = False  # a picture older than the last row before the run: it is put in at the end
        self.start = self._append_unlisted(self.start)  # rows a killed run recorded but did not write
        self.end = self.start

    def _matches(self, marker: IndexMarker) -> bool:
        """True when index.csv holds what the marker says; bytes past it (a kill while appending) are cut off."""
        try:
            size = self.path.stat().st_size
            if size < marker.size_bytes or marker.size_bytes == 0:
                return False
            with open(self.path, "r+b") as index_file:
                index_file.seek(marker.size_bytes - 1)
                if index_file.read(1) != b"\n":
                    return False
                if size > marker.size_bytes:
                    index_file.truncate(marker.size_bytes)
        except FileNotFoundError:
            return False
        except OSError as problem:
            raise StorageError(f"cannot use {self.path.absolute()}: {problem.strerror or problem}") from None
        return True

    def rebuild(self) -> IndexMarker:
        """Write index.csv whole from the state file (and the rows of files it does not know), in posting order."""
        if self.state.meta(INDEX_META) is not None:  # a kill while it is written: the next run writes it whole again
            self.state.set_meta(INDEX_META, None)
        rows = posting_order(index_rows(self.folder, self.state))
        write_index(self.path, rows)
        marker = IndexMarker(self.path.stat().st_size, posting_key(rows[-1]) if rows else ("", ""))
        self.state.mark_all_indexed(marker.stored())
        self.rewritten = True
        return marker

    def _append(self, rows: Sequence[Sequence[object]], at: IndexMarker) -> IndexMarker:
        """Write rows after the committed part (anything past it is dropped); returns the marker that covers them."""
        try:
            with open(self.path, "r+b") as index_file:
                index_file.truncate(at.size_bytes)
                index_file.seek(at.size_bytes)
                index_file.write(csv_bytes(rows))
                size = index_file.tell()
        except OSError as problem:
            raise StorageError(f"cannot write {self.path.absolute()}: {problem.strerror or problem}") from None
        return IndexMarker(size, max(at.last, posting_key(rows[-1])))

    def _append_unlisted(self, at: IndexMarker) -> IndexMarker:
        """Put in the rows of pictures flagged out: appended when all are newer than the last row, else a rewrite."""
        unlisted = self.state.unindexed()
        if not unlisted:
            return at
        by_row = sorted(unlisted, key=lambda picture: posting_key(picture.row))
        if posting_key(by_row[0].row) <= at.last:
            return self.rebuild()
        marker = self._append([picture.row for picture in by_row], at)
        self.state.mark_indexed([picture.identity for picture in by_row], True, marker.stored())
        return marker

    def record(
        self, identity: str, filename: str, size_bytes: int, message_id: int, channel_id: str, row: Sequence[object]
    ) -> int:
        """A picture is on disk: its row into index.csv (when it goes at the end), then both into the state file.
        Returns its rowid in the state file."""
        previous = self.state.lookup(identity)
        key = posting_key(row)
        if (previous is not None and previous.in_index and previous.filename == filename) or key <= self.start.last:
            # Its row is there already, or it goes before rows already there: put in at the end of the run.
            self.late = self.late or previous is None or not previous.in_index or previous.filename != filename
            return self.state.record(identity, filename, size_bytes, message_id, channel_id, row)
        # Newer than every row before the run: appended now, so the file grows as pictures arrive.
        self.unsorted = self.unsorted or key < self.end.last
        marker = self._append([row], self.end)
        rowid = self.state.record(identity, filename, size_bytes, message_id, channel_id, row, marker.stored())
        self.appended.append(identity)
        self.end = marker
        return rowid

    def close(self) -> None:
        """Put this run's rows in posting order: only its own rows are rewritten, unless an older one came in."""
        at = self.end
        if self.unsorted:  # flagged out first: a kill during the rewrite leaves them to the next run
            self.state.mark_indexed(self.appended, False, self.start.stored())
            at = self.start
        if self.unsorted or self.late:
            self._append_unlisted(at)


class NoIndex:
    """The index of a dry run: nothing is written."""

    rewritten = False

    def record(
        self, identity: str, filename: str, size_bytes: int, message_id: int, channel_id: str, row: Sequence[object]
    ) -> int:
        return 0

    def close(self) -> None:
        pass
