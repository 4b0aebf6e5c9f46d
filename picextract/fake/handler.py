"""The fake server's HTTP side: faults, rate limits, the table's answers, the CDN with ranges, and an HTTPS tunnel."""

from __future__ import annotations

import json
import re
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from picextract.fake.data import DiscordData
from picextract.fake.objects import ERRORS, EXPIRED_TEXT, HTML_PAGE
from picextract.fake.state import RequestRecord
from picextract.fake.table import FaultRequest, RawReply, RouteTable

VIA = "1.1 google"  # Discord's API answers pass Google's load balancer; clients read a 429 without it as a Cloudflare ban
# Hosts reached through the HTTPS tunnel (`FakeDiscord.serve_tls_tunnel`) map to the paths they are served under.
HOST_PREFIXES = {"cdn.discordapp.com": "/cdn", "media.discordapp.net": "/media"}
# The faults this handler plays itself (`FakeDiscord.fail_next`); a table may answer more.
FAULTS = frozenset({"ok", "500", "502", "403", "404", "429", "drop", "truncate", "slow", "html"})


def _bucket_of(path: str) -> str:
    """Discord keys limits by route and major parameter (channel or guild id)."""
    parts = path.split("/")
    return f"{'/'.join(parts[:4])}:{path}"


class FakeHTTPServer(ThreadingHTTPServer):
    """The listening socket: it hands each request the data to answer from and the table of answers."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], data: DiscordData, routes: RouteTable) -> None:
        super().__init__(address, Handler)
        self.data = data
        self.routes = routes
        self.tunnel_context: ssl.SSLContext | None = None


class Handler(BaseHTTPRequestHandler):
    """One connection: each request is recorded, then answered by a fault, a 429, the CDN or the server's table."""

    server: FakeHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid the 40 ms delayed-ACK stall

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    @property
    def fake(self) -> DiscordData:
        return self.server.data

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

    def _begin(self, kind_hint: str | None = None) -> tuple[str, str, dict[str, str]]:
        """Record the request; returns (kind, path, query) with the Host's CDN prefix applied."""
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        path = HOST_PREFIXES.get((self.headers.get("Host") or "").split(":")[0], "") + parts.path
        kind = kind_hint or ("api" if path.startswith("/api/") else "cdn")
        self.fake.record(RequestRecord(kind, path, query, time.monotonic(), self.headers.get("Authorization")))
        return kind, path, query

    def _table_fault(self, fault: str, path: str, query: dict[str, str]) -> bool:
        """Play a fault the table answers (the tests' hostile ones); True when the request is done."""
        answer = self.server.routes.fault_answer(fault)
        if answer is None:
            return False
        self._raw(answer(FaultRequest(self.fake, self.server.routes, path, query, self.headers.get("Authorization")), fault))
        return True

    def _early_fault(self, fault: str | None) -> bool:
        """Play the faults that answer before rate limits; True when the request is done."""
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault == "slow":
            time.sleep(self.fake.state.slow_seconds)
        if fault in ("500", "502"):
            self._json(int(fault), {"message": "Internal Server Error", "code": 0})
            return True
        if fault == "html":
            self._send(200, HTML_PAGE, "text/html; charset=utf-8")
            return True
        return False

    def _too_many(self, path: str, limited: tuple[float, bool] | None, headers: dict[str, str], forced: bool) -> None:
        """A 429 as Discord sends it: body, Retry-After, X-RateLimit-Scope and the `Via` of its own proxies."""
        retry_after, is_global = limited or (0.05, False)
        if forced:
            self.fake.block(f"cdn:{path}", retry_after)
        body = {"message": "You are being rate limited.", "retry_after": round(retry_after + 0.0005, 3), "global": is_global}
        extra = {"Retry-After": str(max(1, int(retry_after + 0.999))), "X-RateLimit-Scope": "global" if is_global else "user"}
        if is_global:
            extra["X-RateLimit-Global"] = "true"
        else:
            extra |= headers
        self._json(429, body, extra | {"Via": VIA})

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        kind, path, query = self._begin()
        fake = self.fake
        if fake.state.latency_seconds:
            time.sleep(fake.state.latency_seconds)
        fault = fake.take_fault(path)
        if fault is not None and self._table_fault(fault, path, query):
            return
        if self._early_fault(fault):
            return
        headers, limited = fake.rate_limit(_bucket_of(path) if kind == "api" else f"cdn:{path}", kind == "api")
        if fault == "429" or limited:
            return self._too_many(path, limited, headers, forced=fault == "429")
        if fault in ("403", "404"):
            return self._json(int(fault), ERRORS["missing_access" if fault == "403" else "unknown_channel"], headers)
        if kind == "cdn":
            return self._cdn(path, query, truncate=fault == "truncate")
        status, payload = self.server.routes.answer_get(fake, path, query, self.headers.get("Authorization"))
        encoded = json.dumps(payload).encode()
        self._send(
            status, encoded, "application/json", headers | {"Via": VIA}, cut_at=len(encoded) // 2 if fault == "truncate" else None
        )

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length)
        door = self.server.routes.doors.get(urlsplit(self.path).path)
        if door is not None:  # not Discord's API: a door a test put in its table
            try:
                door_body = json.loads(raw_body or b"null")
            except ValueError:
                door_body = None
            return self._json(*door(self.fake, door_body))
        body = json.loads(raw_body or b"null")
        _, path, _ = self._begin("api")
        headers, limited = self.fake.rate_limit(_bucket_of(path), True)
        if limited:
            return self._too_many(path, limited, headers, forced=False)
        status, payload = self.server.routes.answer_post(self.fake, path, body, self.headers.get("Authorization"))
        self._json(status, payload, headers | {"Via": VIA})

    def do_CONNECT(self) -> None:  # noqa: N802
        """An HTTPS proxy tunnel: clients whose API root cannot be changed reach the server as discord.com."""
        context = self.server.tunnel_context
        if context is None:
            return self._send(405, b"no tunnel", "text/plain")
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.wfile.flush()
        try:
            tunnel = context.wrap_socket(self.connection, server_side=True)
            Handler(tunnel, self.client_address, self.server)  # serves the requests inside the tunnel
        except (ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def _raw(self, reply: RawReply) -> None:
        """Write a fault's answer as it is, chunk by chunk; a client that hangs up ends it."""
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for chunk in reply.chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if reply.chunked else chunk)
                if reply.pause_seconds:
                    self.wfile.flush()
                    time.sleep(reply.pause_seconds)
        except OSError:
            self.close_connection = True
        if reply.close:
            self.close_connection = True

    def _cdn(self, path: str, query: dict[str, str], truncate: bool) -> None:
        stored = self.fake.stored_file(path)
        if stored is None:
            return self._send(404, b"Not Found", "text/plain")
        if "ex" in query and int(query["ex"], 16) < self.fake.now():
            return self._send(404, EXPIRED_TEXT, "text/plain")
        total = len(stored.data)
        byte_range = parse_range(self.headers.get("Range"), total)
        if byte_range is None:
            cut_at = total // 2 if truncate else None
            return self._send(200, stored.data, stored.content_type, {"Accept-Ranges": "bytes"}, cut_at=cut_at)
        first, last = byte_range
        if first > last:
            return self._send(416, b"", stored.content_type, {"Content-Range": f"bytes */{total}"})
        headers = {"Accept-Ranges": "bytes", "Content-Range": f"bytes {first}-{last}/{total}"}
        self._send(206, stored.data[first : last + 1], stored.content_type, headers)


def parse_range(header: str | None, total: int) -> tuple[int, int] | None:
    """A single `bytes=` range as inclusive (first, last); first > last when it cannot be served."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    start, end = match.groups()
    if start == "":
        return max(0, total - int(end)), total - 1
    last = min(int(end), total - 1) if end else total - 1
    return int(start), last if int(start) < total else -1
