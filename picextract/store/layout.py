"""The output folder's layout in one place: the files the program keeps beside each channel's pictures.

Like gallery-dl's `PathFormat`, one module answers "where does this go?" for the store, the gallery
and the dedup; none of them joins these paths itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_FILE_NAME = ".discordpicextract.sqlite3"
LOCK_FILE_NAME = ".discordpicextract.lock"
INDEX_FILE_NAME = "index.csv"
GALLERY_FILE_NAME = "index.html"
ASSETS_DIR = ".gallery"  # hidden: the dedup and the downloader's file checks skip dot-names
THUMBS_DIR = "thumbs"


@dataclass(frozen=True)
class ChannelFolder:
    """One channel's folder and the files the program keeps in it beside the pictures."""

    path: Path

    @property
    def state_file(self) -> Path:
        """The SQLite state: what was saved, what was read."""
        return self.path / STATE_FILE_NAME

    @property
    def lock_file(self) -> Path:
        """The lock that keeps a second run out."""
        return self.path / LOCK_FILE_NAME

    @property
    def index_file(self) -> Path:
        """index.csv: one row per saved picture."""
        return self.path / INDEX_FILE_NAME

    @property
    def gallery_page(self) -> Path:
        """index.html, the offline gallery."""
        return self.path / GALLERY_FILE_NAME

    @property
    def gallery_assets(self) -> Path:
        """The gallery's data, script and style."""
        return self.path / ASSETS_DIR

    @property
    def thumbnails(self) -> Path:
        """The gallery's thumbnails."""
        return self.gallery_assets / THUMBS_DIR


def thumbnail_link(name: str) -> str:
    """A thumbnail's link from the gallery page (relative, `/`-separated; the page's static links say `.gallery/` too)."""
    return f"{ASSETS_DIR}/{THUMBS_DIR}/{name}"
