"""A fake Discord server on 127.0.0.1: the API, the CDN, rate limits and scriptable faults.

It speaks the API as https://discord.com/developers/docs describes it: newest-first pages for
`before`/`after`/`around`, real-shaped error bodies, X-RateLimit-* headers and 429s. It counts
requests that ignore a rate limit (`violations`), so tests can assert there are none.
"""

from __future__ import annotations

import hashlib
import io
import ssl
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

ERRORS = {  # bodies seen from Discord, https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
    401: {"message": "401: Unauthorized", "code": 0},
    "missing_access": {"message": "Missing Access", "code": 50001},
    "unknown_channel": {"message": "Unknown Channel", "code": 10003},
    "unknown_guild": {"message": "Unknown Guild", "code": 10004},
}
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>blocked</body></html>"
EXPIRED_TEXT = b"This content is no longer available."
CDN_PREFIXES = ("/cdn/", "/media/", "/ext/")


def invalid_form_body(field_name: str, value: str) -> dict[str, Any]:
    """The 400 / 50035 body Discord sends for a value that is not a snowflake."""
    return {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {field_name: {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": f'Value "{value}" is not snowflake.'}]}},
    }


@dataclass
class RequestRecord:
    """One request the server saw."""

    kind: str  # api or cdn
    path: str
    query: dict[str, str]
    at: float
    authorization: str | None


@dataclass
class StoredFile:
    data: bytes
    content_type: str
    expires_at: float | None = None


@dataclass
class _Window:
    started: float = 0.0
    used: int = 0
    blocked_until: float = 0.0


@dataclass
class FakeDiscordState:
    """Everything the fake server knows; tests fill it and read it."""

    user_tokens: set[str] = field(default_factory=set)
    bot_tokens: set[str] = field(default_factory=set)
    guilds: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    forbidden_channels: set[str] = field(default_factory=set)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    files: dict[str, StoredFile] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    violations: int = 0
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    forced_429: deque[tuple[float, bool]] = field(default_factory=deque)
    bucket_limit: int = 50
    bucket_window_seconds: float = 1.0
    latency_seconds: float = 0.0
    bytes_per_second: float | None = None
    slow_seconds: float = 2.0
    clock_offset_seconds: float = 0.0
    bot_message_content_intent: bool = True
    search_not_ready_answers: int = 0  # threads/search answers 202 "index not ready" this often first
    search_retry_after_seconds: int = 0  # the 202's `retry_after`: whole seconds (the docs' example says 2)


class FakeDiscord:
    """Start with `with FakeDiscord() as server:`; `server.api_base` goes in DISCORD_API_BASE."""

    def __init__(self, port: int = 0, **settings: Any) -> None:
        self.state = FakeDiscordState(**settings)
        self.lock = threading.RLock()
        self._windows: dict[str, _Window] = defaultdict(_Window)
        self._global_blocked_until = 0.0
        self._ids = 0
        self._sizes: dict[str, tuple[int, int] | None] = {}
        self.tunnel_context: ssl.SSLContext | None = None
        from picextract.fake.handler import Handler

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeDiscord:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    def now(self) -> float:
        """The server's clock (wall time plus an offset tests may move)."""
        return time.time() + self.state.clock_offset_seconds

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
                from PIL import Image, UnidentifiedImageError

                try:
                    with Image.open(io.BytesIO(stored.data)) as image:
                        size = image.size
                except (UnidentifiedImageError, OSError):
                    size = None
            self._sizes[path] = size
        return self._sizes[path]

    def serve_tls_tunnel(self, certfile: str, keyfile: str) -> None:
        """Accept HTTPS-proxy CONNECTs and answer inside them with this certificate (for clients fixed on discord.com)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.tunnel_context = context

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    # --- faults ---------------------------------------------------------------------------

    def fail_next(self, path_part: str, *faults: str) -> None:
        """The next requests whose path contains `path_part` get these faults, in order.

        Faults: 500, 502, 404, 403, 429, drop (connection closed before a reply), truncate (body
        cut short), slow (reply after `slow_seconds`), html (an HTML page with status 200), and
        the hostile ones of `picextract.fake.hostile`.
        """
        with self.lock:
            self.state.faults[path_part].extend(faults)

    def force_429(self, count: int, retry_after: float = 0.05, is_global: bool = False) -> None:
        """The next `count` API requests are answered 429."""
        with self.lock:
            self.state.forced_429.extend([(retry_after, is_global)] * count)

    def take_fault(self, path: str) -> str | None:
        with self.lock:
            for part, queue in self.state.faults.items():
                if part in path and queue:
                    return queue.popleft()
        return None

    def api_requests(self, path_part: str = "") -> list[RequestRecord]:
        return [r for r in self.state.requests if r.kind == "api" and path_part in r.path]

    def cdn_requests(self) -> list[RequestRecord]:
        return [r for r in self.state.requests if r.kind == "cdn"]

    # --- rate limits ----------------------------------------------------------------------

    def rate_limit(self, bucket: str, is_api: bool) -> tuple[dict[str, str], tuple[float, bool] | None]:
        """Account one request on `bucket`; returns headers and, when limited, (retry_after, global)."""
        now = time.monotonic()
        with self.lock:
            window = self._windows[bucket]
            # Within 1 ms of the end counts as on time: the client's clock starts after ours.
            if now < self._global_blocked_until - 0.001 or now < window.blocked_until - 0.001:
                self.state.violations += 1
                wait = max(self._global_blocked_until, window.blocked_until) - now
                return self._bucket_headers(bucket, window, now), (wait, now < self._global_blocked_until)
            if self.state.forced_429 and is_api:
                retry_after, is_global = self.state.forced_429.popleft()
                if is_global:
                    self._global_blocked_until = now + retry_after
                else:
                    window.blocked_until = now + retry_after
                return self._bucket_headers(bucket, window, now), (retry_after, is_global)
            if not is_api:
                return {}, None
            if now >= window.started + self.state.bucket_window_seconds:
                window.started, window.used = now, 0
            bucket_headers = self._bucket_headers(bucket, window, now)
            if window.used >= self.state.bucket_limit:
                self.state.violations += 1
                return bucket_headers, (window.started + self.state.bucket_window_seconds - now, False)
            window.used += 1
            if window.used == self.state.bucket_limit:
                window.blocked_until = window.started + self.state.bucket_window_seconds
            return self._bucket_headers(bucket, window, now), None

    def _bucket_headers(self, bucket: str, window: _Window, now: float) -> dict[str, str]:
        """X-RateLimit-* as Discord sends them (https://discord.com/developers/docs/topics/rate-limits#header-format)."""
        reset_after = window.started + self.state.bucket_window_seconds - now
        return {
            "X-RateLimit-Limit": str(self.state.bucket_limit),
            "X-RateLimit-Remaining": str(max(0, self.state.bucket_limit - window.used)),
            "X-RateLimit-Reset": f"{self.now() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after + 0.0005:.3f}",
            "X-RateLimit-Bucket": hashlib.md5(bucket.split(":")[0].encode()).hexdigest()[:12],
        }
