"""The gallery during a download: each saved picture gets its thumbnail in worker threads while the
downloads go on, then its line in its month's file, so the page shows it as soon as it is saved.

Lines follow the order pictures were saved in (their rowid in the state file), and the state file keeps
a marker: the gallery's build, the committed length of each month file and the last picture whose line
is in. At the start of a run bytes past the marker (a kill while appending) are cut off and the pictures
saved after it get their lines; a gallery the marker does not describe (made by an older version, or by
`--gallery`) is written whole once, at the end of the run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from picextract.errors import StorageError
from picextract.gallery.page import build_gallery, folder_files, write_static
from picextract.gallery.records import GalleryItem, gallery_title, item_from_row
from picextract.gallery.shards import (
    GalleryMarker,
    Manifest,
    month_of,
    new_build,
    read_manifest,
    row_line,
    stored_gallery_marker,
)
from picextract.gallery.thumbnails import Thumbnail, make_thumbnail
from picextract.pictures.media import VIDEO_EXTENSIONS, extension_of
from picextract.store.atomic import write_atomic
from picextract.store.index import INDEX_COLUMNS
from picextract.store.layout import ChannelFolder
from picextract.store.state import Listing, StateStore

GALLERY_META = "gallery"  # meta: the gallery's build, its month files' committed lengths, the last picture in
COMMIT_EVERY = 64  # lines written before the marker is stored again (and at the end of every run)
_GONE = object()  # the picture's file is not there (any more): no line, nothing to do again


def _thumbnail(picture: Path, folder: Path) -> Thumbnail | None | object:
    try:
        return make_thumbnail(picture, folder)
    except FileNotFoundError:
        return _GONE
    except OSError as problem:
        raise StorageError(f"cannot write the thumbnail of {picture.absolute()}: {problem.strerror or problem}") from None


def _item(row: Sequence[object]) -> GalleryItem:
    fields = dict(zip(INDEX_COLUMNS, (str(value) for value in row))) | {"_has_guild": "1"}
    return item_from_row(fields, datetime.now(timezone.utc))


class LiveGallery:
    """The gallery of one folder for one run."""

    def __init__(self, folder: Path, state: StateStore, workers: int) -> None:
        self.folder = folder
        self.state = state
        self.threads = max(1, min(workers, os.cpu_count() or 1))
        self.pool: ThreadPoolExecutor | None = None
        self.jobs: deque[tuple[Listing, Future[Thumbnail | None | object]]] = deque()  # in rowid order
        self.submitted = 0  # the rowid of the last picture handed to a thumbnail worker
        self.uncommitted = 0  # lines written since the marker was last stored
        self.write_whole = False
        self.stopped = False  # an interrupt came: nothing more is written (the next run repairs)
        self.catch_up: list[Listing] = []  # handed to the workers with the first collect
        marker = stored_gallery_marker(state.meta(GALLERY_META))
        manifest = read_manifest(folder)
        if marker is not None and manifest is not None and manifest.build == marker.build and self._cut_to(marker):
            self.marker, self.manifest = marker, manifest
            write_static(folder, manifest.title or folder.resolve().name)
            self.submitted = marker.rowid
            self.catch_up = state.saved_after(marker.rowid)  # saved by a --no-gallery run, or a killed one
        elif not state.has_pictures() and not folder_files(folder):
            self.marker, self.manifest = self._start_empty()
        else:
            self.marker, self.manifest = GalleryMarker("", {}), new_build("")
            self.write_whole = True

    def _cut_to(self, marker: GalleryMarker) -> bool:
        """Cut each month file to its committed length; False when one is shorter (the gallery is written whole)."""
        months_dir = ChannelFolder(self.folder).gallery_months
        try:
            on_disk = {path.stem: path for path in months_dir.iterdir() if path.suffix == ".js"}
            if any(month not in on_disk for month, size in marker.months.items() if size):
                return False
            for month, path in on_disk.items():
                size, committed = path.stat().st_size, marker.months.get(month, 0)
                if size < committed:
                    return False
                if size > committed:
                    os.truncate(path, committed)
        except FileNotFoundError:
            return not marker.months
        return True

    def _start_empty(self) -> tuple[GalleryMarker, Manifest]:
        """A new folder: an empty gallery that pictures are added to as they are saved."""
        ChannelFolder(self.folder).gallery_months.mkdir(parents=True, exist_ok=True)
        manifest = new_build("")
        write_atomic(ChannelFolder(self.folder).gallery_manifest, manifest.script())
        write_static(self.folder, self.folder.resolve().name)
        marker = GalleryMarker(manifest.build, {})
        self.state.set_meta(GALLERY_META, marker.stored())
        return marker, manifest

    def _catch_up(self) -> None:
        """The pictures saved before this run without their lines go first (the lines follow the rowid)."""
        waiting, self.catch_up = self.catch_up, []
        for listing in waiting:
            self.saved(listing)

    def saved(self, listing: Listing) -> None:
        """A picture is recorded: its thumbnail is made in a worker thread (none for a video)."""
        self._catch_up()
        if self.write_whole or self.stopped or listing.rowid <= self.submitted:  # in the gallery already (saved again)
            return
        future: Future[Thumbnail | None | object]
        if extension_of(listing.filename) in VIDEO_EXTENSIONS:
            future = Future()
            future.set_result(None)
        else:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="thumbnail")
                ChannelFolder(self.folder).thumbnails.mkdir(parents=True, exist_ok=True)
            future = self.pool.submit(_thumbnail, self.folder / listing.filename, ChannelFolder(self.folder).thumbnails)
        self.jobs.append((listing, future))
        self.submitted = listing.rowid

    def collect(self, wait: bool = False) -> None:
        """Write the lines of the pictures whose thumbnails are done, in saving order (with `wait`, of all);
        the marker is stored every COMMIT_EVERY lines and at the end (a kill costs the lines since: made again)."""
        if self.stopped:
            return
        self._catch_up()
        count = 0
        while count < len(self.jobs) and (wait or self.jobs[count][1].done()):
            count += 1
        if count:
            done = [(listing, future.result()) for listing, future in itertools.islice(self.jobs, count)]
            months = self._write(done)
            for _ in range(count):  # taken off only once their lines are written
                self.jobs.popleft()
            self.marker = GalleryMarker(self.marker.build, months, done[-1][0].rowid)
            self.uncommitted += count
        if self.uncommitted and (wait or self.uncommitted >= COMMIT_EVERY):
            self.state.set_meta(GALLERY_META, self.marker.stored())
            self.uncommitted = 0

    def _write(self, done: list[tuple[Listing, Thumbnail | None | object]]) -> dict[str, int]:
        """Append the lines to their month files (a new month or the first title rewrites the manifest first);
        returns the month files' lengths. On any error the files are cut back to where they were."""
        lines: dict[str, list[bytes]] = {}
        items = []
        for listing, thumbnail in done:
            if thumbnail is _GONE:
                continue
            item = _item(listing.row)
            items.append(item)
            lines.setdefault(month_of(item), []).append(row_line(item, thumbnail if isinstance(thumbnail, Thumbnail) else None))
        title = self.manifest.title or (gallery_title(items, "") if items else "")
        manifest = Manifest(title, tuple(sorted(set(self.manifest.months) | set(lines))), self.manifest.build)
        if manifest != self.manifest:
            write_atomic(ChannelFolder(self.folder).gallery_manifest, manifest.script())
            self.manifest = manifest
            write_static(self.folder, title or self.folder.resolve().name)
        months = dict(self.marker.months)
        try:
            for month, month_lines in lines.items():
                with open(ChannelFolder(self.folder).gallery_month(month), "ab") as month_file:
                    month_file.write(b"".join(month_lines))
                    months[month] = month_file.tell()
        except BaseException:
            for month in lines:
                with contextlib.suppress(OSError):
                    os.truncate(ChannelFolder(self.folder).gallery_month(month), self.marker.months.get(month, 0))
            raise
        return months

    def stop(self) -> None:
        """An interrupt: no line is written or committed any more in this run (one may have been cut short);
        the next run cuts the files back to the stored marker and makes the rest."""
        self.stopped = True
        self.catch_up = []
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def close(self, interrupted: bool = False) -> None:
        """Finish the run's lines (after an interrupt: none, the next run makes them)."""
        if interrupted:
            self.stop()
        if self.write_whole:
            if not self.stopped:
                if self.state.meta(GALLERY_META) is not None:  # a kill while it is written: written whole again
                    self.state.set_meta(GALLERY_META, None)
                rowid = self.state.last_rowid()
                built = build_gallery(self.folder, self.threads)
                self.state.set_meta(GALLERY_META, replace(built.marker, rowid=rowid).stored())
            return
        try:
            self.collect(wait=True)
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
