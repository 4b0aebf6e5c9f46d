"""Pure parsing of what the user types or passes as flags: days, dates, the token, paths, the window."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from datetime import time as clock_time
from pathlib import Path


def parse_days(text: str) -> float:
    """A positive, finite number of days; ValueError with a user-facing message otherwise."""
    try:
        days = float(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number of days (e.g. 14 or 0.5)") from None
    if not math.isfinite(days) or days <= 0:
        raise ValueError(f"number of days must be a positive number, not {text.strip()!r}")
    if days > 365 * 100:
        raise ValueError("number of days is too large")
    return days


def parse_when(text: str, tz: tzinfo | None, end_of_day: bool = False) -> datetime:
    """A date or date-time; naive values are read in `tz`. A bare date with end_of_day = next midnight."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date or date-time (use 2026-01-31 or 2026-01-31T14:30)") from None
    is_bare_date = len(value) == 10
    if is_bare_date and end_of_day:
        moment = datetime.combine(moment.date() + timedelta(days=1), clock_time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
    return moment.astimezone(timezone.utc)


def authorization_from_env(environ: Mapping[str, str]) -> str | None:
    """The Authorization header value: a bot token gets `Bot `, a user token is sent as is."""
    bot = environ.get("DISCORD_BOT_TOKEN", "").strip()
    if bot:
        return bot if bot.startswith("Bot ") else f"Bot {bot}"
    user = environ.get("DISCORD_USER_TOKEN", "").strip()
    return user or None


def window(days: float | None, since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime | None]:
    """The [since, until) window from the flags; until None means "up to now"."""
    end = until or now
    start = since if since is not None else end - timedelta(days=days or 0)
    if start >= end:
        raise ValueError("the window is empty: --since must be before --until")
    return start, until


def token_variable(environ: Mapping[str, str]) -> str | None:
    """The variable the token is taken from (the bot token wins), or None."""
    for name in ("DISCORD_BOT_TOKEN", "DISCORD_USER_TOKEN"):
        if environ.get(name, "").strip():
            return name
    return None


def _unquote(text: str) -> str:
    value = text.strip()
    while len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    return value


def token_candidates(text: str) -> list[str]:
    """The Authorization values to try for a pasted token: as is (user), then with `Bot ` (bot).

    A token pasted with its `Bot ` prefix, or with quotes around it, is understood too.
    """
    token = _unquote(text)
    if token[:4].lower() == "bot ":
        return [f"Bot {token[4:].strip()}"]
    if not token or any(character.isspace() for character in token):
        raise ValueError("a token is one word without spaces (copy it again)")
    return [token, f"Bot {token}"]


def parse_output_path(text: str) -> Path:
    """A typed folder: surrounding quotes and spaces dropped, `~` expanded."""
    value = _unquote(text)
    if not value:
        raise ValueError("a folder name is needed")
    return Path(value).expanduser()
