"""Hostile answers for the fake server: endless, dripping, compressed, oversized and looping bodies.

Each is a fault name for `FakeDiscord.fail_next`:

- `endless`: a picture's first bytes, then zeros forever (chunked, no length).
- `drip`: the stored file at about 3 KB/s.
- `oversize`: the stored file plus 64 KB more (its length header tells the truth).
- `gzip`, `deflate`, `raw_deflate`: the stored file with that Content-Encoding.
- `gzip_bomb`: 64 MB of zeros after a PNG signature, gzip-encoded (about 64 KB on the wire).
- `gone`: 410 Gone.
- `headers:<Name>=<value>;...`: the usual answer (the API's, or the stored file) with these headers as
  written (e.g. `Content-Length=¹`: a digit to `str.isdigit()`, not to `int()`), the connection closed after it.
- `ratelimit:<value>`: a 429 whose `retry_after` and `Retry-After` are `<value>` as written (`Infinity`, `NaN`, `-5`, `"soon"`, `1e9`).
- `ignore_after`: a messages page that ignores `after`/`before` (the newest messages, every time).
- `ignore_cursor`: any listing answered as if `after`, `before` and `offset` were not there.
- `api_bomb`: an API answer of 64 MB of JSON whitespace, gzip-encoded.
- `endless_members`: a gzip member with a PNG signature (CDN) or `[` (API), then empty gzip members
  without end: it decodes to almost nothing however long it runs.
- the compressed answers in several members of `members.py` (`members:gzip`, `member_bomb`, ...).
"""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from collections.abc import Iterator

from picextract.fake.table import FaultRequest, RawReply
from tests.fake_extras.members import compress

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


def is_hostile(fault: str) -> bool:
    """True for the faults this module answers."""
    return fault in HOSTILE_FAULTS or fault.startswith(("ratelimit:", "headers:"))


@functools.cache
def _bomb(prefix: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    parts = [compressor.compress(prefix)] + [compressor.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
    return b"".join(parts) + compressor.flush()


def _stored(request: FaultRequest) -> bytes:
    stored = request.data.stored_file(request.path)
    return stored.data if stored is not None else PNG_SIGNATURE + bytes(1024)


def _whole(status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> RawReply:
    """One body with its length (and these headers)."""
    return RawReply(status, content_type, {"Content-Length": str(len(body))} | (headers or {}), [body])


def _endless(first: bytes, chunk: bytes, content_type: str, headers: dict[str, str]) -> RawReply:
    """`first`, then `chunk` 100,000 times (gigabytes: far past any limit), chunked, no length."""

    def chunks() -> Iterator[bytes]:
        yield first
        for _ in range(100_000):
            yield chunk

    return RawReply(200, content_type, {"Transfer-Encoding": "chunked"} | headers, chunks(), chunked=True, close=True)


def _endless_body(request: FaultRequest, fault: str) -> RawReply:
    if fault == "endless":
        zeros = bytes(64 * 1024)
        return _endless(PNG_SIGNATURE + zeros[len(PNG_SIGNATURE) :], zeros, "image/png", {})
    is_api = request.path.startswith("/api/")
    first = compress(b"[" if is_api else PNG_SIGNATURE, "gzip")
    empties = compress(b"", "gzip") * 3000  # 60 KB of members that hold nothing
    return _endless(first, empties, "application/json" if is_api else "image/png", {"Content-Encoding": "gzip"})


def _drip(data: bytes) -> RawReply:
    """The file at about 3 KB/s: 64 bytes every 20 ms."""
    chunks = [data[offset : offset + 64] for offset in range(0, len(data), 64)]
    return RawReply(200, "image/png", {"Content-Length": str(len(data))}, chunks, pause_seconds=0.02)


def _encoded(fault: str, data: bytes) -> RawReply:
    if fault == "gzip":
        body = gzip.compress(data)
    elif fault == "deflate":
        body = zlib.compress(data)
    else:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(data) + compressor.flush()
    return _whole(200, "image/png", body, {"Content-Encoding": "gzip" if fault == "gzip" else "deflate"})


def _rate_limited(value: str) -> RawReply:
    body = f'{{"message": "You are being rate limited.", "retry_after": {value}, "global": false}}'.encode()
    return _whole(429, "application/json", body, {"Retry-After": value.strip('"')})


def _with_headers(request: FaultRequest, written: str) -> RawReply:
    """The usual answer with `Name=value;Name=value` over its headers; the end of the body is the connection's close."""
    headers = dict(pair.split("=", 1) for pair in written.split(";"))
    if request.path.startswith("/api/"):
        status, payload = request.api_answer()
        body, content_type = json.dumps(payload).encode(), "application/json"
    else:
        status, body, content_type = 200, _stored(request), "image/png"
    return RawReply(status, content_type, {"Content-Length": str(len(body))} | headers, [body], close=True)


def _ignore_after(request: FaultRequest) -> RawReply:
    channel_id = request.path.rstrip("/").split("/")[-2]
    newest = request.data.state.messages.get(channel_id, [])[-100:]
    return _whole(200, "application/json", json.dumps(list(reversed(newest))).encode())


def _ignore_cursor(request: FaultRequest) -> RawReply:
    plain = {key: value for key, value in request.query.items() if key not in ("after", "before", "offset")}
    status, payload = request.api_answer(plain)
    return _whole(status, "application/json", json.dumps(payload).encode())


def hostile_answer(request: FaultRequest, fault: str) -> RawReply:
    """Answer one request with a hostile fault."""
    if fault.startswith("ratelimit:"):
        return _rate_limited(fault.split(":", 1)[1])
    if fault.startswith("headers:"):
        return _with_headers(request, fault.split(":", 1)[1])
    if fault == "ignore_after":
        return _ignore_after(request)
    if fault == "ignore_cursor":
        return _ignore_cursor(request)
    if fault in ("gzip_bomb", "api_bomb"):
        body = _bomb(PNG_SIGNATURE if fault == "gzip_bomb" else b"[")
        return _whole(200, "image/png" if fault == "gzip_bomb" else "application/json", body, {"Content-Encoding": "gzip"})
    if fault == "gone":
        return _whole(410, "text/plain", b"Gone")
    if fault in ("endless", "endless_members"):
        return _endless_body(request, fault)
    data = _stored(request)
    if fault == "drip":
        return _drip(data)
    if fault == "oversize":
        return _whole(200, "image/png", data + bytes(64 * 1024))
    return _encoded(fault, data)
