"""Pure functions: snowflakes, message JSON -> picture references, URL and file-name rules."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from picextract.pictures.media import (
    VIDEO_EXTENSIONS,
    extension_of,
    has_picture_extension,
    is_picture_content_type,
)
from picextract.pictures.urls import is_emoji_url, links_in_text, name_from_url, normalize_url, picture_name_from_url

DISCORD_EPOCH_MS = 1420070400000  # 2015-01-01T00:00:00Z, https://discord.com/developers/docs/reference#snowflakes
# IS_COMPONENTS_V2: https://discord.com/developers/docs/resources/message#message-object-message-flags
COMPONENTS_V2_FLAG = 1 << 15
SECTION, THUMBNAIL, MEDIA_GALLERY, FILE, CONTAINER = 9, 11, 12, 13, 17  # https://discord.com/developers/docs/components/reference
MAX_SNOWFLAKE = (1 << 63) - 1
DISCORD_CDN = "https://cdn.discordapp.com"
DISCORD_MEDIA = "https://media.discordapp.net"
STICKER_FORMATS = {1: ("cdn", ".png"), 2: ("cdn", ".png"), 4: ("media", ".gif")}  # 3 = Lottie JSON: no picture

# The one rule table: what each kind is and whether it is saved by default (README shows it).
KIND_RULES: dict[str, tuple[bool, str]] = {
    "attachments": (True, "uploaded files with an image type (or an image extension when the type is missing)"),
    "embeds": (True, "`image` embeds (a pasted image link) and the `image` of `rich`/`article` embeds"),
    "components": (True, "media-gallery items, image File components and Section thumbnails of components-v2 messages"),
    "forwards": (True, "the pictures of forwarded messages (`message_snapshots`), by the kinds above"),
    "links": (True, "image links in the message text (query strings allowed)"),
    "gifv": (False, "animated GIF embeds (Tenor, Klipy): their MP4"),
    "video": (False, "video uploads and Discord-hosted video embeds"),
    "thumbnails": (False, "the `thumbnail` of `rich`/`article` embeds"),
    "stickers": (False, "stickers (PNG, APNG, GIF; Lottie stickers are no picture)"),
    "emojis": (False, "custom emojis linked in the text (`cdn.discordapp.com/emojis/…`)"),
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


# --- message -> pictures -----------------------------------------------------------------


class MalformedMessage(ValueError):
    """A message whose JSON cannot be read (no usable id, wrong types): skipped with a warning."""


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON list; anything else (null, a string, a number) holds none."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _attachment_refs(attachments: Iterable[Mapping[str, Any]], kinds: frozenset[str]) -> Iterable[dict[str, Any]]:
    for attachment in attachments:
        url = _text(attachment.get("url")) or _text(attachment.get("proxy_url"))
        name = _text(attachment.get("filename")) or name_from_url(url)
        content_type = _text(attachment.get("content_type")).lower()
        if content_type:
            is_image = is_picture_content_type(content_type)
            is_video = content_type.startswith("video/")
        else:
            is_image = has_picture_extension(name)
            is_video = extension_of(name) in VIDEO_EXTENSIONS
        if not url or not ((is_image and "attachments" in kinds) or (is_video and "video" in kinds)):
            continue
        attachment_id = attachment.get("id")
        yield {
            "identity": f"attachment:{attachment_id}" if _is_snowflake(attachment_id) else None,
            "url": url,
            "fallback_url": _text(attachment.get("proxy_url")) or None,
            "original_name": name,
            "content_type": content_type or None,
            "expected_size": _as_int(attachment.get("size")),
            "kind": "video" if is_video else "attachment",
            "width": _as_int(attachment.get("width")),
            "height": _as_int(attachment.get("height")),
            "is_video": is_video,
        }


def _is_snowflake(value: Any) -> bool:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return text.isdigit() and 0 < int(text) <= MAX_SNOWFLAKE


def _media_ref(
    media: Mapping[str, Any], kind: str, fallback_url: str | None = None, is_video: bool = False
) -> dict[str, Any] | None:
    url = _text(media.get("url")) or fallback_url or _text(media.get("proxy_url"))
    if not url.startswith(("http://", "https://")):
        return None  # no URL yet (a gallery item still loading), or `attachment://`
    content_type = _text(media.get("content_type")) or None
    if content_type and not is_video and not is_picture_content_type(content_type):
        return None
    attachment_id = media.get("attachment_id")
    return {
        "identity": f"attachment:{attachment_id}" if _is_snowflake(attachment_id) else None,
        "url": url,
        "fallback_url": _text(media.get("proxy_url")) or None,
        "original_name": picture_name_from_url(url),
        "content_type": content_type,
        "expected_size": None,
        "kind": "emoji" if is_emoji_url(url) else kind,
        "width": _as_int(media.get("width")),
        "height": _as_int(media.get("height")),
        "is_video": is_video,
    }


def _embed_refs(embeds: Iterable[Mapping[str, Any]], kinds: frozenset[str]) -> Iterable[dict[str, Any]]:
    for embed in embeds:
        embed_type = embed.get("type")
        refs: list[dict[str, Any] | None] = []
        if embed_type == "image" and "embeds" in kinds:
            # A bare image link's embed keeps its picture in `thumbnail`, as captured messages show
            # (https://github.com/cloudrac3r/out-of-your-element, test/data.js;
            # embed types: https://discord.com/developers/docs/resources/message#embed-object-embed-types).
            media = _mapping(embed.get("thumbnail")) or _mapping(embed.get("image"))
            refs.append(_media_ref(media, "embed", fallback_url=_text(embed.get("url")) or None))
        elif embed_type in ("rich", "article"):
            if embed.get("image") and "embeds" in kinds:
                refs.append(_media_ref(_mapping(embed["image"]), "embed"))
            if embed.get("thumbnail") and "thumbnails" in kinds:
                refs.append(_media_ref(_mapping(embed["thumbnail"]), "thumbnail"))
        elif embed_type == "gifv" and "gifv" in kinds and embed.get("video"):
            refs.append(_media_ref(_mapping(embed["video"]), "gifv", is_video=True))
        elif embed_type == "video" and "video" in kinds and _text(_mapping(embed.get("video")).get("proxy_url")):
            # Only Discord-hosted videos are files; YouTube and the like are web pages.
            video = _mapping(embed["video"])
            refs.append(_media_ref({**video, "url": video["proxy_url"]}, "video", is_video=True))
        yield from (ref for ref in refs if ref is not None)


def _component_media(component: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The media of one component: gallery items, a File's file, a Thumbnail's media."""
    kind = component.get("type")
    if kind == MEDIA_GALLERY:
        return [_mapping(item.get("media")) for item in _dicts(component.get("items"))]
    if kind == FILE:
        return [_mapping(component.get("file"))]
    if kind == THUMBNAIL:
        return [_mapping(component.get("media"))]
    return []


