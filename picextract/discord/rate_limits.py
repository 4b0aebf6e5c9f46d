"""Discord rate limits: a thread-safe limiter for buckets, global blocks and 429 waits."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class _Bucket:
    remaining: int | None = None
    reset_at: float = 0.0


class RateLimiter:
    """Thread-safe waits for Discord's per-bucket, global and 429 limits (discord-api.md §5)."""

    def __init__(self, min_interval_seconds: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.min_interval_seconds = min_interval_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._global_until = 0.0
        self._last_api_call = float("-inf")
        self._route_bucket: dict[str, str] = {}
        self._buckets: dict[str, _Bucket] = {}

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
                    return
                wait_seconds = ready_at - now
            self._sleep(wait_seconds)

    def update(self, route: str, headers: Mapping[str, str]) -> None:
        """Learn the bucket state from X-RateLimit-* response headers."""
        bucket_hash = headers.get("X-RateLimit-Bucket")
        remaining = headers.get("X-RateLimit-Remaining")
        reset_after = headers.get("X-RateLimit-Reset-After")
        with self._lock:
            if bucket_hash:
                major = route.split(" ", 1)[-1]
                self._route_bucket[route] = f"{bucket_hash}:{major}"
            bucket = self._buckets.setdefault(self._bucket_key(route), _Bucket())
            try:
                if remaining is not None and reset_after is not None:
                    bucket.remaining = int(remaining)
                    bucket.reset_at = self._clock() + float(reset_after)
            except ValueError:
                pass

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
    """How long a 429 asks us to wait: the body's `retry_after`, else `Retry-After`, else 1 s."""
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, (int, float)) and value >= 0:
            return float(value)
    try:
        return max(float(headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0
