"""Downloads: HTTP bodies read within limits (a byte cap, a total deadline, gzip/deflate decoded in
bounded pieces), CDN statuses, and the `.part` file a picture streams into."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import requests
import urllib3

from picextract.discord.rate_limits import retry_after_seconds
from picextract.errors import StorageError
from picextract.pictures.ids import decimal
from picextract.pictures.media import extension_from_magic

CHUNK_BYTES = 64 * 1024
STEP_INPUT_BYTES = 4 * 1024
MAGIC_BYTES = 16  # enough of a file's start to tell its type (picextract.pictures.media)


class BodyError(Exception):
    """A body broke a limit or could not be decoded; `retry` says whether another try may help."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


class BodyCancelled(Exception):
    """The run was interrupted while a body was streaming."""


class _Decoder:
    """Content-Encoding undone by us, so a small compressed body can never inflate past the cap in one step.

    Members one after another (RFC 1952 §2.2, what `cat a.gz b.gz` makes) are decoded in turn, as
    urllib3 and curl do; bytes after a member that start no member are an error, as is a body that
    ends inside a member. Every step consumes input or yields output, so no body can make it spin.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.strip().lower()
        if self.encoding in ("", "identity"):
            self._wbits: int | None = None
        elif self.encoding in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif self.encoding == "deflate":
            self._wbits = zlib.MAX_WBITS
        else:
            raise BodyError(f"unsupported Content-Encoding {self.encoding!r}")
        self._inflate = zlib.decompressobj(self._wbits) if self._wbits is not None else None
        self._started = False  # a step succeeded: the kind of deflate is known
        self._in_member = False  # fed part of a member that has not ended yet
        self._members = 0  # members that ended

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of `data`, each at most CHUNK_BYTES long and none empty."""
        if self._inflate is None:
            if data:
                yield data
            return
        view = memoryview(data)
        # Steps take at most STEP_INPUT_BYTES: zlib copies the input left after a member, so a read
        # of many tiny members costs little per member.
        for start in range(0, len(view), STEP_INPUT_BYTES):
            rest: bytes | memoryview = view[start : start + STEP_INPUT_BYTES]
            while rest:
                piece, rest = self._step(rest)
                if piece:
                    yield piece

    def finish(self) -> None:
        """BodyError when the body ended inside a member."""
        if self._in_member:
            raise BodyError(f"truncated {self.encoding} body (it ends inside member {self._members + 1})", retry=True)

    def _step(self, data: bytes | memoryview) -> tuple[bytes, bytes]:
        """Decode from the start of `data`: (a piece, the input still to decode)."""
        assert self._inflate is not None and self._wbits is not None
        try:
            piece = self._inflate.decompress(data, CHUNK_BYTES)
        except zlib.error:
            if self._members:
                raise BodyError(
                    f"damaged {self.encoding} body: bytes after member {self._members} start no member", retry=True
                ) from None
            if self.encoding != "deflate" or self._started or self._wbits < 0:
                raise BodyError(f"damaged {self.encoding} body", retry=True) from None
            # Some servers send raw deflate without the zlib header (RFC 9110 §8.4.1.2 says zlib).
            self._wbits = -zlib.MAX_WBITS
            self._inflate = zlib.decompressobj(self._wbits)
            return self._step(data)
        self._started = True
        if self._inflate.eof:
            # The member ended; what follows is the next member. A finished decompressobj would keep
            # its leftover in `unconsumed_tail` for ever, so a new one takes it.
            rest = self._inflate.unused_data
            self._members += 1
            self._in_member = False
            self._inflate = zlib.decompressobj(self._wbits)
            return piece, rest
        rest = self._inflate.unconsumed_tail
        self._in_member = True
        if not piece and len(rest) >= len(data):
            raise BodyError(f"damaged {self.encoding} body: it does not decode any further", retry=True)
        return piece, rest


@dataclass
class BodyLimits:
    """What a body may cost: decoded bytes, and a deadline. One picture's tries share one (its
    retries, its fresh link, its proxy copy), so no try is looser than the first."""

    max_bytes: int
    deadline: float  # on `clock`
    too_large: str  # the error for a body past `max_bytes`, naming the limit
    clock: Callable[[], float] = time.monotonic
    cancel: threading.Event | None = None

    def check(self, decoded: int, received: int) -> None:
        """BodyCancelled after Ctrl-C; BodyError past the deadline or the byte cap."""
        if self.cancel is not None and self.cancel.is_set():
            raise BodyCancelled()
        # The bytes on the wire are capped too: an endless run of empty gzip members decodes to nothing.
        if decoded > self.max_bytes or received > 2 * self.max_bytes + CHUNK_BYTES:
            raise BodyError(self.too_large)
        if self.expired():
            raise BodyError(f"too slow: not finished after {decoded:,} bytes when the time limit ran out")

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.clock() > self.deadline

    def seconds_left(self) -> float:
        """Seconds until the deadline (at least a little, for a socket timeout)."""
        return max(self.deadline - self.clock(), 0.001)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The time spent inside does not count: waits for rate limits and back-offs are ours, not the server's."""
        started = self.clock()
        try:
            yield
        finally:
            self.deadline += self.clock() - started


