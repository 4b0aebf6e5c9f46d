"""Hostile answers for the fake server: endless, dripping, compressed, oversized and looping bodies.

Each is a fault name for `FakeDiscord.fail_next`:

- `endless`: a picture's first bytes, then zeros forever (chunked, no length).
- `drip`: the stored file at about 3 KB/s.
- `oversize`: the stored file plus 64 KB more (its length header tells the truth).
- `gzip`, `deflate`, `raw_deflate`: the stored file with that Content-Encoding.
- `gzip_bomb`: 64 MB of zeros after a PNG signature, gzip-encoded (about 64 KB on the wire).
- `gone`: 410 Gone.
- `ratelimit:<value>`: a 429 whose `retry_after` and `Retry-After` are `<value>` as written (`Infinity`, `NaN`, `-5`, `"soon"`, `1e9`).
- `ignore_after`: a messages page that ignores `after`/`before` (the newest messages, every time).
- `ignore_cursor`: any listing answered as if `after`, `before` and `offset` were not there.
- `api_bomb`: an API answer of 64 MB of JSON whitespace, gzip-encoded.
- `endless_members`: a gzip member with a PNG signature (CDN) or `[` (API), then empty gzip members
  without end: it decodes to almost nothing however long it runs.
- the compressed answers in several members of `picextract.fake.members` (`members:gzip`, `member_bomb`, ...).
"""

from __future__ import annotations

import functools
import gzip
import json
import time
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from picextract.fake.members import compress, is_member_fault, serve_members

if TYPE_CHECKING:
    from picextract.fake.handler import Handler

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE_FAULTS = frozenset(
    {
        "endless",
        "drip",
        "oversize",
        "gzip",
        "deflate",
        "raw_deflate",
        "gzip_bomb",
        "gone",
        "ignore_after",
        "ignore_cursor",
        "api_bomb",
        "endless_members",
    }
)
BOMB_BYTES = 64 * 1024 * 1024


def is_hostile(fault: str | None) -> bool:
    """True for the faults this module answers."""
    return fault is not None and (fault in HOSTILE_FAULTS or fault.startswith("ratelimit:") or is_member_fault(fault))


@functools.cache
def _bomb(prefix: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    parts = [compressor.compress(prefix)] + [compressor.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
    return b"".join(parts) + compressor.flush()


def _stored(handler: Handler, path: str) -> bytes:
    for prefix in ("/cdn/", "/media/", "/ext/"):
        if path.startswith(prefix):
            stored = handler.fake.state.files.get(unquote(path[len(prefix) :]))
            if stored is not None:
                return stored.data
    return PNG_SIGNATURE + bytes(1024)


def _headers(handler: Handler, status: int, content_type: str, headers: dict[str, str]) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()


def _endless(handler: Handler, first: bytes, chunk: bytes, content_type: str, headers: dict[str, str]) -> None:
    """`first`, then `chunk` 100,000 times (gigabytes: far past any limit), chunked, no length."""
    _headers(handler, 200, content_type, {"Transfer-Encoding": "chunked"} | headers)
    handler.close_connection = True
    try:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
        for _ in range(100_000):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:
        pass  # the client hung up, as it should


def _endless_body(handler: Handler, fault: str, path: str) -> None:
    if fault == "endless":
        zeros = bytes(64 * 1024)
        return _endless(handler, PNG_SIGNATURE + zeros[len(PNG_SIGNATURE) :], zeros, "image/png", {})
    is_api = path.startswith("/api/")
    first = compress(b"[" if is_api else PNG_SIGNATURE, "gzip")
    empties = compress(b"", "gzip") * 3000  # 60 KB of members that hold nothing
    return _endless(handler, first, empties, "application/json" if is_api else "image/png", {"Content-Encoding": "gzip"})


def _drip(handler: Handler, data: bytes) -> None:
    _headers(handler, 200, "image/png", {"Content-Length": str(len(data))})
    try:
        for offset in range(0, len(data), 64):
            handler.wfile.write(data[offset : offset + 64])
            handler.wfile.flush()
            time.sleep(0.02)
    except OSError:
        handler.close_connection = True


def _encoded(handler: Handler, fault: str, data: bytes) -> None:
    if fault == "gzip":
        body = gzip.compress(data)
    elif fault == "deflate":
        body = zlib.compress(data)
    else:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(data) + compressor.flush()
    encoding = "gzip" if fault == "gzip" else "deflate"
    _headers(handler, 200, "image/png", {"Content-Length": str(len(body)), "Content-Encoding": encoding})
    handler.wfile.write(body)


def _rate_limited(handler: Handler, value: str) -> None:
    body = f'{{"message": "You are being rate limited.", "retry_after": {value}, "global": false}}'.encode()
    header = value.strip('"')
    _headers(handler, 429, "application/json", {"Content-Length": str(len(body)), "Retry-After": header})
    handler.wfile.write(body)


def _ignore_after(handler: Handler, path: str) -> None:
    channel_id = path.rstrip("/").split("/")[-2]
    newest = handler.fake.state.messages.get(channel_id, [])[-100:]
    body = json.dumps(list(reversed(newest))).encode()
    _headers(handler, 200, "application/json", {"Content-Length": str(len(body))})
    handler.wfile.write(body)


def _ignore_cursor(handler: Handler, path: str, query: dict[str, Any]) -> None:
    from picextract.fake.routes import route_api

    plain = {key: value for key, value in query.items() if key not in ("after", "before", "offset")}
    status, payload = route_api(handler.fake, path.removeprefix("/api/v10"), plain, handler.headers.get("Authorization"))
    body = json.dumps(payload).encode()
    _headers(handler, status, "application/json", {"Content-Length": str(len(body))})
    handler.wfile.write(body)


def serve_hostile(handler: Handler, fault: str, path: str, query: dict[str, Any]) -> None:
    """Answer one request with a hostile fault."""
    if fault.startswith("ratelimit:"):
        return _rate_limited(handler, fault.split(":", 1)[1])
    if is_member_fault(fault):
        return serve_members(handler, fault, path, query)
    if fault == "ignore_after":
        return _ignore_after(handler, path)
    if fault == "ignore_cursor":
        return _ignore_cursor(handler, path, query)
    if fault in ("gzip_bomb", "api_bomb"):
        body = _bomb(PNG_SIGNATURE if fault == "gzip_bomb" else b"[")
        content_type = "image/png" if fault == "gzip_bomb" else "application/json"
        _headers(handler, 200, content_type, {"Content-Length": str(len(body)), "Content-Encoding": "gzip"})
        handler.wfile.write(body)
        return None
    if fault == "gone":
        _headers(handler, 410, "text/plain", {"Content-Length": "4"})
        handler.wfile.write(b"Gone")
        return None
    if fault in ("endless", "endless_members"):
        return _endless_body(handler, fault, path)
    data = _stored(handler, path)
    if fault == "drip":
        return _drip(handler, data)
    if fault == "oversize":
        body = data + bytes(64 * 1024)
        _headers(handler, 200, "image/png", {"Content-Length": str(len(body))})
        handler.wfile.write(body)
        return None
    return _encoded(handler, fault, data)
