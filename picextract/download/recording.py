"""What a saved picture leaves besides its file: its record in the state file, its index.csv row, its gallery line.

The state file and index.csv are written at once (picextract/store/index_sync.py); the gallery's
thumbnail is made in worker threads while the downloads go on (picextract/gallery/live.py, loaded
only when the gallery is on: it brings Pillow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from picextract.discord.channels import ChannelInfo
from picextract.download.options import RunOptions
from picextract.pictures.refs import PictureRef
from picextract.store.index import index_row, picture_dimensions
from picextract.store.index_sync import IndexSync, NoIndex
from picextract.store.state import Listing, StateStore


class Gallery(Protocol):
    """What a run asks of the gallery (picextract/gallery/live.py)."""

    def saved(self, listing: Listing) -> None: ...

    def collect(self, wait: bool = False) -> None: ...

    def stop(self) -> None: ...

    def close(self, interrupted: bool = False) -> None: ...


class NoGallery:
    """`--no-gallery` and dry runs."""

    def saved(self, listing: Listing) -> None:
        pass

    def collect(self, wait: bool = False) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self, interrupted: bool = False) -> None:
        pass


class Recorder:
    """Writes down the pictures of one run in the state file, index.csv and the gallery."""

    def __init__(self, folder: Path, options: RunOptions, state: StateStore) -> None:
        self.folder = folder
        self.state = state
        self.index: IndexSync | NoIndex = NoIndex() if options.dry_run else IndexSync(folder, state)
        self.gallery: Gallery = NoGallery()
        if options.gallery and not options.dry_run:
            from picextract.gallery.live import LiveGallery

            self.gallery = LiveGallery(folder, state, options.workers)

    def _dimensions(self, ref: PictureRef, filename: str) -> tuple[object, object]:
        """Width and height as Discord sent them, else read from the saved file ("" when unknown)."""
        if ref.width and ref.height:
            return ref.width, ref.height
        return picture_dimensions(self.folder / filename) or ("", "")

    def record(self, ref: PictureRef, filename: str, size_bytes: int, source: ChannelInfo | None) -> None:
        """A picture is on disk: into the state file and index.csv, and on its way into the gallery."""
        channel, guild_id = (source.label, source.guild_id or "") if source is not None else (ref.channel_id, "")
        row = index_row(ref, filename, channel, guild_id, self._dimensions(ref, filename))
        rowid = self.index.record(ref.identity, filename, size_bytes, ref.message_id, ref.channel_id, row)
        self.gallery.saved(Listing(ref.identity, filename, [str(value) for value in row], rowid))

    def collect(self) -> None:
        """Commit the gallery lines of the pictures whose thumbnails are done (never waits)."""
        self.gallery.collect()

    def stop(self) -> None:
        """Ctrl-C or SIGTERM (it may have cut a write short): index.csv and the gallery are brought in line
        with the state file at the end (the index) or by the next run (the gallery)."""
        self.index.stop()
        self.gallery.stop()

    def close(self, interrupted: bool) -> None:
        """Put the run's index rows in order and finish its gallery lines."""
        if interrupted:
            self.stop()
        try:
            self.index.close()
        finally:
            self.gallery.close(interrupted)
