"""Discord rate limits: a thread-safe limiter for buckets, global blocks and 429 waits."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from picextract.pictures.ids import decimal

ANNOUNCE_WAIT_SECONDS = 5.0  # a wait this long is announced with its length
DEFAULT_WAIT_SECONDS = 1.0  # when the server's value is missing or unusable


class WaitTooLong(Exception):
    """Discord asked for a wait longer than the cap (MAX_RATE_LIMIT_WAIT)."""

    def __init__(self, seconds: float, cap_seconds: float) -> None:
        super().__init__(
            f"Discord asks to wait {describe_wait(seconds)}, more than the {describe_wait(cap_seconds)} allowed (MAX_RATE_LIMIT_WAIT)"
        )
        self.seconds = seconds


def describe_wait(seconds: float) -> str:
    """`90` -> `1.5 minutes`; infinity says so."""
    if not math.isfinite(seconds):
        return "forever"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.1f} minutes"
    return f"{seconds:.1f} seconds"


def parse_wait(value: object) -> float | None:
    """A wait in seconds from a header or body value; None for text, NaN or a negative number (inf is kept: it is over any cap)."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(seconds) or seconds < 0 else seconds


@dataclass
class _Bucket:
    remaining: int | None = None
    reset_at: float = 0.0


class RateLimiter:
    """Thread-safe waits for Discord's per-bucket, global and 429 limits.

    https://discord.com/developers/docs/topics/rate-limits
    """

    def __init__(
        self,
        min_interval_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_wait_seconds: float = math.inf,
        announce: Callable[[str], None] | None = None,
    ):
        self.min_interval_seconds = min_interval_seconds
        self.max_wait_seconds = max_wait_seconds
        self._announce = announce
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._global_until = 0.0
        self._last_api_call = float("-inf")
        self._route_bucket: dict[str, str] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._in_flight: dict[str, int] = {}  # API requests sent on a route whose answer is not in yet

    def _bucket_key(self, route: str) -> str:
        return self._route_bucket.get(route, route)

    def acquire(self, route: str, is_api: bool) -> None:
        """Block until a request on `route` may be sent, then reserve it."""
        while True:
            with self._lock:
                now = self._clock()
                bucket = self._buckets.setdefault(self._bucket_key(route), _Bucket())
                ready_at = self._global_until
                if bucket.remaining == 0 and bucket.reset_at > now:
                    ready_at = max(ready_at, bucket.reset_at)
                if is_api:
                    ready_at = max(ready_at, self._last_api_call + self.min_interval_seconds)
                if ready_at <= now:
                    if bucket.remaining is not None and bucket.reset_at > now:
                        bucket.remaining = max(bucket.remaining - 1, 0)
                    if is_api:
                        self._last_api_call = now
                        self._in_flight[route] = self._in_flight.get(route, 0) + 1
                    return
                wait_seconds = ready_at - now
            self._wait(route, wait_seconds)

    def _wait(self, route: str, wait_seconds: float) -> None:
        """Sleep out a wait; a long one is announced, one over the cap raises WaitTooLong."""
        if wait_seconds > self.max_wait_seconds:
            raise WaitTooLong(wait_seconds, self.max_wait_seconds)
        if wait_seconds >= ANNOUNCE_WAIT_SECONDS and self._announce is not None:
            self._announce(f"rate-limited: waiting {describe_wait(wait_seconds)} before the next request ({route}); Ctrl-C stops")
        self._sleep(wait_seconds)

    def release(self, route: str) -> None:
        """An API request reserved by `acquire` is answered (or failed)."""
        with self._lock:
            self._in_flight[route] = max(self._in_flight.get(route, 0) - 1, 0)

    def update(self, route: str, headers: Mapping[str, str]) -> None:
        """Learn the bucket state from X-RateLimit-* response headers.

        Requests run in parallel (a bot pages parts of a window at once): an answer may count fewer
        requests than were sent, or come after a later one. So the other requests still in flight
        count as used, and within the window we know, the remaining count only goes down.
        """
        bucket_hash = headers.get("X-RateLimit-Bucket")
        remaining = headers.get("X-RateLimit-Remaining")
        reset_after = headers.get("X-RateLimit-Reset-After")
        with self._lock:
            if bucket_hash:
                major = route.split(" ", 1)[-1]
                self._route_bucket[route] = f"{bucket_hash}:{major}"
            bucket = self._buckets.setdefault(self._bucket_key(route), _Bucket())
            seconds = parse_wait(reset_after)
            count = decimal(remaining.strip()) if remaining is not None else None
            if count is not None and seconds is not None:
                now = self._clock()
                left = max(count - max(self._in_flight.get(route, 0) - 1, 0), 0)
                if bucket.remaining is not None and now < bucket.reset_at:
                    bucket.remaining = min(bucket.remaining, left)
                else:
                    bucket.remaining, bucket.reset_at = left, now + seconds

    def block(self, route: str, seconds: float, is_global: bool) -> None:
        """After a 429: nobody (global) or nobody on this bucket sends for `seconds`."""
        with self._lock:
            until = self._clock() + seconds
            if is_global:
                self._global_until = max(self._global_until, until)
            else:
                bucket = self._buckets.setdefault(self._bucket_key(route), _Bucket())
                bucket.remaining = 0
                bucket.reset_at = max(bucket.reset_at, until)


def retry_after_seconds(headers: Mapping[str, str], body: Any) -> float:
    """How long a 429 asks us to wait: the body's `retry_after`, else `Retry-After`, else
    `X-RateLimit-Reset-After`, else 1 s; text, NaN and negative values are not used."""
    candidates = [body.get("retry_after") if isinstance(body, dict) else None]
    candidates += [headers.get("Retry-After"), headers.get("X-RateLimit-Reset-After")]
    for value in candidates:
        seconds = parse_wait(value) if value is not None else None
        if seconds is not None:
            return seconds
    return DEFAULT_WAIT_SECONDS
