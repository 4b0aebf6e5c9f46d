"""The fake Discord without its HTTP side: guilds, channels, messages, hosted files, the clock, faults and rate limits.

It speaks the API as https://discord.com/developers/docs describes it: the routes (`routes.py`) answer
from it, the handler (`handler.py`) plays its faults and rate limits, and `server.FakeDiscord` serves it.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from picextract.fake.limits import Limited, RateLimits
from picextract.fake.state import FakeDiscordState, RequestRecord, StoredFile

CDN_PREFIXES = ("/cdn/", "/media/", "/ext/")


class DiscordData:
    """Everything the server answers from; `base_url` is where its files are served."""

    def __init__(self, base_url: str, **settings: Any) -> None:
        self.base_url = base_url
        self.state = FakeDiscordState(**settings)
        self.lock = threading.RLock()
        self.limits = RateLimits()
        self._ids = 0
        self._sizes: dict[str, tuple[int, int] | None] = {}

    def now(self) -> float:
        """The server's clock (wall time plus an offset tests may move)."""
        return time.time() + self.state.clock_offset_seconds

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def token_kind(self, authorization: str | None) -> str | None:
        """`user` or `bot` for a known token, None otherwise.

        Bots send `Bot <token>` (https://discord.com/developers/docs/reference#authentication), user accounts
        the bare token (https://docs.discord.food/reference#authentication).
        """
        if not authorization:
            return None
        if authorization.startswith("Bot "):
            return "bot" if authorization[4:] in self.state.bot_tokens else None
        return "user" if authorization in self.state.user_tokens else None

    # --- data -----------------------------------------------------------------------------

    def add_guild(self, guild_id: str, name: str) -> None:
        self.state.guilds[guild_id] = {
            "id": guild_id,
            "name": name,
            "icon": None,
            "owner": False,
            "permissions": "0",
            "features": [],
        }

    def add_channel(
        self, channel_id: str, name: str, guild_id: str | None = None, channel_type: int = 0, readable: bool = True
    ) -> None:
        self.state.channels[channel_id] = {
            "id": channel_id,
            "type": channel_type,
            "guild_id": guild_id,
            "name": name,
            "position": len(self.state.channels),
            "parent_id": None,
            "nsfw": False,
        }
        if not readable:
            self.state.forbidden_channels.add(channel_id)

    def add_thread(
        self,
        thread_id: str,
        name: str,
        parent_id: str,
        *,
        archived: bool = False,
        archive_timestamp: str | None = None,
        thread_type: int = 11,
        readable: bool = True,
    ) -> dict[str, Any]:
        """A thread under `parent_id`; its messages are added like a channel's."""
        parent = self.state.channels[parent_id]
        self.add_channel(thread_id, name, parent.get("guild_id"), channel_type=thread_type, readable=readable)
        thread = self.state.channels[thread_id]
        thread.update(
            parent_id=parent_id,
            last_message_id=thread_id,
            thread_metadata={
                "archived": archived,
                "archive_timestamp": archive_timestamp or "2026-01-01T00:00:00+00:00",
                "locked": False,
                "auto_archive_duration": 1440,
            },
        )
        return thread

    def add_message(self, message: dict[str, Any]) -> None:
        channel_messages = self.state.messages[message["channel_id"]]
        channel_messages.append(message)
        if len(channel_messages) > 1 and int(channel_messages[-2]["id"]) > int(message["id"]):
            channel_messages.sort(key=lambda item: int(item["id"]))  # only when out of order: a year of messages adds in O(n)
        channel = self.state.channels.get(message["channel_id"])
        if channel is not None and "thread_metadata" in channel:
            channel["last_message_id"] = channel_messages[-1]["id"]

    # --- files ----------------------------------------------------------------------------

    def add_file(self, path: str, data: bytes, content_type: str, *, expires_at: float | None = None, signed: bool = True) -> str:
        """Serve `data` at /cdn/<path>; returns its URL (signed like Discord's when `signed`)."""
        self.state.files[path] = StoredFile(data, content_type, expires_at)
        if signed:
            return self.sign(path, expires_at if expires_at is not None else self.now() + 86400)
        return f"{self.base_url}/cdn/{quote(path)}"

    def sign(self, path: str, expires_at: float) -> str:
        """The signed CDN URL of a stored file, valid until `expires_at` (server clock)."""
        ex, is_ = int(expires_at), int(self.now())
        hm = hashlib.sha256(f"{path}{ex}{is_}".encode()).hexdigest()
        return f"{self.base_url}/cdn/{quote(path)}?ex={ex:x}&is={is_:x}&hm={hm}&"

    def media_url(self, cdn_url: str) -> str:
        """The `proxy_url` twin of a CDN URL (served from the same files)."""
        return cdn_url.replace("/cdn/", "/media/", 1)

    def stored_file(self, path: str) -> StoredFile | None:
        """The file served at a CDN, media-proxy or external path (`/cdn/...`, `/media/...`, `/ext/...`)."""
        for prefix in CDN_PREFIXES:
            if path.startswith(prefix):
                return self.state.files.get(unquote(path[len(prefix) :]))
        return None

    def picture_size(self, url: str) -> tuple[int, int] | None:
        """(width, height) of the picture a URL serves, None when it is not a picture this server hosts."""
        path = urlsplit(url).path
        if path not in self._sizes:
            stored = self.stored_file(path)
            size = None
            if stored is not None and stored.content_type.startswith("image/"):
                try:
                    with Image.open(io.BytesIO(stored.data)) as image:
                        size = image.size
                except (UnidentifiedImageError, OSError):
                    size = None
            self._sizes[path] = size
        return self._sizes[path]

    # --- requests, faults and rate limits --------------------------------------------------

    def record(self, request: RequestRecord) -> None:
        with self.lock:
            self.state.requests.append(request)

    def api_requests(self, path_part: str = "") -> list[RequestRecord]:
        return [r for r in self.state.requests if r.kind == "api" and path_part in r.path]

    def cdn_requests(self) -> list[RequestRecord]:
        return [r for r in self.state.requests if r.kind == "cdn"]

    def force_429(self, count: int, retry_after: float = 0.05, is_global: bool = False) -> None:
        """The next `count` API requests are answered 429."""
        with self.lock:
            self.state.forced_429.extend([(retry_after, is_global)] * count)

    def take_fault(self, path: str) -> str | None:
        """The next fault queued for a path part that `path` contains (`FakeDiscord.fail_next` queues them)."""
        with self.lock:
            for part, queue in self.state.faults.items():
                if part in path and queue:
                    return queue.popleft()
        return None

    def rate_limit(self, bucket: str, is_api: bool) -> tuple[dict[str, str], Limited | None]:
        """Account one request on `bucket`; returns headers and, when limited, (retry_after, global)."""
        with self.lock:
            return self.limits.account(self.state, bucket, is_api, time.monotonic(), self.now())

    def block(self, bucket: str, seconds: float) -> None:
        """Block one bucket for `seconds` from now (a forced 429 on the CDN)."""
        with self.lock:
            self.limits.block(bucket, time.monotonic() + seconds)
