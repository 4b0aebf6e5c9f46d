"""Pure file-name rules: `YYYY-MM-DD_HH-MM-SS_originalname.ext`, sanitised, and the clock it uses."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone, tzinfo

from picextract.pictures.media import CONTENT_TYPE_EXTENSIONS, base_content_type, has_media_extension
from picextract.pictures.refs import PictureRef

MAX_NAME_BYTES = 180
# Windows' MAX_PATH is 260 UTF-16 units including the drive and the final NUL; keeping the full path
# under 250 leaves room for `.part` and for copying the folder one level deeper
# (https://learn.microsoft.com/en-us/windows/win32/fileio/maximum-file-path-limitation).
MAX_PATH_CHARS = 250
# 255 bytes is the longest file name ext4, Btrfs and APFS take; the download is first written as
# `<name>.<8 hex>.part` (download/saving.py), so a name keeps 14 bytes free for that.
MAX_FILE_NAME_BYTES = 255 - len(".0123abcd.part")
DATE_PREFIX_CHARS = len("YYYY-MM-DD_HH-MM-SS_")
_WINDOWS_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"{prefix}{n}" for prefix in ("COM", "LPT") for n in range(1, 10)}
_RESERVED_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_NAME_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{2})-(\d{2})-(\d{2})_")  # the prefix build_filename writes


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


def path_chars(text: str) -> int:
    """Length as Windows counts it (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def max_name_chars(folder_chars: int) -> int:
    """The longest file name that keeps `folder/name` under MAX_PATH_CHARS (folder given as its length)."""
    return MAX_PATH_CHARS - 1 - folder_chars - 1


def _shorten_stem(stem: str, max_chars: int | None, max_bytes: int, keep: int) -> str:
    """Cut the end of `stem` (never its first `keep` characters) until it fits `max_chars` and `max_bytes`."""
    cut = False
    while (len(stem.encode()) > max_bytes or (max_chars is not None and path_chars(stem) > max_chars)) and len(stem) > keep + 1:
        stem, cut = stem[:-1], True
    return stem.rstrip(" .") if cut and len(stem) > keep + 1 else stem  # a cut may leave a space or dot before the extension


def fit_name(filename: str, max_chars: int | None, suffix: str = "") -> str:
    """`stem[_suffix].ext` shortened to `max_chars` and MAX_FILE_NAME_BYTES: the date prefix, the suffix and the
    extension are kept."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:
        stem, ext = filename, ""
    tail = (f"_{suffix}" if suffix else "") + (f".{ext}" if ext else "")
    chars = None if max_chars is None else max_chars - path_chars(tail)
    return _shorten_stem(stem, chars, MAX_FILE_NAME_BYTES - len(tail.encode()), DATE_PREFIX_CHARS) + tail


def build_filename(posted_at: datetime, original_name: str, tz: tzinfo | None, max_chars: int | None = None) -> str:
    """`YYYY-MM-DD_HH-MM-SS_originalname.ext` in the given zone (None = local time), at most `max_chars` long."""
    local = posted_at.astimezone(tz)
    return fit_name(f"{local:%Y-%m-%d_%H-%M-%S}_{sanitize_filename(original_name)}", max_chars)


def parse_name_time(name: str) -> datetime | None:
    """The time in a `YYYY-MM-DD_HH-MM-SS_...` name (the last part of a relative path), or None."""
    match = _NAME_TIME.match(name.rsplit("/", 1)[-1])
    if not match:
        return None
    year, month, day = (int(part) for part in match.group(1).split("-"))
    try:  # datetime() instead of strptime: a rerun parses every name, and strptime is slow
        return datetime(year, month, day, int(match.group(2)), int(match.group(3)), int(match.group(4)))
    except ValueError:
        return None


def with_suffix(filename: str, suffix: str, max_chars: int | None = None) -> str:
    """`name_<suffix>.ext`: the form a picture takes when its plain name is taken (the name shortened, if need be)."""
    return fit_name(filename, max_chars, suffix)


def name_candidates(base: str, ref: PictureRef, max_chars: int) -> tuple[str, str, str]:
    """The names a picture may take, in order: the plain name, then `_<id>` and `_<id>_<message id>` when
    the ones before are taken; each keeps the full path under MAX_PATH_CHARS (`max_chars` from max_name_chars)."""
    return (
        fit_name(base, max_chars),
        with_suffix(base, ref.suffix_id, max_chars),
        with_suffix(base, f"{ref.suffix_id}_{ref.message_id}", max_chars),
    )


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
