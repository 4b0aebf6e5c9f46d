"""How fast a token may go: a human pace for user tokens, Discord's own headers alone for bot tokens.

User tokens run against Discord's terms; exporters' users report bans after bulk requests with
them (Tyrrrz/DiscordChatExporter#738, aiko-chan-ai/discord.js-selfbot-v13#119). So a user token
sends one API request at a time, waits a jittered `RATE_LIMIT_DELAY` between them, never sends a
request again that got a 401 or 403, and stops the run at the first 401 or the second 403 on a
server's routes. A bot token is the supported way: the rate-limit headers alone set its pace
(`RateLimiter`), and it downloads with more workers.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from picextract.config import Settings
from picextract.discord.errors import AccessError, AuthError, DiscordError

JITTER = 0.30  # each pause is RATE_LIMIT_DELAY x (1 +/- 0.30): no machine-regular rhythm
GUILD_ROUTE_PREFIXES = ("/guilds/", "/channels/")  # a server's channels, threads and messages
RISK_ADVICE = (
    "the account may be at risk: stop using this user token for a while, check the account in the "
    "Discord app, and prefer a bot token (DISCORD_BOT_TOKEN)"
)


class AccountAtRiskError(DiscordError):
    """A user token was refused again: the run stops before Discord sees more refused requests."""


class RefusedAtRiskError(AccountAtRiskError, AuthError):
    """A user token got a 401: the run stops at once."""


def at_risk_suffix(problem: Exception) -> str:
    """`; the account may be at risk ...` for a user token's 401, else ''."""
    return f"; {RISK_ADVICE}" if isinstance(problem, RefusedAtRiskError) else ""


def jittered_seconds(delay_seconds: float, unit_random: float, jitter: float = JITTER) -> float:
    """`delay_seconds` scaled by a factor in [1 - jitter, 1 + jitter], from a random number in [0, 1)."""
    return max(0.0, delay_seconds * (1 - jitter + 2 * jitter * unit_random))


def is_guild_route(path: str) -> bool:
    """True for routes about a server's channels, threads and messages (not `/users/@me/...`)."""
    return path.startswith(GUILD_ROUTE_PREFIXES)


class BotPace:
    """Bot tokens: no pause of our own (the rate-limit headers set the pace); counts the API requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0

    @contextmanager
    def turn(self, path: str) -> Iterator[None]:
        """Around one API request on `path`: count it."""
        with self._lock:
            self.requests += 1
        yield


class UserPace(BotPace):
    """User tokens: one request at a time, a jittered pause between them, a stop at the first sign of trouble."""

    def __init__(
        self,
        delay_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        unit_random: Callable[[], float] = random.random,
    ) -> None:
        super().__init__()
        self.delay_seconds = delay_seconds
        self._clock = clock
        self._sleep = sleep
        self._random = unit_random
        self._turn = threading.Lock()  # held for the pause and the request: one request at a time
        self._next_at = float("-inf")
        self._refused_paths: set[str] = set()
        self._guild_refusals = 0
        self._stopped: AccountAtRiskError | None = None

    @contextmanager
    def turn(self, path: str) -> Iterator[None]:
        """Around one API request on `path`: wait our turn and the pause; a 401 or 403 inside is a refusal."""
        with self._turn:
            self._check(path)
            wait_seconds = self._next_at - self._clock()
            if wait_seconds > 0:
                self._sleep(wait_seconds)
            self.requests += 1
            try:
                yield
            except AuthError:  # the client raises it for a 401 only
                self._refusal(path, 401)
                raise
            except AccessError:  # ... and this for a 403
                self._refusal(path, 403)
                raise
            finally:
                self._next_at = self._clock() + jittered_seconds(self.delay_seconds, self._random())

    def _check(self, path: str) -> None:
        """Refuse locally what Discord would refuse again: nothing after a stop, never a path refused before."""
        if self._stopped is not None:
            raise type(self._stopped)(str(self._stopped))
        if path in self._refused_paths:
            raise AccessError(f"no access to {path}: Discord refused it before, and a user token does not ask twice")

    def _refusal(self, path: str, status: int) -> None:
        """401: stop now. 403: remember the path; the second on a server's routes stops the run."""
        if status == 401:
            self._stopped = RefusedAtRiskError(
                f"Discord rejected the token (401 Unauthorized); stopped at the first refusal: {RISK_ADVICE}"
            )
            raise self._stopped
        if status != 403:
            return
        self._refused_paths.add(path)
        if is_guild_route(path):
            self._guild_refusals += 1
            if self._guild_refusals >= 2:
                self._stopped = AccountAtRiskError(
                    f"Discord refused a second request on this server (403 on {path}); stopped: {RISK_ADVICE}"
                )
                raise self._stopped


def pace_for(
    authorization: str,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    unit_random: Callable[[], float] = random.random,
) -> BotPace:
    """The pace for a token: `UserPace` unless the authorization is a bot's (`Bot ...`)."""
    if authorization.startswith("Bot "):
        return BotPace()
    return UserPace(settings.RATE_LIMIT_DELAY, clock=clock, sleep=sleep, unit_random=unit_random)


def default_workers(settings: Settings, is_bot: bool) -> int:
    """Parallel downloads when --workers is not given: bots go as fast as the CDN allows (README "Speed")."""
    return settings.BOT_MAX_WORKERS if is_bot else settings.MAX_WORKERS
