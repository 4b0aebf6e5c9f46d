"""Pure functions: snowflakes, message JSON -> picture references, URL and file-name rules."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from picextract.pictures.ids import snowflake
from picextract.pictures.parts import PartReader, RawRef, mapping, text

DISCORD_EPOCH_MS = 1420070400000  # 2015-01-01T00:00:00Z, https://discord.com/developers/docs/reference#snowflakes
# IS_COMPONENTS_V2: https://discord.com/developers/docs/resources/message#message-object-message-flags
COMPONENTS_V2_FLAG = 1 << 15
DISCORD_CDN = "https://cdn.discordapp.com"
DISCORD_MEDIA = "https://media.discordapp.net"
PART_IDENTITY_PREFIX = "part:"  # failures of parts that could not be read, beside the pictures' identities

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
    """A message without a usable id: skipped whole, with a warning (any other fault costs only its part)."""


@dataclass(frozen=True)
class UnreadablePart:
    """A part of a message that could not be read; the rest of the message was."""

    message_id: int
    name: str  # `link 1`, `embed 2`, `component 1.2 item 3`, `forward 1 attachment 1`
    reason: str  # the error, shown with --debug
    excerpt: str  # the part's JSON, shortened, shown with --debug
    given_up: bool = False  # unreadable on DEAD_AFTER_RUNS runs: not read again

    @property
    def identity(self) -> str:
        """Its key in the state file's failures, so later runs read its message again."""
        return f"{PART_IDENTITY_PREFIX}{self.message_id}:{self.name}"


@dataclass(frozen=True)
class MessagePictures:
    """What one message holds: its pictures, and the parts that could not be read."""

    pictures: list[PictureRef]
    unreadable: list[UnreadablePart]


def author_name(message: Mapping[str, Any]) -> str:
    """The display name of a message's author (global name, else user name)."""
    author = mapping(message.get("author"))
    return text(author.get("global_name")) or text(author.get("username"))


def message_id_of(message: Any) -> int:
    """A message's snowflake; MalformedMessage when it has none that can be used."""
    raw_id = message.get("id") if isinstance(message, Mapping) else None
    message_id = snowflake(raw_id)
    if message_id is None:
        raise MalformedMessage(f"message without a usable id ({str(raw_id)[:40]!r})")
    return message_id


def _wanted(kind: str, kinds: frozenset[str]) -> bool:
    """Emojis come from links and embeds, but are their own kind."""
    if kind == "emoji":
        return "emojis" in kinds
    return kind != "link" or "links" in kinds


def read_message(
    message: Mapping[str, Any],
    kinds: frozenset[str] = DEFAULT_KINDS,
    cdn_base: str = DISCORD_CDN,
    media_base: str = DISCORD_MEDIA,
) -> MessagePictures:
    """Every picture a message shows, once each, in display order, and the parts that could not be read.

    Fields: https://discord.com/developers/docs/resources/message#message-object

    Missing, null or wrongly typed fields hold no picture; each part is read on its own, so one that
    cannot be read costs only itself; MalformedMessage when the message has no usable id.
    """
    message_id = message_id_of(message)
    reader = PartReader(kinds, cdn_base, media_base)
    reader.read_message(message)
    if "forwards" in kinds:
        reader.read_forwards(message)
    unreadable = [UnreadablePart(message_id, name, reason, excerpt) for name, reason, excerpt in reader.problems]
    return MessagePictures(_pictures(message, message_id, reader.refs, kinds), unreadable)


def extract_pictures(
    message: Mapping[str, Any],
    kinds: frozenset[str] = DEFAULT_KINDS,
    cdn_base: str = DISCORD_CDN,
    media_base: str = DISCORD_MEDIA,
) -> list[PictureRef]:
    """The pictures of `read_message` (the parts that could not be read left out)."""
    return read_message(message, kinds, cdn_base, media_base).pictures


def _pictures(message: Mapping[str, Any], message_id: int, raw: list[RawRef], kinds: frozenset[str]) -> list[PictureRef]:
    """One PictureRef per picture: a URL seen twice in a message is one picture; every one has its own identity."""
    posted_at = message_time(message, message_id)
    pictures: list[PictureRef] = []
    seen: set[str] = set()
    author = author_name(message)
    content = text(message.get("content"))
    channel_id = message.get("channel_id")
    for position, ref in enumerate(raw):
        normalized = ref.pop("normalized")
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
                text=content,
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
