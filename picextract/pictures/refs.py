"""Pure functions: snowflakes, message JSON -> picture references, URL and file-name rules."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from picextract.pictures.media import VIDEO_EXTENSIONS, extension_of, has_picture_extension, is_picture_content_type

DISCORD_EPOCH_MS = 1420070400000  # 2015-01-01T00:00:00Z, discord-api.md §3
SIGNATURE_PARAMS = frozenset({"ex", "is", "hm"})  # signed CDN URLs, discord-api.md §4
COMPONENTS_V2_FLAG = 1 << 15  # IS_COMPONENTS_V2, discord-api.md §4
MEDIA_GALLERY, CONTAINER, SECTION = 12, 17, 9  # component types, DOCS components/reference
_LINK = re.compile(r"https?://[^\s<>\"'`|)\]]+", re.IGNORECASE)
DISCORD_CDN = "https://cdn.discordapp.com"
DISCORD_MEDIA = "https://media.discordapp.net"
STICKER_FORMATS = {1: ("cdn", ".png"), 2: ("cdn", ".png"), 4: ("media", ".gif")}  # 3 = Lottie JSON: no picture

# The one rule table: what each kind is and whether it is saved by default (README shows it).
KIND_RULES: dict[str, tuple[bool, str]] = {
    "attachments": (True, "uploaded files with an image type (or an image extension when the type is missing)"),
    "embeds": (True, "`image` embeds (a pasted image link) and the `image` of `rich`/`article` embeds"),
    "components": (True, "media-gallery items of components-v2 messages"),
    "forwards": (True, "the pictures of forwarded messages (`message_snapshots`), by the kinds above"),
    "links": (True, "image links in the message text (query strings allowed)"),
    "gifv": (False, "animated GIF embeds (Tenor, Klipy): their MP4"),
    "video": (False, "video uploads and Discord-hosted video embeds"),
    "thumbnails": (False, "the `thumbnail` of `rich`/`article` embeds"),
    "stickers": (False, "stickers (PNG, APNG, GIF; Lottie stickers are no picture)"),
}
DEFAULT_KINDS = frozenset(kind for kind, (default, _) in KIND_RULES.items() if default)


def parse_kinds(text: str) -> frozenset[str]:
    """A comma-separated list of kinds from KIND_RULES; ValueError naming the valid ones."""
    kinds = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(kinds - set(KIND_RULES))
    if unknown or not kinds:
        raise ValueError(f"unknown kind {', '.join(unknown) or '(none)'}; choose from {', '.join(KIND_RULES)}")
    return frozenset(kinds)


@dataclass(frozen=True)
class PictureRef:
    """One picture a message shows, with everything needed to name and fetch it."""

    identity: str  # stable key: attachment id, or URL without signature plus message id
    url: str
    fallback_url: str | None
    original_name: str
    content_type: str | None
    expected_size: int | None
    message_id: int
    channel_id: str
    posted_at: datetime
    kind: str  # attachment, embed, component, link, gifv, video, thumbnail, sticker; "forward:" prefix
    width: int | None = None
    height: int | None = None
    is_video: bool = False
    author: str = ""
    text: str = ""

    @property
    def suffix_id(self) -> str:
        """A short, stable token used when this picture's name is already taken."""
        if self.identity.startswith("attachment:"):
            return self.identity.split(":", 1)[1]
        return hashlib.sha1(self.identity.encode()).hexdigest()[:10]


# --- snowflakes --------------------------------------------------------------------------


def snowflake_to_datetime(snowflake: int | str) -> datetime:
    """The UTC creation time encoded in a Discord snowflake."""
    millis = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc)


def datetime_to_snowflake(moment: datetime) -> int:
    """The smallest snowflake created at `moment` (aware datetimes; naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    millis = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return max(millis, 0) << 22


# --- URLs and types ----------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """The URL without Discord's expiring signature parameters (`ex`, `is`, `hm`)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in SIGNATURE_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def name_from_url(url: str) -> str:
    """The last path segment of a URL, percent-decoded ('' when there is none)."""
    return unquote(PurePosixPath(urlsplit(url).path).name)


