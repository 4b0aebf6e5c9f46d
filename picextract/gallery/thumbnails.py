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
AS_IT_IS_FORMATS = frozenset({"PNG", "JPEG"})  # shown by every browser, and never animated (APNG is checked)
AS_IT_IS_MAX_BYTES = 512_000  # a picture within the thumbnail's size and this light is its own thumbnail
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Thumbnail:
    """A thumbnail file (name inside the thumbnail folder; "" when the picture is shown as it is) and its size."""

    name: str
    width: int
    height: int


def thumbnail_name(picture_name: str) -> str:
    """A short, stable file name for a picture's thumbnail (picture names can be long or odd)."""
    return hashlib.sha1(picture_name.encode("utf-8")).hexdigest()[:20] + THUMBNAIL_SUFFIX


def _read_size(path: Path) -> tuple[int, int] | None:
    from picextract.pictures.imaging import Image

    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # a broken cached file: make it again
        return None


def as_it_is(picture: Path, size_bytes: int) -> Thumbnail | None:
    """A small, light PNG or JPEG (upright, not animated) is shown as it is: encoding it again gains nothing."""
    from picextract.pictures.imaging import Image

    if size_bytes > AS_IT_IS_MAX_BYTES:
        return None
    try:
        with Image.open(picture) as image:  # the header only
            if image.format not in AS_IT_IS_FORMATS or max(image.size) > THUMBNAIL_PIXELS or getattr(image, "is_animated", False):
                return None
            if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
                return None
            return Thumbnail("", *image.size)
    except Exception:  # Pillow raises many kinds for files it cannot read: made (or refused) the usual way
        return None


def make_thumbnail(picture: Path, folder: Path) -> Thumbnail | None:
    """The picture's thumbnail in `folder`, made unless one with the picture's mtime is there (or the picture
    is its own thumbnail, `as_it_is`); None when Pillow cannot read the picture."""
    from PIL import ImageOps

    from picextract.pictures.imaging import Image

    target = folder / thumbnail_name(picture.name)
    stat = picture.stat()
    own = as_it_is(picture, stat.st_size)
    if own is not None:
        return own
    picture_mtime_ns = stat.st_mtime_ns
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
    wanted = {thumbnail.name for thumbnail in made.values() if thumbnail is not None}
    for entry in folder.iterdir():
        if entry.name not in wanted:
            entry.unlink(missing_ok=True)
    return made
