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
from picextract.store.index import INDEX_COLUMNS, posting_order, read_index_rows, write_index
from picextract.store.layout import ChannelFolder
from picextract.store.state import INDEX_META, StateStore

PostingKey = tuple[str, str]  # (posted_at_utc, file): text order is posting order


def posting_key(row: Sequence[object]) -> PostingKey:
    """Where a row goes in index.csv."""
    return str(row[1]), str(row[0])


@dataclass(frozen=True)
class IndexMarker:
    """What the state file says index.csv holds: its committed length and the key of its newest row, and how
    far it is in posting order (rows a run appended as they finished may follow, out of order, until it ends)."""

    size_bytes: int
    last: PostingKey
    sorted_bytes: int
    sorted_last: PostingKey

    @classmethod
    def in_order(cls, size_bytes: int, last: PostingKey) -> IndexMarker:
        """A file in posting order to its end."""
        return cls(size_bytes, last, size_bytes, last)

    @property
    def sorted_part(self) -> IndexMarker:
        """The part in posting order."""
        return IndexMarker.in_order(self.sorted_bytes, self.sorted_last)

    def stored(self) -> dict[str, object]:
        return {
            "bytes": self.size_bytes,
            "last": list(self.last),
            "sorted": self.sorted_bytes,
            "sorted_last": list(self.sorted_last),
        }


def _key(value: object) -> PostingKey | None:
    return (str(value[0]), str(value[1])) if isinstance(value, list) and len(value) == 2 else None


def stored_marker(value: object) -> IndexMarker | None:
    """The marker as the state file keeps it (None when missing or not ours)."""
    if not isinstance(value, dict):
        return None
    size, last, sorted_bytes, sorted_last = (
        value.get("bytes"),
        _key(value.get("last")),
        value.get("sorted"),
        _key(value.get("sorted_last")),
    )
    if not isinstance(size, int) or not isinstance(sorted_bytes, int) or last is None or sorted_last is None:
        return None
    return IndexMarker(size, last, sorted_bytes, sorted_last)


def csv_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    """Rows as index.csv writes them."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def index_rows(folder: Path, state: StateStore) -> list[list[str]]:
    """One row per recorded picture whose file is in `folder`, plus the rows of files the state file does not know."""
    legacy = read_index_rows(ChannelFolder(folder).index_file)
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
        self.path = ChannelFolder(folder).index_file
        self.state = state
        self.rewritten = False  # written whole by this run
        self.late = False  # a picture older than the last row before the run: it is put in at the end
        self.stopped = False  # an interrupt came: rows go to the state file only, and are put in at the end
        self.start = self._repair()
        self.end = self.start

    def _repair(self) -> IndexMarker:
        """index.csv as the state file says it is: bytes past its marker cut off, the rows of pictures
        flagged out appended (or the file written whole when it does not match)."""
        marker = stored_marker(self.state.meta(INDEX_META))
        if marker is None or not self._matches(marker):
            marker = self.rebuild()
        return self._append_unlisted(self._unsort_tail(marker))

    def _unsort_tail(self, marker: IndexMarker) -> IndexMarker:
        """The rows past the part in posting order are flagged out (read back from the file: it is the run's
        own few), so that they go back in order; returns the marker of the part in order."""
        if marker.sorted_bytes >= marker.size_bytes:
            return marker
        try:
            with open(self.path, "rb") as index_file:
                index_file.seek(marker.sorted_bytes)
                tail = index_file.read(marker.size_bytes - marker.sorted_bytes).decode("utf-8", "replace")
        except OSError as problem:
            raise StorageError(f"cannot read {self.path.absolute()}: {problem.strerror or problem}") from None
        names = [row[0] for row in csv.reader(io.StringIO(tail, newline="")) if row]
        self.state.mark_indexed(self.state.identities_named(names), False, marker.sorted_part.stored())
        return marker.sorted_part

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
        marker = IndexMarker.in_order(self.path.stat().st_size, posting_key(rows[-1]) if rows else ("", ""))
        self.state.mark_all_indexed(marker.stored())
        self.rewritten = True
        return marker

    def _append(self, rows: Sequence[Sequence[object]], at: IndexMarker) -> IndexMarker:
        """Write rows (newer than the part in order) after the committed part (anything past it is dropped);
        returns the marker that covers them."""
        try:
            with open(self.path, "r+b") as index_file:
                index_file.truncate(at.size_bytes)
                index_file.seek(at.size_bytes)
                index_file.write(csv_bytes(rows))
                size = index_file.tell()
        except OSError as problem:
            raise StorageError(f"cannot write {self.path.absolute()}: {problem.strerror or problem}") from None
        key = posting_key(rows[-1])
        if at.sorted_bytes == at.size_bytes and key > at.last:  # still in posting order to its end
            return IndexMarker.in_order(size, key)
        # Out of order: from the start of this run's rows (all newer than the rows before it) it is put in order.
        return IndexMarker(size, max(at.last, key), self.start.size_bytes, self.start.last)

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
        if (
            (previous is not None and previous.in_index and previous.filename == filename)
            or key <= self.start.last
            or self.stopped
        ):
            # Its row is there already, or it goes before rows already there: put in at the end of the run.
            self.late = self.late or previous is None or not previous.in_index or previous.filename != filename
            return self.state.record(identity, filename, size_bytes, message_id, channel_id, row)
        # Newer than every row before the run: appended now, so the file grows as pictures arrive (the marker says
        # from where it may be out of order: pictures finish in any order; they are put in order at the end).
        marker = self._append([row], self.end)
        rowid = self.state.record(identity, filename, size_bytes, message_id, channel_id, row, marker.stored())
        self.end = marker
        return rowid

    def stop(self) -> None:
        """An interrupt (it may have cut an append short): from now on rows go to the state file only."""
        self.stopped = True

    def close(self) -> None:
        """Put this run's rows in posting order: only its own rows are rewritten, unless an older one came in.
        (Each step is committed before the next: a kill leaves the next run a marker to go on from.)"""
        if self.stopped:
            self._repair()
        elif self.late or self.end.sorted_bytes < self.end.size_bytes:
            self._append_unlisted(self._unsort_tail(self.end))


class NoIndex:
    """The index of a dry run: nothing is written."""

    rewritten = False

    def stop(self) -> None:
        pass

    def record(
        self, identity: str, filename: str, size_bytes: int, message_id: int, channel_id: str, row: Sequence[object]
    ) -> int:
        return 0

    def close(self) -> None:
        pass
