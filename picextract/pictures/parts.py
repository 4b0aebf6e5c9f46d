"""Pure: the parts of one message (attachments, embeds, components, links, stickers, forwards), each read on its own.

A part that cannot be read (not a JSON object, or a URL `urllib.parse` cannot split or encode) is
named and set aside; it never costs the other parts of its message.
Fields: https://discord.com/developers/docs/resources/message#message-object
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from picextract.pictures.ids import is_snowflake
from picextract.pictures.media import VIDEO_EXTENSIONS, extension_of, has_picture_extension, is_picture_content_type
from picextract.pictures.urls import is_emoji_url, links_in_text, name_from_url, normalize_url, picture_name_from_url

SECTION, THUMBNAIL, MEDIA_GALLERY, FILE, CONTAINER = 9, 11, 12, 13, 17  # https://discord.com/developers/docs/components/reference
MAX_COMPONENT_DEPTH = 5  # components-v2 nest containers and sections at most this deep in practice
STICKER_FORMATS = {1: ("cdn", ".png"), 2: ("cdn", ".png"), 4: ("media", ".gif")}  # 3 = Lottie JSON: no picture
# What reading one part may raise on hostile JSON: caught per part, so only that part is lost.
PART_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError, RecursionError)
_EXCERPT = reprlib.Repr()  # a bounded repr: a hostile part may be megabytes
_EXCERPT.maxlevel, _EXCERPT.maxdict, _EXCERPT.maxlist, _EXCERPT.maxstring, _EXCERPT.maxother = 3, 8, 6, 160, 60

RawRef = dict[str, Any]


def as_int(value: Any) -> int | None:
    """An integer field; None for anything else (booleans included)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def dicts(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON list; anything else (null, a string, a number) holds none."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one when something else is there."""
    return value if isinstance(value, Mapping) else {}


def text(value: Any) -> str:
    """A string field; '' for anything else."""
    return value if isinstance(value, str) else ""


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _attachment_ref(attachment: Mapping[str, Any], kinds: frozenset[str]) -> RawRef | None:
    url = text(attachment.get("url")) or text(attachment.get("proxy_url"))
    name = text(attachment.get("filename")) or name_from_url(url)
    content_type = text(attachment.get("content_type")).lower()
    if content_type:
        is_image = is_picture_content_type(content_type)
        is_video = content_type.startswith("video/")
    else:
        is_image = has_picture_extension(name)
        is_video = extension_of(name) in VIDEO_EXTENSIONS
    if not url or not ((is_image and "attachments" in kinds) or (is_video and "video" in kinds)):
        return None
    attachment_id = attachment.get("id")
    return {
        "identity": f"attachment:{attachment_id}" if is_snowflake(attachment_id) else None,
        "url": url,
        "fallback_url": text(attachment.get("proxy_url")) or None,
        "original_name": name,
        "content_type": content_type or None,
        "expected_size": as_int(attachment.get("size")),
        "kind": "video" if is_video else "attachment",
        "width": as_int(attachment.get("width")),
        "height": as_int(attachment.get("height")),
        "is_video": is_video,
    }


def _media_ref(media: Mapping[str, Any], kind: str, fallback_url: str | None = None, is_video: bool = False) -> RawRef | None:
    url = text(media.get("url")) or fallback_url or text(media.get("proxy_url"))
    if not url.startswith(("http://", "https://")):
        return None  # no URL yet (a gallery item still loading), or `attachment://`
    content_type = text(media.get("content_type")) or None
    if content_type and not is_video and not is_picture_content_type(content_type):
        return None
    attachment_id = media.get("attachment_id")
    return {
        "identity": f"attachment:{attachment_id}" if is_snowflake(attachment_id) else None,
        "url": url,
        "fallback_url": text(media.get("proxy_url")) or None,
        "original_name": picture_name_from_url(url),
        "content_type": content_type,
        "expected_size": None,
        "kind": "emoji" if is_emoji_url(url) else kind,
        "width": as_int(media.get("width")),
        "height": as_int(media.get("height")),
        "is_video": is_video,
    }


def _embed_refs(embed: Mapping[str, Any], kinds: frozenset[str]) -> list[RawRef | None]:
    embed_type = embed.get("type")
    if embed_type == "image" and "embeds" in kinds:
        # A bare image link's embed keeps its picture in `thumbnail`, as captured messages show
        # (https://github.com/cloudrac3r/out-of-your-element, test/data.js;
        # embed types: https://discord.com/developers/docs/resources/message#embed-object-embed-types).
        media = mapping(embed.get("thumbnail")) or mapping(embed.get("image"))
        return [_media_ref(media, "embed", fallback_url=text(embed.get("url")) or None)]
    refs: list[RawRef | None] = []
    if embed_type in ("rich", "article"):
        if embed.get("image") and "embeds" in kinds:
            refs.append(_media_ref(mapping(embed["image"]), "embed"))
        if embed.get("thumbnail") and "thumbnails" in kinds:
            refs.append(_media_ref(mapping(embed["thumbnail"]), "thumbnail"))
    elif embed_type == "gifv" and "gifv" in kinds and embed.get("video"):
        refs.append(_media_ref(mapping(embed["video"]), "gifv", is_video=True))
    elif embed_type == "video" and "video" in kinds and text(mapping(embed.get("video")).get("proxy_url")):
        # Only Discord-hosted videos are files; YouTube and the like are web pages.
        video = mapping(embed["video"])
        refs.append(_media_ref({**video, "url": video["proxy_url"]}, "video", is_video=True))
    return refs


def _component_ref(media: Any) -> RawRef | None:
    ref = _media_ref(mapping(media), "component")
    return ref if ref is not None and (ref["content_type"] or has_picture_extension(ref["original_name"])) else None


def _link_ref(url: str) -> RawRef | None:
    if not has_picture_extension(urlsplit(url).path):
        return None
    return {
        "identity": None,
        "url": url,
        "fallback_url": None,
        "original_name": picture_name_from_url(url),
        "content_type": None,
        "expected_size": None,
        "kind": "emoji" if is_emoji_url(url) else "link",
    }


def _sticker_ref(sticker: Mapping[str, Any], bases: Mapping[str, str]) -> RawRef | None:
    format_type = sticker.get("format_type")
    host_and_ext = STICKER_FORMATS.get(format_type) if isinstance(format_type, int) else None
    if host_and_ext is None or not is_snowflake(sticker.get("id")):
        return None
    host, ext = host_and_ext
    return {
        "identity": f"sticker:{sticker.get('id')}",
        "url": f"{bases[host]}/stickers/{sticker.get('id')}{ext}",
        "fallback_url": None,
        "original_name": f"{text(sticker.get('name')) or 'sticker'}{ext}",
        "content_type": None,
        "expected_size": None,
        "kind": "sticker",
    }


class PartReader:
    """Reads the parts of one message: the raw picture refs found, and the parts that could not be read.

    `problems` holds (part name, reason, excerpt of the part); names count from 1 in the order the
    message lists its parts (`attachment 2`, `component 1.2 item 3`, `forward 1 link 1`).
    """

    def __init__(self, kinds: frozenset[str], cdn_base: str, media_base: str) -> None:
        self.kinds = kinds
        self.bases = {"cdn": cdn_base, "media": media_base}
        self.refs: list[RawRef] = []
        self.problems: list[tuple[str, str, str]] = []

    def read(self, name: str, part: Any, reader: Callable[[Any], Iterable[RawRef | None]], is_object: bool = True) -> None:
        """Read one part; what it raises costs only this part."""
        if is_object and not isinstance(part, Mapping):
            self.problems.append((name, f"not a JSON object ({type(part).__name__})", _EXCERPT.repr(part)))
            return
        try:
            found = [ref for ref in reader(part) if ref is not None]
            for ref in found:
                ref["normalized"] = normalize_url(ref["url"])  # a URL that cannot be split fails here, in its part
        except PART_ERRORS as problem:
            self.problems.append((name, f"{type(problem).__name__}: {str(problem)[:200]}", _EXCERPT.repr(part)))
            return
        self.refs.extend(found)

    def read_message(self, message: Mapping[str, Any], prefix: str = "", forward: str = "") -> None:
        """Every part of a message (or of a forwarded snapshot: `prefix` names it, `forward` marks its kinds)."""
        start = len(self.refs)
        kinds = self.kinds
        for number, attachment in enumerate(_items(message.get("attachments")), 1):
            self.read(f"{prefix}attachment {number}", attachment, lambda part: [_attachment_ref(part, kinds)])
        if "components" in kinds:
            self._components(_items(message.get("components")), f"{prefix}component ", 0)
        for number, embed in enumerate(_items(message.get("embeds")), 1):
            self.read(f"{prefix}embed {number}", embed, lambda part: _embed_refs(part, kinds))
        if "links" in kinds or "emojis" in kinds:
            for number, url in enumerate(links_in_text(text(message.get("content"))), 1):
                self.read(f"{prefix}link {number}", url, lambda part: [_link_ref(part)], is_object=False)
        if "stickers" in kinds:
            for number, sticker in enumerate(_items(message.get("sticker_items")), 1):
                self.read(f"{prefix}sticker {number}", sticker, lambda part: [_sticker_ref(part, self.bases)])
        for ref in self.refs[start:]:
            ref["kind"] = forward + ref["kind"]

    def read_forwards(self, message: Mapping[str, Any]) -> None:
        """The parts of each forwarded message (`message_snapshots`)."""
        for number, snapshot in enumerate(_items(message.get("message_snapshots")), 1):
            forwarded = mapping(snapshot).get("message")
            if not isinstance(forwarded, Mapping):
                self.problems.append((f"forward {number}", "no forwarded message object", _EXCERPT.repr(snapshot)))
                continue
            self.read_message(forwarded, f"forward {number} ", "forward:")

    def _components(self, components: list[Any], path: str, depth: int) -> None:
        """Each component and each gallery item on its own; containers and sections nest (components-v2)."""
        for number, component in enumerate(components, 1):
            name = f"{path}{number}"
            kind = mapping(component).get("type")
            if kind == MEDIA_GALLERY:
                for item_number, item in enumerate(_items(component.get("items")), 1):
                    self.read(f"{name} item {item_number}", item, lambda part: [_component_ref(part.get("media"))])
            elif kind in (FILE, THUMBNAIL):
                self.read(
                    name,
                    component,
                    lambda part: [_component_ref(part.get("file") if part.get("type") == FILE else part.get("media"))],
                )
            elif kind in (CONTAINER, SECTION) and depth < MAX_COMPONENT_DEPTH:
                children = _items(component.get("components"))
                accessory = component.get("accessory")
                self._components(children + ([accessory] if accessory is not None else []), f"{name}.", depth + 1)
            elif not isinstance(component, Mapping):
                self.read(name, component, lambda part: [])