def _component_refs(components: Iterable[Mapping[str, Any]], depth: int = 0) -> Iterable[dict[str, Any]]:
    for component in components:
        for media in _component_media(component):
            ref = _media_ref(media, "component")
            if ref is not None and (ref["content_type"] or has_picture_extension(ref["original_name"])):
                yield ref
        if component.get("type") in (CONTAINER, SECTION) and depth < 5:
            children = _dicts(component.get("components")) + _dicts([component.get("accessory")])
            yield from _component_refs(children, depth + 1)


def _link_refs(content: str) -> Iterable[dict[str, Any]]:
    for url in links_in_text(content):
        if has_picture_extension(urlsplit(url).path):
            yield {
                "identity": None,
                "url": url,
                "fallback_url": None,
                "original_name": picture_name_from_url(url),
                "content_type": None,
                "expected_size": None,
                "kind": "emoji" if is_emoji_url(url) else "link",
            }


def _sticker_refs(stickers: Iterable[Mapping[str, Any]], cdn_base: str, media_base: str) -> Iterable[dict[str, Any]]:
    for sticker in stickers:
        format_type = sticker.get("format_type")
        host_and_ext = STICKER_FORMATS.get(format_type) if isinstance(format_type, int) else None
        if host_and_ext is None or not _is_snowflake(sticker.get("id")):
            continue
        host, ext = host_and_ext
        url = f"{cdn_base if host == 'cdn' else media_base}/stickers/{sticker.get('id')}{ext}"
        yield {
            "identity": f"sticker:{sticker.get('id')}",
            "url": url,
            "fallback_url": None,
            "original_name": f"{_text(sticker.get('name')) or 'sticker'}{ext}",
            "content_type": None,
            "expected_size": None,
            "kind": "sticker",
        }


