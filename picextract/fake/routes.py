"""The fake server's API routes: what Discord answers for each path we call."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from picextract.fake.server import ERRORS, invalid_form_body

if TYPE_CHECKING:
    from picextract.fake.server import FakeDiscord

Reply = tuple[int, Any]
_SNOWFLAKE = re.compile(r"^\d{1,20}$")


def _authorized(fake: FakeDiscord, authorization: str | None) -> str | None:
    """`user` or `bot` for a known token, None otherwise (discord-api.md §1)."""
    if not authorization:
        return None
    if authorization.startswith("Bot "):
        return "bot" if authorization[4:] in fake.state.bot_tokens else None
    return "user" if authorization in fake.state.user_tokens else None


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


def _channel(fake: FakeDiscord, channel_id: str) -> dict[str, Any] | Reply:
    if not _SNOWFLAKE.match(channel_id):
        return 400, invalid_form_body("channel_id", channel_id)
    channel = fake.state.channels.get(channel_id)
    if channel is None:
        return 404, ERRORS["unknown_channel"]
    if channel_id in fake.state.forbidden_channels:
        return 403, ERRORS["missing_access"]
    return channel


def page_messages(messages: list[dict[str, Any]], query: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Discord's paging: only one of around/before/after; the page is always newest first."""
    ids = [int(m["id"]) for m in messages]  # ascending
    if "after" in query:
        after = int(query["after"])
        chosen = [m for m, i in zip(messages, ids) if i > after][:limit]
    elif "around" in query:
        around = int(query["around"])
        older = [m for m, i in zip(messages, ids) if i < around]
        newer_or_equal = [m for m, i in zip(messages, ids) if i >= around]
        half = limit // 2
        chosen = older[-half:] if half else []
        chosen = chosen + newer_or_equal[: limit - len(chosen)]
    elif "before" in query:
        before = int(query["before"])
        chosen = [m for m, i in zip(messages, ids) if i < before][-limit:]
    else:
        chosen = messages[-limit:]
    return list(reversed(chosen))


def route_api(fake: FakeDiscord, path: str, query: dict[str, str], authorization: str | None) -> Reply:
    """Answer one GET on the API."""
    token_kind = _authorized(fake, authorization)
    if token_kind is None:
        return 401, ERRORS[401]
    parts = path.strip("/").split("/")
    if parts == ["users", "@me"]:
        return 200, {"id": "80351110224678912", "username": "picfan", "discriminator": "0", "bot": token_kind == "bot"}
    if parts == ["users", "@me", "guilds"]:
        limit = _limit(query, 200, 200)
        if isinstance(limit, tuple):
            return limit
        after = int(query.get("after", "0"))
        guilds = sorted(fake.state.guilds.values(), key=lambda g: int(g["id"]))
        return 200, [g for g in guilds if int(g["id"]) > after][:limit]
    if len(parts) == 3 and parts[0] == "guilds" and parts[2] == "channels":
        if not _SNOWFLAKE.match(parts[1]):
            return 400, invalid_form_body("guild_id", parts[1])
        if parts[1] not in fake.state.guilds:
            return 404, ERRORS["unknown_guild"]
        return 200, [c for c in fake.state.channels.values() if c.get("guild_id") == parts[1]]
    if len(parts) == 2 and parts[0] == "channels":
        found = _channel(fake, parts[1])
        return found if isinstance(found, tuple) else (200, found)
    if parts[:1] == ["channels"] and parts[2:] == ["threads", "search"]:
        return _thread_search(fake, parts[1], query)
    if parts[:1] == ["channels"] and parts[2:] == ["threads", "archived", "public"]:
        found = _channel(fake, parts[1])
        if isinstance(found, tuple):
            return found
        return _archived_threads(fake, parts[1], query)
    if len(parts) == 4 and parts[0] == "guilds" and parts[2:] == ["threads", "active"]:
        if token_kind != "bot":
            return 403, {"message": "Only bots can use this endpoint", "code": 20002}
        threads = [
            c
            for c in fake.state.channels.values()
            if c.get("guild_id") == parts[1] and "thread_metadata" in c and not c["thread_metadata"]["archived"]
        ]
        return 200, {"threads": threads, "members": []}
    if len(parts) == 3 and parts[0] == "channels" and parts[2] == "messages":
        found = _channel(fake, parts[1])
        if isinstance(found, tuple):
            return found
        limit = _limit(query, 50, 100)
        if isinstance(limit, tuple):
            return limit
        cursors = [key for key in ("around", "before", "after") if key in query]
        for key in cursors:
            if not _SNOWFLAKE.match(query[key]):
                return 400, invalid_form_body(key, query[key])
        page = page_messages(fake.state.messages.get(parts[1], []), query, limit)
        if token_kind == "bot" and not fake.state.bot_message_content_intent:
            # Without the MESSAGE_CONTENT intent bots get these fields empty (discord-api.md §1).
            page = [{**m, "content": "", "attachments": [], "embeds": [], "components": []} for m in page]
        return 200, page
    return 404, {"message": "404: Not Found", "code": 0}


