"""Discord's API as the fake server answers it: one answer per route, put into a `RouteTable` by `discord_routes()`."""

from __future__ import annotations

import bisect
import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from picextract.fake import objects
from picextract.fake.data import DiscordData
from picextract.fake.objects import ERRORS, invalid_form_body
from picextract.fake.table import ApiRequest, Reply, RouteTable

_SNOWFLAKE = re.compile(r"^\d{1,20}$")
ONLY_BOTS: Reply = (403, {"message": "Only bots can use this endpoint", "code": 20002})
UNKNOWN_MESSAGE: Reply = (404, {"message": "Unknown Message", "code": 10008})


def _limit(query: dict[str, str], default: int, maximum: int) -> int | Reply:
    raw = query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        return 400, {
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {
                "limit": {
                    "_errors": [{"code": "NUMBER_TYPE_MAX", "message": f"int value should be less than or equal to {maximum}."}]
                }
            },
        }
    return int(raw)


def _channel(fake: DiscordData, channel_id: str) -> dict[str, Any] | Reply:
    if not _SNOWFLAKE.match(channel_id):
        return 400, invalid_form_body("channel_id", channel_id)
    channel = fake.state.channels.get(channel_id)
    if channel is None:
        return 404, ERRORS["unknown_channel"]
    if channel_id in fake.state.forbidden_channels:
        return 403, ERRORS["missing_access"]
    return channel


def _guild(fake: DiscordData, guild_id: str) -> dict[str, Any] | Reply:
    if not _SNOWFLAKE.match(guild_id):
        return 400, invalid_form_body("guild_id", guild_id)
    guild = fake.state.guilds.get(guild_id)
    return guild if guild is not None else (404, ERRORS["unknown_guild"])