def _raw_refs(message: Mapping[str, Any], kinds: frozenset[str], cdn_base: str, media_base: str) -> Iterable[dict[str, Any]]:
    yield from _attachment_refs(_dicts(message.get("attachments")), kinds)
    if "components" in kinds:
        yield from _component_refs(_dicts(message.get("components")))
    yield from _embed_refs(_dicts(message.get("embeds")), kinds)
    if "links" in kinds or "emojis" in kinds:
        yield from _link_refs(_text(message.get("content")))
    if "stickers" in kinds:
        yield from _sticker_refs(_dicts(message.get("sticker_items")), cdn_base, media_base)


def author_name(message: Mapping[str, Any]) -> str:
    """The display name of a message's author (global name, else user name)."""
    author = _mapping(message.get("author"))
    return _text(author.get("global_name")) or _text(author.get("username"))


def message_id_of(message: Any) -> int:
    """A message's snowflake; MalformedMessage when it has none that can be used."""
    raw_id = message.get("id") if isinstance(message, Mapping) else None
    if not _is_snowflake(raw_id):
        raise MalformedMessage(f"message without a usable id ({str(raw_id)[:40]!r})")
    return int(raw_id)  # type: ignore[arg-type]


def _wanted(kind: str, kinds: frozenset[str]) -> bool:
    """Emojis come from links and embeds, but are their own kind."""
    if kind == "emoji":
        return "emojis" in kinds
    return kind != "link" or "links" in kinds


def extract_pictures(
    message: Mapping[str, Any],
    kinds: frozenset[str] = DEFAULT_KINDS,
    cdn_base: str = DISCORD_CDN,
    media_base: str = DISCORD_MEDIA,
) -> list[PictureRef]:
    """Every picture a message shows, once each, in display order.

    Fields: https://discord.com/developers/docs/resources/message#message-object

    Missing, null or wrongly typed fields hold no picture; MalformedMessage when the message has no usable id.
    """
    message_id = message_id_of(message)
    posted_at = message_time(message, message_id)
    raw = list(_raw_refs(message, kinds, cdn_base, media_base))
    if "forwards" in kinds:
        for snapshot in _dicts(message.get("message_snapshots")):
            for ref in _raw_refs(_mapping(snapshot.get("message")), kinds, cdn_base, media_base):
                ref["kind"] = f"forward:{ref['kind']}"
                raw.append(ref)
    pictures: list[PictureRef] = []
    seen: set[str] = set()
    author = author_name(message)
    text = _text(message.get("content"))
    channel_id = message.get("channel_id")
    for position, ref in enumerate(raw):
        normalized = normalize_url(ref["url"])
        identity = ref.pop("identity")
        if normalized in seen or not _wanted(ref["kind"].removeprefix("forward:"), kinds):
            continue
        if identity is None and ref["kind"].removeprefix("forward:") not in ("attachment", "video"):
            identity = f"url:{normalized}#{message_id}"
        if identity is None or identity in seen:
            # No id, or one another picture of this message already has: message id + position + URL.
            identity = f"item:{message_id}:{position}:{normalized}"
        seen.update((normalized, identity))
        pictures.append(
            PictureRef(
                identity=identity,
                message_id=message_id,
                channel_id=str(channel_id) if isinstance(channel_id, (str, int)) else "",
                posted_at=posted_at,
                author=author,
                text=text,
                **ref,
            )
        )
    return pictures


def message_time(message: Mapping[str, Any], message_id: int) -> datetime:
    """The message's `timestamp`, unless it is unreadable or far from the time its id encodes."""
    by_id = snowflake_to_datetime(message_id)
    stated = parse_timestamp(message.get("timestamp"))
    if stated is None or abs((stated - by_id).total_seconds()) > 86400:
        return by_id
    return stated


def parse_timestamp(value: Any) -> datetime | None:
    """Parse Discord's ISO-8601 `timestamp` field; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
