"""Pure parsing of how people write a channel: an ID, a name, `#name`, `<#id>`, or a Discord link."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# https://discord.com/channels/<guild or @me>/<channel>[/<message>]; ptb./canary. and discordapp.com too
# (the forms the client's "Copy Link" gives; gallery-dl's discord extractor accepts the same).
_LINK = re.compile(
    r"^(?:https?://)?(?:(?:www|ptb|canary)\.)?discord(?:app)?\.com/channels/"
    r"(?P<guild>\d{1,20}|@me)/(?P<channel>\d{1,20})(?:/(?P<message>\d{1,20}))?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_SERVER_LINK = re.compile(r"^(?:https?://)?(?:(?:www|ptb|canary)\.)?discord(?:app)?\.com/channels/(\d{1,20})/?$", re.IGNORECASE)
_MENTION = re.compile(r"^<#(\d{1,20})>$")
_SNOWFLAKE = re.compile(r"^\d{1,20}$")


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
    if _SNOWFLAKE.match(value):
        return ChannelSpec(channel_id=value)
    mention = _MENTION.match(value)
    if mention:
        return ChannelSpec(channel_id=mention.group(1))
    link = _LINK.match(value)
    if link:
        guild = link.group("guild")
        return ChannelSpec(channel_id=link.group("channel"), guild_id=None if guild == "@me" else guild)
    if _SERVER_LINK.match(value):
        raise ValueError(f"{value!r} is a server link; open the channel and copy its link (right-click the channel → Copy Link)")
    if "://" in value or re.match(r"^(?:www\.)?discord(?:app)?\.com/", value, re.IGNORECASE):
        raise ValueError(f"{value!r} is not a Discord channel link (https://discord.com/channels/<server>/<channel>)")
    name = value.removeprefix("#").strip()
    if not name:
        raise ValueError("a channel name is needed after '#'")
    return ChannelSpec(name=name)


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