def page_messages(messages: list[dict[str, Any]], query: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Discord's paging: only one of around/before/after; the page is always newest first.

    `messages` is in ascending id order (`DiscordData.add_message` keeps it so): a page is found by
    bisection, so paging a channel of 100,000 messages costs the server what paging 100 does.
    """
    if "after" in query:
        start = bisect.bisect_right(messages, int(query["after"]), key=_message_id)
        chosen = messages[start : start + limit]
    elif "around" in query:
        middle = bisect.bisect_left(messages, int(query["around"]), key=_message_id)
        start = max(0, middle - limit // 2)
        chosen = messages[start : start + limit]
    elif "before" in query:
        end = bisect.bisect_left(messages, int(query["before"]), key=_message_id)
        chosen = messages[max(0, end - limit) : end]
    else:
        chosen = messages[-limit:]
    return list(reversed(chosen))


def _message_id(message: dict[str, Any]) -> int:
    return int(message["id"])


def served_message(fake: DiscordData, message: dict[str, Any], token_kind: str) -> dict[str, Any]:
    """A stored message as the API sends it to this kind of token."""
    channel = fake.state.channels.get(str(message.get("channel_id")), {})
    try:
        full = objects.complete_message(message, channel.get("guild_id"), fake.picture_size)
    except (KeyError, TypeError, AttributeError, ValueError):
        return message  # a deliberately malformed message (the hostile-data tests) is served as it was stored
    if token_kind == "bot" and not fake.state.bot_message_content_intent:
        return objects.without_content(full)
    return full


def served_channel(fake: DiscordData, channel: dict[str, Any]) -> dict[str, Any]:
    """A stored channel or thread as the API sends it, `last_message_id` its newest message."""
    messages = fake.state.messages.get(channel["id"])
    found = {"last_message_id": messages[-1]["id"]} if messages else {}
    if "thread_metadata" in channel:
        count = len(messages or [])
        found |= {"message_count": count, "total_message_sent": count}
    return objects.complete_channel(found | channel)


# --- handlers -------------------------------------------------------------------------------


def _me(fake: DiscordData, request: ApiRequest) -> Reply:
    return 200, objects.me_user(request.token_kind == "bot")


def _application(fake: DiscordData, request: ApiRequest) -> Reply:
    """Bots only: a user token gets 401 here.

    https://discord.com/developers/docs/resources/application#get-current-application
    """
    return (200, objects.application()) if request.token_kind == "bot" else (401, ERRORS[401])


def _my_guilds(fake: DiscordData, request: ApiRequest) -> Reply:
    """`before`/`after`/`limit` (1-200, default 200), ascending ids.

    https://discord.com/developers/docs/resources/user#get-current-user-guilds
    """
    limit = _limit(request.query, 200, 200)
    if isinstance(limit, tuple):
        return limit
    guilds = sorted(fake.state.guilds.values(), key=lambda g: int(g["id"]))
    if "after" in request.query:
        guilds = [g for g in guilds if int(g["id"]) > int(request.query["after"])][:limit]
    elif "before" in request.query:
        guilds = [g for g in guilds if int(g["id"]) < int(request.query["before"])][-limit:]
    return 200, [objects.partial_guild(g) for g in guilds[:limit]]


def _guild_info(fake: DiscordData, request: ApiRequest) -> Reply:
    found = _guild(fake, request.ids[0])
    return found if isinstance(found, tuple) else (200, objects.full_guild(found))


def _guild_channels(fake: DiscordData, request: ApiRequest) -> Reply:
    """Every channel of the guild, readable or not, and never its threads.

    https://discord.com/developers/docs/resources/guild#get-guild-channels
    """
    found = _guild(fake, request.ids[0])
    if isinstance(found, tuple):
        return found
    channels = [c for c in fake.state.channels.values() if c.get("guild_id") == found["id"] and "thread_metadata" not in c]
    return 200, [served_channel(fake, c) for c in channels]


def _active_threads(fake: DiscordData, request: ApiRequest) -> Reply:
    if request.token_kind != "bot":
        return ONLY_BOTS
    found = _guild(fake, request.ids[0])
    if isinstance(found, tuple):
        return found
    threads = [
        served_channel(fake, c)
        for c in fake.state.channels.values()
        if c.get("guild_id") == found["id"] and "thread_metadata" in c and not c["thread_metadata"]["archived"]
    ]
    return 200, {"threads": threads, "members": [], "has_more": False}


def _channel_info(fake: DiscordData, request: ApiRequest) -> Reply:
    found = _channel(fake, request.ids[0])
    return found if isinstance(found, tuple) else (200, served_channel(fake, found))


def _messages(fake: DiscordData, request: ApiRequest) -> Reply:
    found = _channel(fake, request.ids[0])
    if isinstance(found, tuple):
        return found
    limit = _limit(request.query, 50, 100)
    if isinstance(limit, tuple):
        return limit
    for key in ("around", "before", "after"):
        if key in request.query and not _SNOWFLAKE.match(request.query[key]):
            return 400, invalid_form_body(key, request.query[key])
    page = page_messages(fake.state.messages.get(found["id"], []), request.query, limit)
    return 200, [served_message(fake, m, request.token_kind) for m in page]


def _one_message(fake: DiscordData, request: ApiRequest) -> Reply:
    """Bots only: user accounts use `around` (https://docs.discord.food/resources/message#get-message)."""
    found = _channel(fake, request.ids[0])
    if isinstance(found, tuple):
        return found
    if request.token_kind != "bot":
        return ONLY_BOTS
    for message in fake.state.messages.get(found["id"], []):
        if message["id"] == request.ids[1]:
            return 200, served_message(fake, message, request.token_kind)
    return UNKNOWN_MESSAGE


def _threads_of(fake: DiscordData, parent_id: str) -> list[dict[str, Any]]:
    return [c for c in fake.state.channels.values() if c.get("parent_id") == parent_id and "thread_metadata" in c]


def _thread_search(fake: DiscordData, request: ApiRequest) -> Reply:
    """`GET /channels/{id}/threads/search`: offset paging, `has_more`, 202 while indexing.

    https://docs.discord.food/resources/channel#search-threads (unofficial user-API docs)
    """
    found = _channel(fake, request.ids[0])
    if isinstance(found, tuple):
        return found
    if fake.state.search_not_ready_answers > 0:
        fake.state.search_not_ready_answers -= 1
        return 202, {
            "message": "Index not yet available. Try again later",
            "code": 110000,
            "documents_indexed": 0,
            "retry_after": fake.state.search_retry_after_seconds,
        }
    limit = _limit(request.query, 25, 25)
    if isinstance(limit, tuple):
        return limit
    offset = int(request.query.get("offset", "0"))
    threads = sorted(_threads_of(fake, found["id"]), key=lambda t: int(t["last_message_id"]), reverse=True)
    if request.query.get("archived") in ("true", "false"):
        threads = [t for t in threads if t["thread_metadata"]["archived"] == (request.query["archived"] == "true")]
    chunk = [served_channel(fake, t) for t in threads[offset : offset + limit]]
    return 200, {"threads": chunk, "members": [], "has_more": offset + limit < len(threads), "total_results": len(threads)}


def _archived_threads(fake: DiscordData, request: ApiRequest) -> Reply:
    """`GET /channels/{id}/threads/archived/public`: newest archive first, `before` an ISO time."""
    found = _channel(fake, request.ids[0])
    if isinstance(found, tuple):
        return found
    limit = _limit(request.query, 50, 100)
    if isinstance(limit, tuple):
        return limit
    archived = [t for t in _threads_of(fake, found["id"]) if t["thread_metadata"]["archived"]]
    archived.sort(key=lambda t: t["thread_metadata"]["archive_timestamp"], reverse=True)
    if "before" in request.query:
        before = datetime.fromisoformat(request.query["before"])
        archived = [t for t in archived if datetime.fromisoformat(t["thread_metadata"]["archive_timestamp"]) < before]
    threads = [served_channel(fake, t) for t in archived[:limit]]
    return 200, {"threads": threads, "members": [], "has_more": len(archived) > limit}


def _refresh_urls(fake: DiscordData, body: Any) -> Reply:
    """`POST /attachments/refresh-urls`: fresh signatures for up to 50 attachment URLs.

    https://docs.discord.food/topics/cloud-uploads#refresh-attachment-urls
    """
    refreshed = []
    for url in (body or {}).get("attachment_urls", [])[:50]:
        stored_path = unquote(urlsplit(url).path.split("/cdn/", 1)[-1])
        # A URL Discord does not host comes back unchanged, as the real endpoint answers it.
        fresh = fake.sign(stored_path, fake.now() + 86400) if stored_path in fake.state.files else url
        refreshed.append({"original": url, "refreshed": fresh})
    return 200, {"refreshed_urls": refreshed}


def discord_routes() -> RouteTable:
    """A table with every route the fake Discord answers."""
    table = RouteTable()
    for pattern, answer in [
        ("users/@me", _me),
        ("(?:oauth2/)?applications/@me", _application),
        ("users/@me/guilds", _my_guilds),
        ("guilds/{id}", _guild_info),
        ("guilds/{id}/channels", _guild_channels),
        ("guilds/{id}/threads/active", _active_threads),
        ("channels/{id}", _channel_info),
        ("channels/{id}/messages", _messages),
        ("channels/{id}/messages/{id}", _one_message),
        ("channels/{id}/threads/archived/public", _archived_threads),
        ("channels/{id}/threads/search", _thread_search),
    ]:
        table.add_get(pattern, answer)
    table.add_post("attachments/refresh-urls", _refresh_urls)
    return table
