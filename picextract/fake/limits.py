"""Rate limits as the fake Discord keeps them: one window per bucket, a global block, and the X-RateLimit-* headers.

https://discord.com/developers/docs/topics/rate-limits: a bucket allows `bucket_limit` requests per
`bucket_window_seconds`; a 429 blocks the bucket (or, when global, every bucket) for `retry_after`.
A request that comes while its bucket is blocked counts as a violation, so tests can assert there are none.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from picextract.fake.state import FakeDiscordState

Limited = tuple[float, bool]  # (retry_after seconds, global) of a request that gets a 429


@dataclass
class _Window:
    started: float = 0.0
    used: int = 0
    blocked_until: float = 0.0


class RateLimits:
    """The windows of every bucket; the caller holds the server's lock and passes its clocks."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = defaultdict(_Window)
        self._global_blocked_until = 0.0

    def account(
        self, state: FakeDiscordState, bucket: str, is_api: bool, now: float, wall_now: float
    ) -> tuple[dict[str, str], Limited | None]:
        """Account one request on `bucket` at monotonic `now`; returns headers and, when limited, (retry_after, global)."""
        window = self._windows[bucket]
        # Within 1 ms of the end counts as on time: the client's clock starts after ours.
        if now < self._global_blocked_until - 0.001 or now < window.blocked_until - 0.001:
            state.violations += 1
            wait = max(self._global_blocked_until, window.blocked_until) - now
            return self._headers(state, bucket, window, now, wall_now), (wait, now < self._global_blocked_until)
        if state.forced_429 and is_api:
            retry_after, is_global = state.forced_429.popleft()
            if is_global:
                self._global_blocked_until = now + retry_after
            else:
                window.blocked_until = now + retry_after
            return self._headers(state, bucket, window, now, wall_now), (retry_after, is_global)
        if not is_api:
            return {}, None
        if now >= window.started + state.bucket_window_seconds:
            window.started, window.used = now, 0
        bucket_headers = self._headers(state, bucket, window, now, wall_now)
        if window.used >= state.bucket_limit:
            state.violations += 1
            return bucket_headers, (window.started + state.bucket_window_seconds - now, False)
        window.used += 1
        if window.used == state.bucket_limit:
            window.blocked_until = window.started + state.bucket_window_seconds
        return self._headers(state, bucket, window, now, wall_now), None

    def block(self, bucket: str, until: float) -> None:
        """Block one bucket until monotonic `until` (a forced 429 on a CDN path)."""
        self._windows[bucket].blocked_until = until

    @staticmethod
    def _headers(state: FakeDiscordState, bucket: str, window: _Window, now: float, wall_now: float) -> dict[str, str]:
        """X-RateLimit-* as Discord sends them (https://discord.com/developers/docs/topics/rate-limits#header-format)."""
        reset_after = window.started + state.bucket_window_seconds - now
        return {
            "X-RateLimit-Limit": str(state.bucket_limit),
            "X-RateLimit-Remaining": str(max(0, state.bucket_limit - window.used)),
            "X-RateLimit-Reset": f"{wall_now + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after + 0.0005:.3f}",
            "X-RateLimit-Bucket": hashlib.md5(bucket.split(":")[0].encode()).hexdigest()[:12],
        }
