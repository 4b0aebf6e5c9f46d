"""The one media rule table: extensions, magic bytes and content types, and which are pictures.

The downloader decides what to save and how to name it from this table; the dedup decides which
files are pictures from it too, so both always agree on what a picture is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class MediaType:
    """One file type: its extensions (the first is used for new names), content types and magic test."""

    extensions: tuple[str, ...]
    content_types: tuple[str, ...]
    is_picture: bool  # False: a video, saved only when the run asks for videos
    matches: Callable[[bytes], bool]  # does a file's first 16 bytes look like this type?

    @property
    def extension(self) -> str:
        return self.extensions[0]


def _is_bmp(head: bytes) -> bool:
    return head.startswith(b"BM") and len(head) >= 14


def _iso_brand(brands: tuple[bytes, ...]) -> Callable[[bytes], bool]:
    """ISO base media files (AVIF, MP4, QuickTime) name their brand after `ftyp` at offset 4."""
    return lambda head: head[4:8] == b"ftyp" and head[8:12].startswith(brands)


# Magic numbers: https://en.wikipedia.org/wiki/List_of_file_signatures
MEDIA_TYPES: tuple[MediaType, ...] = (
    MediaType((".png",), ("image/png", "image/apng"), True, lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    MediaType((".jpg", ".jpeg"), ("image/jpeg", "image/jpg", "image/pjpeg"), True, lambda head: head.startswith(b"\xff\xd8\xff")),
    MediaType((".gif",), ("image/gif",), True, lambda head: head.startswith((b"GIF87a", b"GIF89a"))),
    MediaType((".webp",), ("image/webp",), True, lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    MediaType((".bmp",), ("image/bmp", "image/x-ms-bmp"), True, _is_bmp),
    MediaType((".tiff", ".tif"), ("image/tiff",), True, lambda head: head.startswith((b"II*\x00", b"MM\x00*"))),
    MediaType((".avif",), ("image/avif",), True, _iso_brand((b"avif", b"avis"))),
    # HEIF stills from phones (https://nokiatech.github.io/heif/technical.html); `mif1` after AVIF's own brands.
    MediaType(
        (".heic", ".heif"),
        ("image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"),
        True,
        _iso_brand((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")),
    ),
    MediaType((".mov",), ("video/quicktime",), False, _iso_brand((b"qt",))),
    MediaType((".mp4",), ("video/mp4",), False, lambda head: head[4:8] == b"ftyp"),
    MediaType((".webm", ".mkv"), ("video/webm", "video/x-matroska"), False, lambda head: head.startswith(b"\x1a\x45\xdf\xa3")),
)

PICTURE_TYPES = tuple(media for media in MEDIA_TYPES if media.is_picture)
PICTURE_EXTENSIONS = frozenset(extension for media in PICTURE_TYPES for extension in media.extensions)
VIDEO_EXTENSIONS = frozenset(extension for media in MEDIA_TYPES if not media.is_picture for extension in media.extensions)
CONTENT_TYPE_EXTENSIONS = {content_type: media.extension for media in MEDIA_TYPES for content_type in media.content_types}


def extension_of(name: str) -> str:
    """The lower-case extension of a file name, with its dot ('' when none)."""
    suffix = PurePosixPath(name).suffix.lower()
    return suffix if 1 < len(suffix) <= 6 else ""


def has_picture_extension(name: str) -> bool:
    """True when the name ends in one of the picture extensions of the table."""
    return extension_of(name) in PICTURE_EXTENSIONS


def has_media_extension(name: str) -> bool:
    """True for picture and video extensions."""
    extension = extension_of(name)
    return extension in PICTURE_EXTENSIONS or extension in VIDEO_EXTENSIONS


def base_content_type(content_type: str | None) -> str:
    """`image/png; charset=x` -> `image/png`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_picture_content_type(content_type: str | None) -> bool:
    """True for raster image MIME types (SVG is a document, not a picture)."""
    base = base_content_type(content_type)
    return base.startswith("image/") and base != "image/svg+xml"


def extension_from_magic(head: bytes, allow_video: bool = False) -> str | None:
    """The extension matching a file's first bytes, or None when they are no picture (or video, when allowed)."""
    for media in MEDIA_TYPES:
        if (media.is_picture or allow_video) and media.matches(head):
            return media.extension
    return None
