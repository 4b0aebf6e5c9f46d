"""Write `index.html` in an output folder: the page, its script and style, the data file and thumbnails."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from picextract.gallery.records import GalleryItem, gallery_items, gallery_title, parse_index
from picextract.gallery.thumbnails import Thumbnail, make_thumbnails
from picextract.pictures.media import has_media_extension
from picextract.store.layout import ChannelFolder, thumbnail_link
from picextract.store.state import recorded_message_ids

DATA_FILE_NAME = "data.js"
STATIC_FILES = ("gallery.js", "gallery.css")
ITEM_FIELDS = ["file", "thumb", "thumb_width", "thumb_height", "time_ms", "author", "text", "channel", "kind", "link", "video"]


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary name beside `path`, then move it into place."""
    part = path.with_name(path.name + ".part")
    try:
        part.write_text(text, encoding="utf-8")
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def static_text(name: str) -> str:
    """A file of the page shipped in this package (picextract/gallery/static/)."""
    return resources.files("picextract.gallery").joinpath("static", name).read_text(encoding="utf-8")


def script_literal(value: object) -> str:
    """JSON that is safe inside a script file or element: `<`, `>`, `&` and line separators escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def item_row(item: GalleryItem, thumbnail: Thumbnail | None) -> list[Any]:
    """One picture as a row of ITEM_FIELDS (rows keep the data file about half the size of objects)."""
    return [
        item.file,
        thumbnail_link(thumbnail.name) if thumbnail else "",
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


def data_script(title: str, items: list[GalleryItem], thumbnails: Mapping[str, Thumbnail | None]) -> str:
    """The data file: one global the page script reads."""
    payload = {"title": title, "fields": ITEM_FIELDS, "items": [item_row(item, thumbnails.get(item.file)) for item in items]}
    return f"window.GALLERY_DATA = {script_literal(payload)};\n"


def page_html(title: str) -> str:
    """index.html: the static page with the title filled in (escaped)."""
    return static_text("gallery.html").replace("{{TITLE}}", html.escape(title, quote=True))


def folder_files(folder: Path) -> dict[str, datetime]:
    """Picture and video files directly in the folder, with their modification time (the posting
    time: the downloader sets it, and copies keep it)."""
    times = {}
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or not has_media_extension(entry.name) or not entry.is_file():
            continue
        times[entry.name] = datetime.fromtimestamp(entry.stat().st_mtime, timezone.utc)
    return times


def read_index(folder: Path) -> list[dict[str, str]]:
    """The rows of the folder's index.csv; none when it is missing."""
    path = ChannelFolder(folder).index_file
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        return parse_index(handle)


def write_page(folder: Path, title: str, items: list[GalleryItem], thumbnails: Mapping[str, Thumbnail | None]) -> Path:
    """Write the data file, the script and style, then index.html (last, so it never points at missing files)."""
    assets = ChannelFolder(folder).gallery_assets
    assets.mkdir(exist_ok=True)
    write_atomic(assets / DATA_FILE_NAME, data_script(title, items, thumbnails))
    for name in STATIC_FILES:
        write_atomic(assets / name, static_text(name))
    target = ChannelFolder(folder).gallery_page
    write_atomic(target, page_html(title))
    return target


def build_gallery(folder: Path, workers: int = 2) -> Path:
    """Write (or rewrite) the folder's gallery from index.csv and the files; returns index.html's path."""
    items = gallery_items(read_index(folder), folder_files(folder), recorded_message_ids(folder))
    pictures = [folder / item.file for item in items if not item.is_video]
    thumbnails = make_thumbnails(pictures, ChannelFolder(folder).thumbnails, workers)
    return write_page(folder, gallery_title(items, folder.resolve().name), items, thumbnails)
