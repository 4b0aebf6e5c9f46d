"""A fake Discord server on 127.0.0.1: the API, the CDN, rate limits and scriptable faults.

It speaks the API as `../shared/discord-api.md` describes it: newest-first pages for
`before`/`after`/`around`, real-shaped error bodies, X-RateLimit-* headers and 429s. It counts
requests that ignore a rate limit (`violations`), so tests can assert there are none.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

ERRORS = {  # real bodies, discord-api.md §1
    401: {"message": "401: Unauthorized", "code": 0},
    "missing_access": {"message": "Missing Access", "code": 50001},
    "unknown_channel": {"message": "Unknown Channel", "code": 10003},
    "unknown_guild": {"message": "Unknown Guild", "code": 10004},
}
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>blocked</body></html>"
EXPIRED_TEXT = b"This content is no longer available."


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


class FakeDiscord:
    """Start with `with FakeDiscord() as server:`; `server.api_base` goes in DISCORD_API_BASE."""

    def __init__(self, **settings: Any) -> None:
        self.state = FakeDiscordState(**settings)
        self.lock = threading.RLock()
        self._windows: dict[str, _Window] = defaultdict(_Window)
        self._global_blocked_until = 0.0
        self._ids = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
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
        channel_messages.sort(key=lambda item: int(item["id"]))
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

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    # --- faults ---------------------------------------------------------------------------

    def fail_next(self, path_part: str, *faults: str) -> None:
        """The next requests whose path contains `path_part` get these faults, in order.

        Faults: 500, 502, 404, 403, 429, drop (connection closed before a reply), truncate (body
        cut short), slow (reply after `slow_seconds`), html (an HTML page with status 200).
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
                return {}, (wait, now < self._global_blocked_until)
            if self.state.forced_429 and is_api:
                retry_after, is_global = self.state.forced_429.popleft()
                if is_global:
                    self._global_blocked_until = now + retry_after
                else:
                    window.blocked_until = now + retry_after
                return {}, (retry_after, is_global)
            if not is_api:
                return {}, None
            if now >= window.started + self.state.bucket_window_seconds:
                window.started, window.used = now, 0
            if window.used >= self.state.bucket_limit:
                self.state.violations += 1
                return {}, (window.started + self.state.bucket_window_seconds - now, False)
            window.used += 1
            reset_after = window.started + self.state.bucket_window_seconds - now
            remaining = self.state.bucket_limit - window.used
            if remaining == 0:
                window.blocked_until = window.started + self.state.bucket_window_seconds
            return {
                "X-RateLimit-Limit": str(self.state.bucket_limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset-After": f"{reset_after + 0.0005:.3f}",
                "X-RateLimit-Bucket": hashlib.md5(bucket.split(":")[0].encode()).hexdigest()[:12],
            }, None


def _bucket_of(path: str) -> str:
    """Discord keys limits by route and major parameter (channel or guild id)."""
    parts = path.split("/")
    return f"{'/'.join(parts[:4])}:{path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid the 40 ms delayed-ACK stall

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    @property
    def fake(self) -> FakeDiscord:
        return self.server.fake  # type: ignore[attr-defined]

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None, cut_at: int | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if cut_at is not None:
            self.wfile.write(body[:cut_at])
            self.wfile.flush()
            self.close_connection = True
            return
        rate = self.fake.state.bytes_per_second
        if rate:
            # Pace by schedule, not per chunk, so sleep overhead does not pile up.
            chunk = 16 * 1024
            started = time.perf_counter()
            for offset in range(0, len(body), chunk):
                self.wfile.write(body[offset : offset + chunk])
                ahead = started + (offset + chunk) / rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
        else:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        kind = "api" if parts.path.startswith("/api/") else "cdn"
        fake = self.fake
        with fake.lock:
            fake.state.requests.append(
                RequestRecord(kind, parts.path, query, time.monotonic(), self.headers.get("Authorization"))
            )
        if fake.state.latency_seconds:
            time.sleep(fake.state.latency_seconds)
        fault = fake.take_fault(parts.path)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "slow":
            time.sleep(fake.state.slow_seconds)
        if fault in ("500", "502"):
            return self._json(int(fault), {"message": "Internal Server Error", "code": 0})
        if fault == "html":
            return self._send(200, HTML_PAGE, "text/html; charset=utf-8")
        headers, limited = fake.rate_limit(_bucket_of(parts.path) if kind == "api" else f"cdn:{parts.path}", kind == "api")
        if fault == "429" or limited:
            retry_after, is_global = limited or (0.05, False)
            if fault == "429":
                with fake.lock:
                    fake._windows[f"cdn:{parts.path}"].blocked_until = time.monotonic() + retry_after
            body = {"message": "You are being rate limited.", "retry_after": round(retry_after + 0.0005, 3), "global": is_global}
            extra = {"Retry-After": str(max(1, int(retry_after + 0.999))), "X-RateLimit-Scope": "global" if is_global else "user"}
            if is_global:
                extra["X-RateLimit-Global"] = "true"
            return self._json(429, body, extra)
        if fault in ("403", "404"):
            return self._json(int(fault), ERRORS["missing_access" if fault == "403" else "unknown_channel"], headers)
        if kind == "cdn":
            return self._cdn(parts.path, query, truncate=fault == "truncate")
        from picextract.fake.routes import route_api

        status, payload = route_api(fake, parts.path.removeprefix("/api/v10"), query, self.headers.get("Authorization"))
        if fault == "truncate":
            encoded = json.dumps(payload).encode()
            return self._send(status, encoded, "application/json", headers, cut_at=len(encoded) // 2)
        self._json(status, payload, headers)

    def do_POST(self) -> None:  # noqa: N802
        if self.path.startswith("/control/"):  # tests' control side, not Discord's API (picextract/fake/control.py)
            from picextract.fake.control import answer_control

            return answer_control(self, self.fake)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        parts = urlsplit(self.path)
        fake = self.fake
        with fake.lock:
            fake.state.requests.append(RequestRecord("api", parts.path, {}, time.monotonic(), self.headers.get("Authorization")))
        headers, limited = fake.rate_limit(_bucket_of(parts.path), True)
        if limited:
            return self._json(
                429,
                {"message": "You are being rate limited.", "retry_after": round(limited[0] + 0.0005, 3), "global": limited[1]},
            )
        from picextract.fake.routes import route_post

        status, payload = route_post(fake, parts.path.removeprefix("/api/v10"), body, self.headers.get("Authorization"))
        self._json(status, payload, headers)

    def _cdn(self, path: str, query: dict[str, str], truncate: bool) -> None:
        for prefix in ("/cdn/", "/media/", "/ext/"):
            if path.startswith(prefix):
                from urllib.parse import unquote

                stored = self.fake.state.files.get(unquote(path[len(prefix) :]))
                break
        else:
            stored = None
        if stored is None:
            return self._send(404, b"Not Found", "text/plain")
        if "ex" in query and int(query["ex"], 16) < self.fake.now():
            return self._send(404, EXPIRED_TEXT, "text/plain")
        self._send(200, stored.data, stored.content_type, cut_at=len(stored.data) // 2 if truncate else None)
