"""Channels: resolve IDs and names (with their guild) to channels, list a channel's threads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

from picextract.discord.channel_spec import ChannelSpec
from picextract.discord.client import DiscordClient, PagingError
from picextract.discord.errors import AccessError, ApiError, NotFoundError
from picextract.errors import UsageError
from picextract.pictures.ids import snowflake
from picextract.pictures.refs import parse_timestamp, snowflake_to_datetime

TEXT_CHANNEL_TYPES = {
    0: "text",
    2: "voice",
    5: "announcement",
    10: "thread",
    11: "thread",
    12: "thread",
    13: "stage",
    15: "forum",
    16: "media",
}
FORUM_TYPES = {15, 16}  # only threads, no messages of their own
THREAD_PARENT_TYPES = {0, 5, 15, 16}
ALL_CHANNELS_TYPES = {0, 5, 15}  # what --all-channels takes: text, announcement, forum
T = TypeVar("T")


class Notes(Protocol):
    """Where skipped channels and threads are reported."""

    def note(self, text: str) -> None: ...


@dataclass(frozen=True)
class ChannelInfo:
    """A channel or thread we download from."""

    id: str
    name: str
    guild_id: str | None = None
    guild_name: str | None = None
    type: int = 0
    parent_name: str | None = None
    last_message_id: int | None = None  # a thread's newest message as its listing said (None: unknown)

    @property
    def label(self) -> str:
        """`#name (server)` for messages to the user."""
        where = f" in {self.guild_name}" if self.guild_name else ""
        parent = f"#{self.parent_name} > " if self.parent_name else "#"
        return f"{parent}{self.name}{where}"


Chooser = Callable[[list[ChannelInfo]], ChannelInfo]  # picks one of several channels with the same name


@dataclass(frozen=True)
class Reachable:
    """A channel of a guild the token is in, and whether the token may read it."""

    channel: ChannelInfo
    readable: bool

    @property
    def kind(self) -> str:
        """text, announcement or forum."""
        return TEXT_CHANNEL_TYPES.get(self.channel.type, "other")


class AmbiguousChannelError(UsageError):
    """A name matched several channels; the caller must choose."""

    def __init__(self, candidates: Sequence[ChannelInfo]) -> None:
        names = ", ".join(f"{c.label} (id {c.id})" for c in candidates)
        super().__init__(f"several channels match: {names}; pass the channel ID instead")
        self.candidates = list(candidates)


def _match_by_name(items: Sequence[T], wanted: str, name_of: Callable[[T], str]) -> list[T]:
    """Exact name matches, else case-insensitive ones."""
    exact = [item for item in items if name_of(item) == wanted]
    if exact:
        return exact
    folded = wanted.casefold()
    return [item for item in items if name_of(item).casefold() == folded]


def _name_list(names: Sequence[str]) -> str:
    shown = sorted(set(names), key=lambda name: (name.casefold(), name))
    text = ", ".join(shown[:40]) if shown else "none"
    return f"{text}, …" if len(shown) > 40 else text


def _channel_type(channel: dict[str, Any], default: int) -> int:
    kind = channel.get("type")
    return kind if isinstance(kind, int) and not isinstance(kind, bool) else default


def thread_last_active(thread: dict[str, Any]) -> datetime:
    """When a thread last had a message (its last_message_id, else its creation); the epoch when neither is usable."""
    for value in (thread.get("last_message_id"), thread.get("id")):
        usable_id = snowflake(value)
        if usable_id is not None:
            return snowflake_to_datetime(usable_id)
    return datetime.fromtimestamp(0, timezone.utc)


class ChannelResolver:
    """Finds the channels the user means, and their threads."""

    def __init__(self, client: DiscordClient, notes: Notes) -> None:
        self.client = client
        self.reporter = notes
        self._guild_cache: dict[str, list[ChannelInfo]] = {}
        self._guilds: list[dict[str, Any]] | None = None

    def _resolve_one(self, spec: ChannelSpec, guild: str | None, choose: Chooser | None) -> ChannelInfo:
        """An ID via `GET /channels/{id}`; a name via the guild list and its channels."""
        if spec.channel_id is not None:
            return self._by_id(spec.channel_id)
        wanted = spec.name or ""
        candidates = _match_by_name(self._guild_channels(guild), wanted, lambda c: c.name)
        if not candidates:
            names = [c.name for c in self._guild_channels(guild)]
            raise NotFoundError(f"no channel named {wanted!r} in {guild!r}; its channels: {_name_list(names)}")
        if len(candidates) == 1:
            return candidates[0]
        if choose is None:
            raise AmbiguousChannelError(candidates)
        return choose(candidates)

    def _by_id(self, channel_id: str) -> ChannelInfo:
        found = self.client.get_channel(channel_id)
        if not isinstance(found, dict):
            raise ApiError(f"Discord sent channel {channel_id} in a form that cannot be read")
        guild_id = found.get("guild_id")
        known = {str(g["id"]): str(g.get("name")) for g in self._guilds or []}
        return ChannelInfo(
            id=channel_id,
            name=str(found.get("name") or channel_id),
            guild_id=str(guild_id) if isinstance(guild_id, (str, int)) and not isinstance(guild_id, bool) else None,
            guild_name=known.get(str(guild_id)) if guild_id else None,
            type=_channel_type(found, 0),
        )

    def guilds(self) -> list[dict[str, Any]]:
        """Every guild the token is in (asked once)."""
        if self._guilds is None:
            self._guilds = self.client.list_guilds()
        return self._guilds

    def matching_guilds(self, guild: str) -> list[dict[str, Any]]:
        """The guild with this ID, else the guild(s) with this name (exact, else case-insensitive)."""
        wanted = guild.strip()
        guilds = self.guilds()
        by_id = [g for g in guilds if str(g.get("id")) == wanted]
        matched = by_id or _match_by_name(guilds, wanted, lambda g: str(g.get("name", "")))
        if not matched:
            raise NotFoundError(f"no server named {guild!r}; your servers: {_name_list([g.get('name', '') for g in guilds])}")
        return matched

    def _guild_channels(self, guild: str | None) -> list[ChannelInfo]:
        """The text-like channels of the guild with this ID or name."""
        if not guild:
            raise NotFoundError("a channel name needs its server too (--guild)")
        cache = self._guild_cache
        if guild not in cache:
            cache[guild] = [
                ChannelInfo(str(c["id"]), str(c.get("name")), str(g["id"]), str(g.get("name")), int(c.get("type", 0)))
                for g in self.matching_guilds(guild)
                for c in self.client.list_guild_channels(str(g["id"]))
                if isinstance(c, dict) and c.get("id") and c.get("type") in TEXT_CHANNEL_TYPES
            ]
        return cache[guild]

    def reachable(self, guild: str | None = None) -> list[Reachable]:
        """The text, announcement and forum channels of every guild (or the one named), each probed for access."""
        found: list[Reachable] = []
        for g in self.matching_guilds(guild) if guild else self.guilds():
            guild_id, guild_name = str(g["id"]), str(g.get("name"))
            try:
                channels = self.client.list_guild_channels(guild_id)
            except (AccessError, NotFoundError) as problem:
                self.reporter.note(f"cannot list the channels of {guild_name}: {problem}")
                continue
            for c in sorted(channels, key=lambda c: (int(c.get("position") or 0), int(c["id"]))):
                if c.get("type") not in ALL_CHANNELS_TYPES:
                    continue
                info = ChannelInfo(str(c["id"]), str(c.get("name")), guild_id, guild_name, int(c.get("type", 0)))
                found.append(Reachable(info, self.readable(info.id)))
        return found

    def readable(self, channel_id: str) -> bool:
        """Whether the token may open the channel: the one rule for `--list`, the prompt and `--all-channels`.

        A listed channel may still answer 403 (no access) or 404 (deleted since it was listed): both are unreadable.

        https://github.com/discord/discord-api-docs/issues/867
        """
        try:
            self.client.get_channel(channel_id)
        except (AccessError, NotFoundError):
            return False
        return True

    def resolve(self, specs: Sequence[ChannelSpec], guild: str | None = None, choose: Chooser | None = None) -> list[ChannelInfo]:
        """The channels the specs name, each once (a name is looked up in `guild`; `choose` picks among namesakes)."""
        resolved = [self._resolve_one(spec, guild, choose) for spec in specs]
        return list({channel.id: channel for channel in resolved}.values())

    def all_readable(self, guild: str) -> list[ChannelInfo]:
        """Every text, announcement and forum channel of the guild the token may read; the others are noted."""
        found = []
        for channel in self._guild_channels(guild):
            if channel.type not in ALL_CHANNELS_TYPES:
                continue
            if not self.readable(channel.id):
                self.reporter.note(f"skipped {channel.label}: no access")
                continue
            found.append(channel)
        return found

    def name_guilds(self, channels: list[ChannelInfo]) -> list[ChannelInfo]:
        """The channels with their guild's name filled in (one request for the guild list, if any is missing)."""
        if not any(channel.guild_id and not channel.guild_name for channel in channels):
            return channels
        names = {str(g["id"]): str(g.get("name")) for g in self.guilds()}
        return [replace(c, guild_name=c.guild_name or names.get(c.guild_id or "")) for c in channels]

    def thread_sources(self, channel: ChannelInfo, since: datetime, archived: bool = True) -> list[ChannelInfo]:
        """The channel's threads active since `since`, de-duplicated (a bot's archived ones only with `archived`).

        Bots: https://discord.com/developers/docs/resources/guild#list-active-guild-threads and
        https://discord.com/developers/docs/resources/channel#list-public-archived-threads ; user tokens:
        https://docs.discord.food/resources/channel#search-threads (unofficial user-API docs).

        Each listing stands alone: one the token may not read is reported, the others still count.
        """
        found: dict[str, dict[str, Any]] = {}
        if self.client.is_bot:
            if channel.guild_id:
                self._listing(channel, "active threads", lambda: self._active_threads(channel, found))
            if archived:
                self._listing(channel, "archived threads", lambda: self._archived_threads(channel, since, found))
        else:
            self._listing(channel, "threads", lambda: self._searched_threads(channel, since, found))
        return [
            ChannelInfo(
                tid,
                str(t.get("name") or tid),
                channel.guild_id,
                channel.guild_name,
                _channel_type(t, 11),
                channel.name,
                snowflake(t.get("last_message_id")),
            )
            for tid, t in found.items()
            if thread_last_active(t) >= since
        ]

    def _listing(self, channel: ChannelInfo, what: str, collect: Callable[[], None]) -> None:
        try:
            collect()
        except (AccessError, NotFoundError, PagingError) as problem:
            self.reporter.note(f"cannot list the {what} of {channel.label}: {problem}")

    def _active_threads(self, channel: ChannelInfo, found: dict[str, dict[str, Any]]) -> None:
        for thread in self.client.list_active_threads(channel.guild_id or ""):
            if isinstance(thread, dict) and thread.get("id") and str(thread.get("parent_id")) == channel.id:
                found.setdefault(str(thread["id"]), thread)

    def _archived_threads(self, channel: ChannelInfo, since: datetime, found: dict[str, dict[str, Any]]) -> None:
        for thread in self.client.iter_archived_public_threads(channel.id):
            archived_at = parse_timestamp((thread.get("thread_metadata") or {}).get("archive_timestamp"))
            if archived_at is not None and archived_at < since:
                return  # archived before the window: it and all older ones are quiet since
            found.setdefault(str(thread["id"]), thread)

    def _searched_threads(self, channel: ChannelInfo, since: datetime, found: dict[str, dict[str, Any]]) -> None:
        for thread in self.client.iter_thread_search(channel.id):
            if thread_last_active(thread) < since:
                return  # sorted by last activity: the rest are older still
            found.setdefault(str(thread["id"]), thread)
