"""Thumbnails made once with Pillow: cached by picture and modification time, rebuilt when it changes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

THUMBNAIL_PIXELS = 320  # longest side
THUMBNAIL_SUFFIX = ".webp"  # keeps transparency, small, shown by every current browser


@dataclass(frozen=True)
class Thumbnail:
    """A thumbnail file (name inside the thumbnail folder) and its size in pixels."""

    name: str
    width: int
    height: int


def thumbnail_name(picture_name: str) -> str:
    """A short, stable file name for a picture's thumbnail (picture names can be long or odd)."""
    return hashlib.sha1(picture_name.encode("utf-8")).hexdigest()[:20] + THUMBNAIL_SUFFIX


def _read_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # a broken cached file: make it again
        return None


def make_thumbnail(picture: Path, folder: Path) -> Thumbnail | None:
    """The picture's thumbnail in `folder`, made unless one with the picture's mtime is there;
    None when Pillow cannot read the picture."""
    from PIL import Image, ImageOps

    target = folder / thumbnail_name(picture.name)
    picture_mtime_ns = picture.stat().st_mtime_ns
    if target.is_file() and target.stat().st_mtime_ns == picture_mtime_ns:
        size = _read_size(target)
        if size is not None:
            return Thumbnail(target.name, *size)
    part = target.with_name(target.name + ".part")
    try:
        with Image.open(picture) as image:
            image.draft("RGB", (THUMBNAIL_PIXELS * 2, THUMBNAIL_PIXELS * 2))  # JPEG: decode at a fraction
            image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), reducing_gap=2.0)
            small = ImageOps.exif_transpose(image)  # after shrinking: turning a small copy is cheap
            if small.mode not in ("RGB", "RGBA"):
                small = small.convert("RGBA" if "transparency" in small.info or small.mode in ("LA", "PA") else "RGB")
            small.save(part, "WEBP", quality=80, method=2)
            size = small.size
    except Exception:  # Pillow raises many types for broken or unsupported files
        part.unlink(missing_ok=True)
        return None
    os.replace(part, target)
    os.utime(target, ns=(picture_mtime_ns, picture_mtime_ns))  # the cache key: equal mtimes
    return Thumbnail(target.name, *size)


def make_thumbnails(pictures: Iterable[Path], folder: Path, workers: int = 2) -> dict[str, Thumbnail | None]:
    """Picture name -> its thumbnail (None: no preview); thumbnails of other pictures are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = list(pictures)
    # Pillow releases the GIL while decoding; more threads than cores only hold more pictures in memory.
    threads = max(1, min(workers, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        made = dict(zip((path.name for path in paths), pool.map(lambda path: make_thumbnail(path, folder), paths)))
    wanted = {thumbnail_name(path.name) for path in paths}
    for entry in folder.iterdir():
        if entry.name not in wanted:
            entry.unlink(missing_ok=True)
    return made
