"""The watch's clockwork as pure functions: the back-off after trouble, and how far back to look for threads."""

from __future__ import annotations

from datetime import datetime, timedelta

BACKOFF_CAP_SECONDS = 900.0  # never wait more than 15 minutes between tries while Discord is away
BACKOFF_CAP_INTERVALS = 10  # ... nor more than 10 intervals
THREAD_MARGIN = timedelta(minutes=2)  # the local clock and Discord's snowflakes may disagree a little


def backoff_cap_seconds(interval_seconds: float) -> float:
    """The longest pause between tries: 10 intervals, at most 15 minutes, never below one interval."""
    return max(interval_seconds, min(BACKOFF_CAP_INTERVALS * interval_seconds, BACKOFF_CAP_SECONDS))


def backoff_seconds(failures: int, interval_seconds: float, unit_random: float) -> float:
    """The pause after `failures` failed polls in a row (1 = the first): doubling from one interval,
    capped, with jitter (half to all of it, so many watchers do not come back in step)."""
    cap = backoff_cap_seconds(interval_seconds)
    ceiling = min(cap, interval_seconds * 2 ** max(failures - 1, 0))
    return ceiling * (0.5 + 0.5 * unit_random)


def threads_since(window_start: datetime, last_good_poll: datetime | None, interval_seconds: float) -> datetime:
    """Threads to look at on a poll: all of the window on the first, else those active since the
    last poll that went through (with a margin), so a quiet watch lists few threads."""
    if last_good_poll is None:
        return window_start
    return max(window_start, last_good_poll - THREAD_MARGIN - timedelta(seconds=interval_seconds))


def format_duration(seconds: float) -> str:
    """`45s`, `4m 10s`, `2h 05m`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
