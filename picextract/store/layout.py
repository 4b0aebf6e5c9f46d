"""The output's layout in one place: each channel's folder, the files kept beside its pictures, and the
clean folder of `--dedup`.

Like gallery-dl's `PathFormat`, one frozen object answers "where does this go?" for main.py, the
downloader, the store, the gallery and the dedup; none of them joins these paths itself.

The rule of the clean folder, for a one-shot run and `--watch`, one channel or several: the *root* is
`--output` up to its first `{guild}`/`{channel}` placeholder (all of it when there is none; the first
filled-in folder when the placeholder comes first); the clean folder is `<root>-clean` beside the root,
and below it every picture keeps the place it has below the root (`<output>-clean/<channel>/...` for
several channels). So no clean folder is ever inside a folder a later run or dedup reads as source.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from picextract.errors import UsageError
from picextract.pictures.filenames import sanitize_filename

if TYPE_CHECKING:  # only its type: the store, the gallery and the dedup stay clear of the Discord client
    from picextract.discord.channels import ChannelInfo

STATE_FILE_NAME = ".discordpicextract.sqlite3"
LOCK_FILE_NAME = ".discordpicextract.lock"
INDEX_FILE_NAME = "index.csv"
GALLERY_FILE_NAME = "index.html"
ASSETS_DIR = ".gallery"  # hidden: the dedup and the downloader's file checks skip dot-names
THUMBS_DIR = "thumbs"
MANIFEST_FILE_NAME = "data.js"  # the gallery's title, fields and month files
MONTHS_DIR = "data"  # the gallery's rows, one append-only file per month
CLEAN_SUFFIX = "-clean"
GUILD, CHANNEL = "{guild}", "{channel}"


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

    @property
    def gallery_manifest(self) -> Path:
        """The gallery's manifest: its title and the month files the page loads."""
        return self.gallery_assets / MANIFEST_FILE_NAME

    @property
    def gallery_months(self) -> Path:
        """The folder of the gallery's month files."""
        return self.gallery_assets / MONTHS_DIR

    def gallery_month(self, month: str) -> Path:
        """The gallery's rows of one month (`YYYY-MM`)."""
        return self.gallery_months / f"{month}.js"


def thumbnail_link(name: str) -> str:
    """A thumbnail's link from the gallery page (relative, `/`-separated; the page's static links say `.gallery/` too)."""
    return f"{ASSETS_DIR}/{THUMBS_DIR}/{name}"


def folder_name(channel: ChannelInfo, others: Sequence[ChannelInfo] = ()) -> str:
    """The channel's folder name; the ID is added when another channel's name differs only in case
    (`Charts` and `CHARTS` would share one folder on Windows and macOS)."""
    name = sanitize_filename(channel.name)
    clash = any(other.id != channel.id and sanitize_filename(other.name).casefold() == name.casefold() for other in others)
    return f"{name}_{channel.id}" if clash else name


def clean_root(root: Path) -> Path:
    """`<root>-clean` beside the root; a root without a name of its own (`.`, `..`) goes by its absolute name."""
    named = root if root.name not in ("", "..") else Path(os.path.abspath(root))
    if not named.name:
        raise UsageError(f"--dedup: {root} has no parent folder to put the clean folder in; give --output a folder below it")
    return named.with_name(named.name + CLEAN_SUFFIX)


@dataclass(frozen=True)
class OutputLayout:
    """Where one invocation's channels go: `--output` (placeholders and all), parsed once."""

    parts: tuple[str, ...]  # --output's path parts
    first_placeholder: int | None  # the first part holding {guild} or {channel}; None: no placeholder
    uses_guild: bool  # the folders need the guild's name
    channels: tuple[ChannelInfo, ...] = ()
    subfolders: bool = False  # no placeholder and several channels: one sub-folder each

    @classmethod
    def parse(cls, output: Path) -> OutputLayout:
        """The layout of an `--output` value, before its channels are known."""
        parts = Path(os.path.normpath(output)).parts  # `..` only in front: `{guild}/..` would undo a filled-in folder
        holding = [index for index, part in enumerate(parts) if GUILD in part or CHANNEL in part]
        return cls(parts, holding[0] if holding else None, any(GUILD in part for part in parts))

    def for_channels(self, channels: Sequence[ChannelInfo], all_channels: bool = False) -> OutputLayout:
        """The layout once the channels are known (`--all-channels` gives sub-folders even to one channel)."""
        return replace(self, channels=tuple(channels), subfolders=len(channels) > 1 or all_channels)

    def folder(self, channel: ChannelInfo) -> Path:
        """The channel's folder: `{guild}`/`{channel}` filled in, else `--output` (or its sub-folder for the channel)."""
        if self.first_placeholder is None:
            return Path(*self.parts, folder_name(channel, self.channels)) if self.subfolders else Path(*self.parts)
        guild = sanitize_filename(channel.guild_name or channel.guild_id or "dm")
        name = folder_name(channel, self.channels)
        return Path(*(part.replace(GUILD, guild).replace(CHANNEL, name) for part in self.parts))

    def folders(self) -> list[Path]:
        """Each channel's folder, in the channels' order."""
        return [self.folder(channel) for channel in self.channels]

    @property
    def _root_length(self) -> int:
        """How many leading parts of a folder of this layout make its root."""
        if self.first_placeholder is None:
            return len(self.parts)
        before = self.parts[: self.first_placeholder]
        return self.first_placeholder + (0 if before and Path(*before).name else 1)

    def root_of(self, folder: Path) -> Path:
        """The root a folder of this layout (a channel's, or one holding several) lies in."""
        return Path(*folder.parts[: self._root_length])

    def clean_folder(self, folder: Path) -> Path:
        """Where `--dedup` puts the unique pictures of a folder of this layout: its place below `<root>-clean`."""
        root = self.root_of(folder)
        return clean_root(root) / folder.relative_to(root)

    def dedup_pairs(self, folders: Iterable[Path]) -> list[tuple[Path, Path]]:
        """A one-shot `--dedup`: for each root, the common folder of these channel folders (so re-posts
        across channels count) and its clean folder."""
        by_root: dict[Path, list[str]] = {}
        for folder in folders:
            by_root.setdefault(self.root_of(folder), []).append(str(folder))
        sources = [Path(os.path.commonpath(group)) for group in by_root.values()]
        return [(source, self.clean_folder(source)) for source in sources]