# --- message -> pictures -----------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _attachment_refs(attachments: Iterable[Mapping[str, Any]], kinds: frozenset[str]) -> Iterable[dict[str, Any]]:
    for attachment in attachments:
        name = str(attachment.get("filename") or name_from_url(attachment.get("url", "")))
        content_type = str(attachment.get("content_type") or "").lower()
        if content_type:
            is_image = is_picture_content_type(content_type)
            is_video = content_type.startswith("video/")
        else:
            is_image = has_picture_extension(name)
            is_video = extension_of(name) in VIDEO_EXTENSIONS
        if not ((is_image and "attachments" in kinds) or (is_video and "video" in kinds)):
            continue
        yield {
            "identity": f"attachment:{attachment.get('id')}",
            "url": attachment.get("url") or attachment.get("proxy_url"),
            "fallback_url": attachment.get("proxy_url"),
            "original_name": name,
            "content_type": content_type or None,
            "expected_size": _as_int(attachment.get("size")),
            "kind": "video" if is_video else "attachment",
            "width": _as_int(attachment.get("width")),
            "height": _as_int(attachment.get("height")),
            "is_video": is_video,
        }


def _media_ref(
    media: Mapping[str, Any], kind: str, fallback_url: str | None = None, is_video: bool = False
) -> dict[str, Any] | None:
    url = media.get("url") or fallback_url or media.get("proxy_url")
    if not url or not str(url).startswith(("http://", "https://")):
        return None
    name = name_from_url(url)
    content_type = media.get("content_type")
    if content_type and not is_video and not is_picture_content_type(content_type):
        return None
    attachment_id = media.get("attachment_id")
    return {
        "identity": f"attachment:{attachment_id}" if attachment_id else None,
        "url": url,
        "fallback_url": media.get("proxy_url"),
        "original_name": name,
        "content_type": content_type,
        "expected_size": None,
        "kind": kind,
        "width": _as_int(media.get("width")),
        "height": _as_int(media.get("height")),
        "is_video": is_video,
    }


def _embed_refs(embeds: Iterable[Mapping[str, Any]], kinds: frozenset[str]) -> Iterable[dict[str, Any]]:
    for embed in embeds:
        embed_type = embed.get("type")
        refs: list[dict[str, Any] | None] = []
        if embed_type == "image" and "embeds" in kinds:
            # A bare image link's embed keeps its picture in `thumbnail` (discord-api.md §4).
            media = embed.get("thumbnail") or embed.get("image") or {}
            refs.append(_media_ref(media, "embed", fallback_url=embed.get("url")))
        elif embed_type in ("rich", "article"):
            if embed.get("image") and "embeds" in kinds:
                refs.append(_media_ref(embed["image"], "embed"))
            if embed.get("thumbnail") and "thumbnails" in kinds:
                refs.append(_media_ref(embed["thumbnail"], "thumbnail"))
        elif embed_type == "gifv" and "gifv" in kinds and embed.get("video"):
            refs.append(_media_ref(embed["video"], "gifv", is_video=True))
        elif embed_type == "video" and "video" in kinds and (embed.get("video") or {}).get("proxy_url"):
            # Only Discord-hosted videos are files; YouTube and the like are web pages.
            video = embed["video"]
            refs.append(_media_ref({**video, "url": video["proxy_url"]}, "video", is_video=True))
        yield from (ref for ref in refs if ref is not None)


