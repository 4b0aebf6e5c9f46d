"""Write `index.html` in an output folder whole: the page, its script and style, the data files and thumbnails."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from picextract.gallery.records import GalleryItem, gallery_items, gallery_title, parse_index
from picextract.gallery.shards import GalleryMarker, month_of, new_build, row_line
from picextract.gallery.thumbnails import Thumbnail, make_thumbnails
from picextract.pictures.media import has_media_extension
from picextract.store.atomic import write_atomic
from picextract.store.layout import ChannelFolder
from picextract.store.state import recorded_message_ids

STATIC_FILES = ("gallery.js", "gallery.css")


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` unless the file holds it already (a rerun leaves an unchanged file untouched); True when written."""
    wanted = text.encode("utf-8")
    try:
        if path.read_bytes() == wanted:
            return False
    except OSError:
        pass
    write_atomic(path, wanted)
    return True


def static_text(name: str) -> str:
    """A file of the page shipped in this package (picextract/gallery/static/)."""
    return resources.files("picextract.gallery").joinpath("static", name).read_text(encoding="utf-8")


def page_html(title: str) -> str:
    """index.html: the static page with the title filled in (escaped)."""
    return static_text("gallery.html").replace("{{TITLE}}", html.escape(title, quote=True))


def write_static(folder: Path, title: str) -> Path:
    """The script and style, then index.html (last, so it never points at missing files), each only when it changed."""
    assets = ChannelFolder(folder).gallery_assets
    assets.mkdir(exist_ok=True)
    for name in STATIC_FILES:
        write_if_changed(assets / name, static_text(name))
    target = ChannelFolder(folder).gallery_page
    write_if_changed(target, page_html(title))
    return target


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


@dataclass(frozen=True)
class GalleryBuild:
    """A gallery written whole: its page, and the marker a later run checks it against."""

    page: Path
    marker: GalleryMarker


def write_page(folder: Path, title: str, items: list[GalleryItem], thumbnails: Mapping[str, Thumbnail | None]) -> GalleryBuild:
    """Write every month file (unchanged ones are left alone), the manifest, the script and style, then index.html."""
    months_dir = ChannelFolder(folder).gallery_months
    months_dir.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[bytes]] = {}
    for item in reversed(items):  # oldest first, as rows are appended later
        lines.setdefault(month_of(item), []).append(row_line(item, thumbnails.get(item.file)))
    sizes = {}
    for month, month_lines in lines.items():
        text = b"".join(month_lines)
        path = ChannelFolder(folder).gallery_month(month)
        if not path.is_file() or path.read_bytes() != text:
            write_atomic(path, text)
        sizes[month] = len(text)
    for stale in months_dir.iterdir():
        if stale.suffix == ".js" and stale.stem not in lines:
            stale.unlink(missing_ok=True)
    manifest = new_build(title, tuple(lines))
    write_atomic(ChannelFolder(folder).gallery_manifest, manifest.script())
    return GalleryBuild(write_static(folder, title), GalleryMarker(manifest.build, sizes))


def build_gallery(folder: Path, workers: int = 2) -> GalleryBuild:
    """Write (or rewrite) the folder's gallery from index.csv and the files."""
    items = gallery_items(read_index(folder), folder_files(folder), recorded_message_ids(folder))
    pictures = [folder / item.file for item in items if not item.is_video]
    thumbnails = make_thumbnails(pictures, ChannelFolder(folder).thumbnails, workers)
    return write_page(folder, gallery_title(items, folder.resolve().name), items, thumbnails)
