"""The gallery's data files: a small manifest, and one append-only file of rows per month of posting.

`.gallery/data.js` names the title, the fields of a row and the month files; `.gallery/data/2026-01.js`
holds one line per picture, `GALLERY_ROWS.push([...]);`, so a new picture adds one line to one small
file and nothing else is written. The page loads the months the manifest names.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from picextract.gallery.records import GalleryItem
from picextract.gallery.thumbnails import Thumbnail
from picextract.store.layout import ChannelFolder, thumbnail_link

ITEM_FIELDS = ["file", "thumb", "thumb_width", "thumb_height", "time_ms", "author", "text", "channel", "kind", "link", "video"]
_MANIFEST_START, _MANIFEST_END = "window.GALLERY_DATA = ", ";\n"
_ROW_START, _ROW_END = "GALLERY_ROWS.push(", ");\n"


def script_literal(value: object) -> str:
    """JSON that is safe inside a script file or element: `<`, `>`, `&` and line separators escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def thumbnail_url(item: GalleryItem, thumbnail: Thumbnail | None) -> str:
    """The thumbnail's address relative to the page ("" for none; the picture itself when it is its own)."""
    if thumbnail is None:
        return ""
    return thumbnail_link(thumbnail.name) if thumbnail.name else quote(item.file, safe="")


def item_row(item: GalleryItem, thumbnail: Thumbnail | None) -> list[Any]:
    """One picture as a row of ITEM_FIELDS (rows keep the data about half the size of objects)."""
    return [
        item.file,
        thumbnail_url(item, thumbnail),
        thumbnail.width if thumbnail else 0,
        thumbnail.height if thumbnail else 0,
        int(item.posted_at.timestamp() * 1000),
        item.author,
        item.text,
        item.channel,
        item.kind,
        item.link,
        1 if item.is_video else 0,
    ]


def month_of(item: GalleryItem) -> str:
    """The month file a picture's row goes to: `YYYY-MM` of its posting time in UTC."""
    return item.posted_at.astimezone(timezone.utc).strftime("%Y-%m")


def row_line(item: GalleryItem, thumbnail: Thumbnail | None) -> bytes:
    """One picture's line in its month file."""
    return f"{_ROW_START}{script_literal(item_row(item, thumbnail))}{_ROW_END}".encode()


@dataclass(frozen=True)
class Manifest:
    """What `.gallery/data.js` says: the page's title, its month files, and the build they belong to."""

    title: str
    months: tuple[str, ...]
    build: str

    def script(self) -> str:
        """The manifest as the page loads it."""
        payload = {"title": self.title, "fields": ITEM_FIELDS, "shards": list(self.months), "build": self.build}
        return f"{_MANIFEST_START}{script_literal(payload)}{_MANIFEST_END}"


def new_build(title: str, months: tuple[str, ...] = ()) -> Manifest:
    """A manifest for a gallery written whole: a fresh build id tells later runs it is not the one they know."""
    return Manifest(title, tuple(sorted(months)), secrets.token_hex(8))


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest; None when missing, unreadable or of an older version."""
    try:
        text = ChannelFolder(folder).gallery_manifest.read_text(encoding="utf-8")
        payload = json.loads(text.removeprefix(_MANIFEST_START).removesuffix(_MANIFEST_END))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("fields") != ITEM_FIELDS:
        return None
    title, months, build = payload.get("title"), payload.get("shards"), payload.get("build")
    if not isinstance(title, str) or not isinstance(build, str) or not isinstance(months, list):
        return None
    return Manifest(title, tuple(str(month) for month in months), build)


@dataclass(frozen=True)
class GalleryMarker:
    """What the state file says the gallery holds: its build, the committed length of each month file,
    and the last picture (by rowid, the order pictures were saved in) whose line is in."""

    build: str
    months: dict[str, int]
    rowid: int = 0

    def stored(self) -> dict[str, object]:
        return {"build": self.build, "months": self.months, "rowid": self.rowid}


def stored_gallery_marker(value: object) -> GalleryMarker | None:
    """The marker as the state file keeps it (None when missing or not ours)."""
    if not isinstance(value, dict) or not isinstance(value.get("build"), str) or not isinstance(value.get("months"), dict):
        return None
    months, rowid = value["months"], value.get("rowid")
    if not all(isinstance(size, int) for size in months.values()) or not isinstance(rowid, int):
        return None
    return GalleryMarker(value["build"], {str(month): size for month, size in months.items()}, rowid)