def _component_refs(components: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    for component in components:
        if component.get("type") == MEDIA_GALLERY:
            for item in component.get("items") or []:
                ref = _media_ref(item.get("media") or {}, "component")
                if ref is not None and (ref["content_type"] or has_picture_extension(ref["original_name"])):
                    yield ref
        if component.get("type") in (CONTAINER, SECTION):
            yield from _component_refs(component.get("components") or [])


def _link_refs(content: str) -> Iterable[dict[str, Any]]:
    for match in _LINK.finditer(content or ""):
        url = match.group(0).rstrip(".,;:!>*_~")
        if has_picture_extension(urlsplit(url).path):
            yield {
                "identity": None,
                "url": url,
                "fallback_url": None,
                "original_name": name_from_url(url),
                "content_type": None,
                "expected_size": None,
                "kind": "link",
            }


def _sticker_refs(stickers: Iterable[Mapping[str, Any]], cdn_base: str, media_base: str) -> Iterable[dict[str, Any]]:
    for sticker in stickers:
        host_and_ext = STICKER_FORMATS.get(sticker.get("format_type"))  # type: ignore[arg-type]
        if host_and_ext is None:
            continue
        host, ext = host_and_ext
        url = f"{cdn_base if host == 'cdn' else media_base}/stickers/{sticker.get('id')}{ext}"
        yield {
            "identity": f"sticker:{sticker.get('id')}",
            "url": url,
            "fallback_url": None,
            "original_name": f"{sticker.get('name') or 'sticker'}{ext}",
            "content_type": None,
            "expected_size": None,
            "kind": "sticker",
        }


def _raw_refs(message: Mapping[str, Any], kinds: frozenset[str], cdn_base: str, media_base: str) -> Iterable[dict[str, Any]]:
    yield from _attachment_refs(message.get("attachments") or [], kinds)
    if "components" in kinds:
        yield from _component_refs(message.get("components") or [])
    yield from _embed_refs(message.get("embeds") or [], kinds)
    if "links" in kinds:
        yield from _link_refs(message.get("content") or "")
    if "stickers" in kinds:
        yield from _sticker_refs(message.get("sticker_items") or [], cdn_base, media_base)


def author_name(message: Mapping[str, Any]) -> str:
    """The display name of a message's author (global name, else user name)."""
    author = message.get("author") or {}
    return str(author.get("global_name") or author.get("username") or "")


def extract_pictures(
    message: Mapping[str, Any],
    kinds: frozenset[str] = DEFAULT_KINDS,
    cdn_base: str = DISCORD_CDN,
    media_base: str = DISCORD_MEDIA,
) -> list[PictureRef]:
    """Every picture a message shows, once each, in display order (discord-api.md §4)."""
    message_id = int(message["id"])
    posted_at = parse_timestamp(message.get("timestamp")) or snowflake_to_datetime(message_id)
    raw = list(_raw_refs(message, kinds, cdn_base, media_base))
    if "forwards" in kinds:
        for snapshot in message.get("message_snapshots") or []:
            for ref in _raw_refs(snapshot.get("message") or {}, kinds, cdn_base, media_base):
                ref["kind"] = f"forward:{ref['kind']}"
                raw.append(ref)
    pictures: list[PictureRef] = []
    seen: set[str] = set()
    author = author_name(message)
    text = str(message.get("content") or "")
    for ref in raw:
        normalized = normalize_url(ref["url"])
        identity = ref.pop("identity") or f"url:{normalized}#{message_id}"
        if normalized in seen or identity in seen:
            continue
        seen.update((normalized, identity))
        pictures.append(
            PictureRef(
                identity=identity,
                message_id=message_id,
                channel_id=str(message.get("channel_id", "")),
                posted_at=posted_at,
                author=author,
                text=text,
                **ref,
            )
        )
    return pictures


def parse_timestamp(value: Any) -> datetime | None:
    """Parse Discord's ISO-8601 `timestamp` field; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def signed_url_expired(url: str, now_epoch_seconds: float) -> bool:
    """True when a signed CDN URL's `ex` (hex Unix seconds) has passed (discord-api.md §4)."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "ex":
            try:
                return int(value, 16) < now_epoch_seconds
            except ValueError:
                return False
    return False