def _threads_of(fake: FakeDiscord, parent_id: str) -> list[dict[str, Any]]:
    return [c for c in fake.state.channels.values() if c.get("parent_id") == parent_id and "thread_metadata" in c]


def _thread_search(fake: FakeDiscord, parent_id: str, query: dict[str, str]) -> Reply:
    """`GET /channels/{id}/threads/search` as UDOC describes it: offset paging, `has_more`, 202."""
    found = _channel(fake, parent_id)
    if isinstance(found, tuple):
        return found
    if fake.state.search_not_ready_answers > 0:
        fake.state.search_not_ready_answers -= 1
        return 202, {
            "message": "Index not yet available. Try again later",
            "code": 110000,
            "documents_indexed": 0,
            "retry_after": 0.05,
        }
    limit = _limit(query, 25, 25)
    if isinstance(limit, tuple):
        return limit
    offset = int(query.get("offset", "0"))
    threads = sorted(_threads_of(fake, parent_id), key=lambda t: int(t["last_message_id"]), reverse=True)
    chunk = threads[offset : offset + limit]
    return 200, {"threads": chunk, "members": [], "has_more": offset + limit < len(threads), "total_results": len(threads)}


def _archived_threads(fake: FakeDiscord, parent_id: str, query: dict[str, str]) -> Reply:
    """`GET /channels/{id}/threads/archived/public`: newest archive first, `before` an ISO time."""
    from datetime import datetime

    limit = _limit(query, 50, 100)
    if isinstance(limit, tuple):
        return limit
    archived = [t for t in _threads_of(fake, parent_id) if t["thread_metadata"]["archived"]]
    archived.sort(key=lambda t: t["thread_metadata"]["archive_timestamp"], reverse=True)
    if "before" in query:
        before = datetime.fromisoformat(query["before"])
        archived = [t for t in archived if datetime.fromisoformat(t["thread_metadata"]["archive_timestamp"]) < before]
    return 200, {"threads": archived[:limit], "members": [], "has_more": len(archived) > limit}


def route_post(fake: FakeDiscord, path: str, body: Any, authorization: str | None) -> Reply:
    """Answer one POST: only `/attachments/refresh-urls` (UDOC topics/cloud-uploads)."""
    if _authorized(fake, authorization) is None:
        return 401, ERRORS[401]
    if path.strip("/") != "attachments/refresh-urls":
        return 404, {"message": "404: Not Found", "code": 0}
    refreshed = []
    for url in (body or {}).get("attachment_urls", [])[:50]:
        stored_path = unquote(urlsplit(url).path.split("/cdn/", 1)[-1])
        if stored_path in fake.state.files:
            refreshed.append({"original": url, "refreshed": fake.sign(stored_path, fake.now() + 86400)})
    return 200, {"refreshed_urls": refreshed}
