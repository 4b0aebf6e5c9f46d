"""Pure parsing of how people write a channel: an ID, a name, `#name`, `<#id>`, or a Discord link."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from picextract.pictures.ids import is_snowflake

# https://discord.com/channels/<guild or @me>/<channel>[/<message>]; ptb./canary. and discordapp.com too
# (the forms the client's "Copy Link" gives; gallery-dl's discord extractor accepts the same).
# The patterns find the parts; whether a part is an id is `is_snowflake`'s to say.
_LINK = re.compile(
    r"^(?:https?://)?(?:(?:www|ptb|canary)\.)?discord(?:app)?\.com/channels/"
    r"(?P<guild>[^/?#]+)/(?P<channel>[^/?#]+)(?:/(?P<message>[^/?#]+))?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_SERVER_LINK = re.compile(r"^(?:https?://)?(?:(?:www|ptb|canary)\.)?discord(?:app)?\.com/channels/([^/?#]+)/?$", re.IGNORECASE)
_MENTION = re.compile(r"^<#(.*)>$")


@dataclass(frozen=True)
class ChannelSpec:
    """One channel as the user wrote it: an ID (with the guild a link names) or a name."""

    channel_id: str | None = None
    name: str | None = None
    guild_id: str | None = None


def parse_channel_spec(text: str) -> ChannelSpec:
    """An ID, `<#id>`, a channel or message link, `#name` or `name`; ValueError when it is none of them."""
    value = text.strip().strip("<>") if text.strip().startswith("<http") else text.strip()
    if not value:
        raise ValueError("no channel given")
    if is_snowflake(value):
        return ChannelSpec(channel_id=value)
    mention = _MENTION.match(value)
    if mention and is_snowflake(mention.group(1)):
        return ChannelSpec(channel_id=mention.group(1))
    linked = _from_link(value)
    if linked is not None:
        return linked
    server = _SERVER_LINK.match(value)
    if server and is_snowflake(server.group(1)):
        raise ValueError(f"{value!r} is a server link; open the channel and copy its link (right-click the channel → Copy Link)")
    if "://" in value or re.match(r"^(?:www\.)?discord(?:app)?\.com/", value, re.IGNORECASE):
        raise ValueError(f"{value!r} is not a Discord channel link (https://discord.com/channels/<server>/<channel>)")
    name = value.removeprefix("#").strip()
    if not name:
        raise ValueError("a channel name is needed after '#'")
    return ChannelSpec(name=name)


def _from_link(value: str) -> ChannelSpec | None:
    """The channel (and guild) a channel or message link names; None when `value` is no such link."""
    link = _LINK.match(value)
    if link is None:
        return None
    guild = None if link.group("guild").lower() == "@me" else link.group("guild")
    if not all(part is None or is_snowflake(part) for part in (guild, link.group("channel"), link.group("message"))):
        return None
    return ChannelSpec(channel_id=link.group("channel"), guild_id=guild)


def parse_channel_list(text: str) -> list[ChannelSpec]:
    """A comma-separated list of channels, each in any form parse_channel_spec takes."""
    specs = [parse_channel_spec(part) for part in text.split(",") if part.strip()]
    if not specs:
        raise ValueError("no channel given")
    return specs


def guild_of(specs: Sequence[ChannelSpec]) -> str | None:
    """The guild ID the links name, when they name one."""
    guilds = {spec.guild_id for spec in specs if spec.guild_id}
    return guilds.pop() if len(guilds) == 1 else None