def iter_body(response: requests.Response, limits: BodyLimits) -> Iterator[bytes]:
    """The decoded body in pieces; BodyError past the byte cap or deadline, when shorter than
    Content-Length, or when its encoding is damaged."""
    decoder = _Decoder(response.headers.get("Content-Encoding", ""))
    declared = decimal(response.headers.get("Content-Length", ""))  # None: no length we can read
    received = decoded = 0
    while True:
        limits.check(decoded, received)
        raw = _read_some(response, declared, received)
        if not raw:
            break
        received += len(raw)
        for piece in decoder.feed(raw):
            decoded += len(piece)
            limits.check(decoded, received)  # per piece too: one read of a bomb inflates to many pieces
            yield piece
    if declared is not None and received < declared:
        raise BodyError(f"truncated body ({received} of {declared} bytes)", retry=True)
    decoder.finish()


def _read_some(response: requests.Response, declared: int | None, received: int) -> bytes:
    """What has arrived of the raw body (b"" at its end), so the deadline and Ctrl-C are checked while a server drips."""
    try:
        return response.raw.read1(CHUNK_BYTES, decode_content=False)
    except urllib3.exceptions.ProtocolError:
        if declared is None:
            raise
        raise BodyError(f"truncated body ({received} of {declared} bytes)", retry=True) from None


def read_body(response: requests.Response, limits: BodyLimits) -> bytes:
    """The whole decoded body, at most `limits.max_bytes` long."""
    body = bytearray()
    for piece in iter_body(response, limits):
        body += piece
    return bytes(body)


def read_head(response: requests.Response, limits: BodyLimits, size: int) -> bytes:
    """The first `size` decoded bytes of a body (fewer when it is shorter or breaks a limit), read within `limits`."""
    head = bytearray()
    try:
        for piece in iter_body(response, limits):
            head += piece
            if len(head) >= size:
                break
    except (BodyError, requests.RequestException, urllib3.exceptions.HTTPError):
        pass  # what arrived is all there is to look at
    return bytes(head[:size])


class DownloadError(Exception):
    """One picture could not be fetched; the run goes on."""

    def __init__(self, message: str, status: int | None = None, expired: bool = False, not_picture: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.expired = expired
        self.not_picture = not_picture


@dataclass(frozen=True)
class FetchResult:
    """A body streamed to disk and checked: its size and the picture type its bytes show."""

    size_bytes: int
    extension: str


@dataclass(frozen=True)
class Expect:
    """What a download should turn out to be."""

    size: int | None
    allow_video: bool
    external: bool


def check_cdn_status(response: requests.Response, url: str, limits: BodyLimits) -> None:
    """Nothing for a 200; otherwise the exception that status means."""
    status = response.status_code
    host = urlsplit(url).netloc
    if status == 429:
        raise RateLimited(retry_after_seconds(response.headers, None))  # the body is not read: it could be endless
    if status >= 500 or status == 408:
        raise Retryable(f"HTTP {status} from {host}", status)
    if status != 200:
        expired = b"no longer available" in read_head(response, limits, 200)
        raise DownloadError(f"HTTP {status} from {host}", status, expired=expired)


def stream_to_file(response: requests.Response, part_path: Path, expect: Expect, limits: BodyLimits) -> FetchResult:
    """Write the body into `part_path`, checking its first bytes, its size and its limits."""
    host = urlsplit(response.url).netloc
    extension: str | None = None
    written = 0
    with _open_part(part_path) as part_file:
        for piece in _head_first(iter_body(response, limits), MAGIC_BYTES):
            if extension is None:
                extension = extension_from_magic(piece[:MAGIC_BYTES], expect.allow_video)
                if extension is None:
                    kind = response.headers.get("Content-Type", "unknown type")
                    if expect.external:
                        raise DownloadError(f"not a picture ({kind}) from {host}", 200, not_picture=True)
                    raise Retryable(f"not a picture ({kind}) from {host}", 200)
            _write(part_file, part_path, piece)
            written += len(piece)
    if extension is None:
        raise Retryable("empty body", 200)
    if expect.size is not None and written != expect.size:
        raise Retryable(f"size {written} bytes, Discord announced {expect.size}", 200)
    return FetchResult(size_bytes=written, extension=extension)


def _head_first(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The same bytes, the first piece at least `size` long (or the whole body): a body that
    drips, or comes in small members, still shows its type in its first piece."""
    head: bytearray | None = bytearray()
    for piece in pieces:
        if head is None:
            yield piece
            continue
        head += piece
        if len(head) >= size:
            yield bytes(head)
            head = None
    if head:
        yield bytes(head)


def _open_part(part_path: Path) -> BinaryIO:
    try:
        return open(part_path, "wb")  # noqa: SIM115 (the caller's with closes it)
    except OSError as problem:
        raise StorageError(f"cannot write {part_path.absolute()}: {problem.strerror or problem}") from None


def _write(part_file: BinaryIO, part_path: Path, piece: bytes) -> None:
    try:
        part_file.write(piece)
    except OSError as problem:
        raise StorageError(f"cannot write {part_path.absolute()}: {problem.strerror or problem}") from None


class Retryable(Exception):
    """This try failed (no connection, a cut-short body, a 5xx) in a way another try may fix; `status`: the HTTP one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(Exception):
    def __init__(self, seconds: float, is_global: bool = False, block: bool = True) -> None:
        super().__init__(f"rate limited for {seconds} s")
        self.seconds = seconds
        self.is_global = is_global
        self.block = block
