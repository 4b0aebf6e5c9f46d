"""Pure file-name rules: `YYYY-MM-DD_HH-MM-SS_originalname.ext`, sanitised, and the clock it uses."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone, tzinfo

from picextract.pictures.media import CONTENT_TYPE_EXTENSIONS, base_content_type, has_media_extension
from picextract.pictures.refs import PictureRef

MAX_NAME_BYTES = 180
_WINDOWS_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"{prefix}{n}" for prefix in ("COM", "LPT") for n in range(1, 10)}
_RESERVED_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def sanitize_filename(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file name safe on Windows, macOS and Linux: Unicode kept, extension kept, bounded."""
    name = unicodedata.normalize("NFC", name)
    name = _RESERVED_CHARS.sub("_", name)
    name = name.strip(" .").replace("..", "_")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        stem, ext = name, ""
    stem = stem.strip(" .")
    if stem.split(".")[0].upper() in _WINDOWS_DEVICE_NAMES:
        stem = f"_{stem}"
    ext_part = f".{ext}" if ext else ""
    stem = _truncate_utf8(stem, max_bytes - len(ext_part.encode("utf-8"))).rstrip(" .")
    return f"{stem or 'image'}{ext_part}"


def picture_name(ref: PictureRef) -> str:
    """The original name with a picture extension: from the name, else the content type."""
    name = ref.original_name or "image"
    if not has_media_extension(name):
        name += CONTENT_TYPE_EXTENSIONS.get(base_content_type(ref.content_type), "")
    return sanitize_filename(name)


def build_filename(posted_at: datetime, original_name: str, tz: tzinfo | None) -> str:
    """`YYYY-MM-DD_HH-MM-SS_originalname.ext` in the given zone (None = local time)."""
    local = posted_at.astimezone(tz)
    return f"{local:%Y-%m-%d_%H-%M-%S}_{sanitize_filename(original_name)}"


def with_suffix(filename: str, suffix: str) -> str:
    """`name_<suffix>.ext`: the form a picture takes when its plain name is taken."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:
        return f"{filename}_{suffix}"
    return f"{stem}_{suffix}.{ext}"


def resolve_timezone(name: str) -> tzinfo | None:
    """`local` -> None (the system clock), `UTC`, or an IANA zone; ValueError when unknown."""
    if name.strip().lower() == "local":
        return None
    if name.strip().upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use local, UTC or a name like Europe/Berlin)") from None
