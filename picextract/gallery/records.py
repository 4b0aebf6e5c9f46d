"""Pure rules of the gallery: index.csv rows and folder files -> the pictures the page shows."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from picextract.pictures.filenames import parse_name_time
from picextract.pictures.ids import decimal, is_snowflake
from picextract.pictures.media import VIDEO_EXTENSIONS, extension_of, has_media_extension
from picextract.pictures.refs import snowflake_to_datetime
from picextract.store.index import INDEX_COLUMNS

DISCORD_WEB = "https://discord.com/channels"  # message links: /channels/<guild or @me>/<channel>/<message>
MAX_UTC_OFFSET = timedelta(hours=14)  # the widest UTC offset in use (UTC+14, Kiribati)


@dataclass(frozen=True)
class GalleryItem:
    """One picture on the page: its file and what index.csv knows about it."""

    file: str
    posted_at: datetime
    author: str = ""
    text: str = ""
    channel: str = ""
    kind: str = ""
    link: str = ""
    width: int | None = None
    height: int | None = None

    @property
    def is_video(self) -> bool:
        """True for a video file (shown with a player, no thumbnail)."""
        return extension_of(self.file) in VIDEO_EXTENSIONS


def message_link(guild_id: str | None, channel_id: str, message_id: str) -> str:
    """The Discord web link of a message; guild None means unknown (no link), "" a DM (@me)."""
    if guild_id is None or not is_snowflake(channel_id) or not is_snowflake(message_id):
        return ""
    return f"{DISCORD_WEB}/{guild_id or '@me'}/{channel_id}/{message_id}"


def parse_index(lines: Iterable[str]) -> list[dict[str, str]]:
    """index.csv rows as dicts. Older files lack the last columns; rows appended after the columns
    were added to an old file are longer than its header and are read by INDEX_COLUMNS' order."""
    reader = csv.reader(lines)
    rows: list[dict[str, str]] = []
    try:
        header = next(reader, None)
        if not header:
            return []
        upgradable = header == INDEX_COLUMNS[: len(header)]
        for values in reader:
            if not values:
                continue
            names = INDEX_COLUMNS if upgradable and len(values) > len(header) else header
            row = dict(zip(names, values))
            row["_has_guild"] = "1" if "guild_id" in names else ""
            rows.append(row)
    except csv.Error:  # a field over the csv limit (an index written before texts were clipped): the rest show by file
        pass
    return rows


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _dimension(text: str) -> int | None:
    return decimal(text) or None


def item_from_row(row: Mapping[str, str], fallback_time: datetime) -> GalleryItem:
    """A GalleryItem from one index row (an old row has no guild, so no link)."""
    file = row.get("file", "")
    channel_id = row.get("channel_id", "")
    guild_id = row.get("guild_id", "") if row.get("_has_guild") else None
    return GalleryItem(
        file=file,
        posted_at=_parse_time(row.get("posted_at_utc", "")) or fallback_time,
        author=row.get("author", ""),
        text=row.get("text", ""),
        channel=row.get("channel", ""),
        kind=row.get("kind", ""),
        link=message_link(guild_id, channel_id, row.get("message_id", "")),
        width=_dimension(row.get("width", "")),
        height=_dimension(row.get("height", "")),
    )


def file_time(name: str, modified: datetime) -> datetime:
    """When a file the index does not name was posted: its modification time when that matches the
    time in its name (the downloader sets it; copies keep it), else the name's time read in the
    local clock (the default clock of file names), else the modification time."""
    named = parse_name_time(name)
    if named is None:
        return modified
    offset = named - modified.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    if abs(offset) <= MAX_UTC_OFFSET and offset.total_seconds() % 900 == 0:  # offsets are whole quarter hours
        return modified
    return named.astimezone(timezone.utc)


def gallery_items(
    rows: Iterable[Mapping[str, str]], file_times: Mapping[str, datetime], message_ids: Mapping[str, int]
) -> list[GalleryItem]:
    """The pictures present in the folder, newest first: index rows for files still there (the last
    row of a file wins), then files the index does not name, timed by their message id when the
    state file has it, else by `file_time`."""
    by_file: dict[str, GalleryItem] = {}
    for row in rows:
        file = row.get("file", "")
        if file in file_times:
            by_file[file] = item_from_row(row, file_times[file])
    for file, modified in file_times.items():
        if file not in by_file and has_media_extension(file):
            message_id = message_ids.get(file)
            posted_at = snowflake_to_datetime(message_id) if message_id else file_time(file, modified)
            by_file[file] = GalleryItem(file=file, posted_at=posted_at)
    return sorted(by_file.values(), key=lambda item: (item.posted_at, item.file), reverse=True)


def gallery_title(items: Iterable[GalleryItem], folder_name: str) -> str:
    """The channel most pictures came from, else the folder's name."""
    channels = Counter(item.channel for item in items if item.channel)
    return channels.most_common(1)[0][0] if channels else folder_name
