"""Compressed answers in several members for the fake server: what `cat a.gz b.gz` makes (RFC 1952 §2.2).

Each is a fault name for `FakeDiscord.fail_next`, on the CDN (the stored file) and on the API (the
route's real JSON answer) alike:

- `members:gzip`, `members:deflate`, `members:raw_deflate`: the answer in three members after an
  empty one, with that Content-Encoding.
- `member_bomb`: 64 MB in 64 gzip members of 1 MB each (about 64 KB on the wire): a PNG signature
  then zeros on the CDN, `[` then JSON whitespace on the API.
- `gzip_junk`: the answer as one gzip member, then bytes that are no member.
- `gzip_truncated`: the first half of the answer's gzip member; its Content-Length tells the cut length.
"""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from picextract.fake.handler import Handler

MEMBER_FAULTS = frozenset({"member_bomb", "gzip_junk", "gzip_truncated"})
ENCODINGS = ("gzip", "deflate", "raw_deflate")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MEMBER_BYTES = 1024 * 1024
BOMB_MEMBERS = 64
JUNK = b"these bytes are no gzip member"


def is_member_fault(fault: str) -> bool:
    """True for the faults this module answers."""
    return fault in MEMBER_FAULTS or fault in (f"members:{encoding}" for encoding in ENCODINGS)


def compress(data: bytes, encoding: str) -> bytes:
    """`data` as one member of `encoding` (gzip, deflate = zlib, raw_deflate = deflate without a header)."""
    if encoding == "gzip":
        return gzip.compress(data, mtime=0)  # the same bytes on every run
    if encoding == "deflate":
        return zlib.compress(data)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def as_members(data: bytes, encoding: str) -> bytes:
    """An empty member, then `data` in three members, one after another."""
    third = -(-len(data) // 3)
    parts = [b"", data[:third], data[third : 2 * third], data[2 * third :]]
    return b"".join(compress(part, encoding) for part in parts)


@functools.cache
def member_bomb(first: bytes, filler: bytes) -> bytes:
    """BOMB_MEMBERS gzip members of MEMBER_BYTES each: `first`, then `filler` repeated."""
    head = compress(first + filler * (MEMBER_BYTES - len(first)), "gzip")
    return head + compress(filler * MEMBER_BYTES, "gzip") * (BOMB_MEMBERS - 1)


def _answer(handler: Handler, path: str, query: dict[str, Any]) -> tuple[int, bytes, str]:
    """What the server would answer without the fault: (status, body, content type)."""
    if path.startswith("/api/"):
        from picextract.fake.routes import route_api

        status, payload = route_api(handler.fake, path.removeprefix("/api/v10"), query, handler.headers.get("Authorization"))
        return status, json.dumps(payload).encode(), "application/json"
    stored = handler.fake.stored_file(path)
    if stored is None:
        return 200, PNG_SIGNATURE + bytes(1024), "image/png"
    return 200, stored.data, stored.content_type


def _encoded_body(fault: str, path: str, plain: bytes) -> tuple[bytes, str]:
    """(body on the wire, its Content-Encoding) for one fault."""
    if fault.startswith("members:"):
        encoding = fault.split(":", 1)[1]
        return as_members(plain, encoding), "gzip" if encoding == "gzip" else "deflate"
    if fault == "member_bomb":
        bomb = member_bomb(b"[", b" ") if path.startswith("/api/") else member_bomb(PNG_SIGNATURE, b"\0")
        return bomb, "gzip"
    member = compress(plain, "gzip")
    if fault == "gzip_junk":
        return member + JUNK, "gzip"
    return member[: len(member) // 2], "gzip"  # gzip_truncated


def serve_members(handler: Handler, fault: str, path: str, query: dict[str, Any]) -> None:
    """Answer one request with a member fault."""
    status, plain, content_type = _answer(handler, path, query)
    body, encoding = _encoded_body(fault, path, plain)
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Content-Encoding", encoding)
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except OSError:
        handler.close_connection = True  # the client hung up: it refused the body, as it may
