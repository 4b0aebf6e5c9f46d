"""The one HTTP client: Discord API calls with rate limits and retries, and CDN downloads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from picextract.config import Settings
from picextract.discord.answers import api_outcome, decode_json
from picextract.discord.errors import ApiError
from picextract.discord.pace import pace_for
from picextract.discord.rate_limits import RateLimiter, WaitTooLong
from picextract.discord.tokens import clean_authorization
from picextract.discord.transfer import (
    BodyCancelled,
    BodyError,
    BodyLimits,
    DownloadError,
    Expect,
    FetchResult,
    RateLimited,
    Retryable,
    check_cdn_status,
    read_body,
    stream_to_file,
)
from picextract.pictures.ids import snowflake
from picextract.pictures.refs import DISCORD_EPOCH_MS

USER_AGENT = "DiscordBot (https://github.com/discordpicextract/discordpicextract, 1.0)"
# The most Get Channel Messages returns: https://discord.com/developers/docs/resources/message#get-channel-messages
PAGE_LIMIT = 100
MAX_RATE_LIMIT_WAITS = 10  # 429s tolerated for one call before we give up
# threads/search limit: https://docs.discord.food/resources/channel#search-threads (unofficial user-API docs)
THREAD_SEARCH_PAGE = 25
THREAD_SEARCH_MAX_OFFSET = 9975


Cancelled = BodyCancelled  # the run was interrupted while a body was streaming


class ChannelStopped(ApiError):
    """One channel cannot go on (its pages loop, or Discord asks for a wait over the cap); the others can."""


class PagingError(ChannelStopped):
    """A channel's pages do not move forward (or come from the future): its paging stops."""


class DiscordClient:
    """Talks to the Discord API (with auth) and to CDNs (without); owns every retry and wait."""

    def __init__(
        self,
        authorization: str,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        pool_size: int = 10,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self._authorization = clean_authorization(authorization)
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # We decode bodies ourselves (transfer.py), bounded; ask for gzip anyway, servers send it.
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # The pace spaces a user token's requests (jittered); a bot's follow the rate-limit headers alone.
        self.pace = pace_for(self._authorization, settings, clock=clock, sleep=sleep)
        self.limiter = RateLimiter(
            0.0, clock=clock, sleep=sleep, max_wait_seconds=settings.MAX_RATE_LIMIT_WAIT, announce=announce
        )

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def _backoff(self, attempt: int) -> None:
        self._sleep(self.settings.RETRY_BACKOFF * (2**attempt))

    # --- API ---------------------------------------------------------------------------

    @property
    def api_calls(self) -> int:
        """API requests sent so far."""
        return self.pace.requests

    @property
    def is_bot(self) -> bool:
        """True when the token is a bot token."""
        return self._authorization.startswith("Bot ")

    def api(
        self, path: str, params: Mapping[str, Any] | None = None, *, what: str = "", method: str = "GET", json_body: Any = None
    ) -> Any:
        """Call an API path and return its JSON; the only way this program calls the API."""
        route = f"{method} {path}"
        what = what or path
        failures = 0
        waits = 0
        while True:
            try:
                self.limiter.acquire(route, is_api=True)
            except WaitTooLong as too_long:
                raise ChannelStopped(f"gave up on {what}: {too_long}") from None
            try:
                return self._api_reserved(method, path, params, json_body, what)
            except Retryable as problem:
                if failures >= self.settings.MAX_RETRIES:
                    raise ApiError(str(problem)) from None
                self._backoff(failures)
                failures += 1
            except RateLimited as limited:
                waits += 1
                if waits > MAX_RATE_LIMIT_WAITS:
                    if limited.block:  # recorded all the same: the next call (a watch's next poll) must wait it out
                        self.limiter.block(route, limited.seconds, limited.is_global)
                    raise ApiError(f"Discord kept rate-limiting requests for {what}; try again later") from None
                self._wait_out(route, limited, what)

    def _wait_out(self, route: str, limited: RateLimited, what: str) -> None:
        """A 429 or a 202 "not ready": wait as asked, unless that is longer than the cap."""
        if limited.seconds > self.settings.MAX_RATE_LIMIT_WAIT:
            raise ChannelStopped(f"gave up on {what}: {WaitTooLong(limited.seconds, self.settings.MAX_RATE_LIMIT_WAIT)}")
        if limited.block:
            self.limiter.block(route, limited.seconds, limited.is_global)
        else:
            self._sleep(limited.seconds)

    def _api_reserved(self, method: str, path: str, params: Mapping[str, Any] | None, json_body: Any, what: str) -> Any:
        """One request the limiter reserved: it counts as in flight until answered or failed."""
        try:
            with self.pace.turn(path):
                return self._api_once(method, path, params, json_body, what)
        finally:
            self.limiter.release(f"{method} {path}")

    def _api_once(self, method: str, path: str, params: Mapping[str, Any] | None, json_body: Any, what: str) -> Any:
        """One request: the JSON of a 200, else Retryable, RateLimited or one of our errors."""
        try:
            with self.session.request(
                method,
                f"{self.settings.API_BASE}{path}",
                params=params,
                json=json_body,
                headers={"Authorization": self._authorization},
                timeout=self.settings.REQUEST_TIMEOUT,
                stream=True,
            ) as response:
                self.limiter.update(f"{method} {path}", response.headers)
                body = self._api_json(response, what)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise Retryable(f"could not reach Discord at {self.settings.API_BASE}: {type(error).__name__}") from None
        except BodyError as problem:
            if problem.retry:
                raise Retryable(f"Discord's answer for {what} was cut short: {problem}") from None
            raise ApiError(f"Discord's answer for {what}: {problem}") from None
        return api_outcome(response, body, what)

    def _api_json(self, response: requests.Response, what: str) -> Any:
        """The decoded JSON body (None when it is not JSON), read within MAX_API_BYTES."""
        too_large = f"larger than {self.settings.MAX_API_BYTES:,} bytes (MAX_API_BYTES)"
        limits = BodyLimits(self.settings.MAX_API_BYTES, self._clock() + self.settings.DOWNLOAD_DEADLINE, too_large, self._clock)
        raw = read_body(response, limits)
        return decode_json(raw)

    def get_channel(self, channel_id: str) -> dict[str, Any]:
        """The channel object for an ID (`GET /channels/{id}`)."""
        return self.api(f"/channels/{channel_id}", what=f"channel {channel_id}")

    def list_guilds(self) -> list[dict[str, Any]]:
        """Every guild the token is in (`GET /users/@me/guilds`, paged by `after`)."""
        guilds: list[dict[str, Any]] = []
        after = "0"
        while True:
            page = self.api("/users/@me/guilds", {"limit": 200, "after": after}, what="your server list")
            fresh, _ = _split_page(page if isinstance(page, list) else [], int(after))
            guilds.extend(guild for _, guild in fresh)
            if len(page) < 200 or not fresh:
                return guilds
            after = str(fresh[-1][0])

    def list_guild_channels(self, guild_id: str) -> list[dict[str, Any]]:
        """Every channel of a guild (`GET /guilds/{id}/channels`)."""
        return self.api(f"/guilds/{guild_id}/channels", what=f"the channels of server {guild_id}")

    def get_message(self, channel_id: str, message_id: int) -> dict[str, Any] | None:
        """One message with fresh URLs (`around=<id>&limit=1`; user tokens cannot GET a message)."""
        page = self.api(f"/channels/{channel_id}/messages", {"around": str(message_id), "limit": 1}, what=f"message {message_id}")
        fresh, _ = _split_page(page if isinstance(page, list) else [], 0)
        return next((message for number, message in fresh if number == message_id), None)

    def refresh_urls(self, urls: list[str]) -> dict[str, str]:
        """Fresh signed URLs for expired attachment links (`POST /attachments/refresh-urls`)."""
        body = self.api("/attachments/refresh-urls", method="POST", json_body={"attachment_urls": urls}, what="expired links")
        return {item["original"]: item["refreshed"] for item in (body or {}).get("refreshed_urls", []) if item.get("refreshed")}

    def iter_thread_search(self, channel_id: str) -> Iterator[dict[str, Any]]:
        """Threads of a channel, most recently active first (`threads/search`, user tokens)."""
        offset = 0
        seen: set[str] = set()
        while offset <= THREAD_SEARCH_MAX_OFFSET:
            params = {"sort_by": "last_message_time", "sort_order": "desc", "limit": THREAD_SEARCH_PAGE, "offset": offset}
            page = self.api(f"/channels/{channel_id}/threads/search", params, what=f"the threads of channel {channel_id}")
            threads = _new_threads(page, seen, f"the threads of channel {channel_id}")
            yield from threads
            if not page.get("has_more") or not threads:
                return
            offset += len(threads)

    def list_active_threads(self, guild_id: str) -> list[dict[str, Any]]:
        """Every active thread of a guild (`GET /guilds/{id}/threads/active`, bot tokens)."""
        return (
            self.api(f"/guilds/{guild_id}/threads/active", what=f"the active threads of server {guild_id}").get("threads") or []
        )

    def iter_archived_public_threads(self, channel_id: str) -> Iterator[dict[str, Any]]:
        """Archived public threads, most recently archived first, paged by `before`."""
        before: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": 100} | ({"before": before} if before else {})
            page = self.api(
                f"/channels/{channel_id}/threads/archived/public", params, what=f"the archived threads of channel {channel_id}"
            )
            threads = _new_threads(page, seen, f"the archived threads of channel {channel_id}")
            yield from threads
            if not page.get("has_more") or not threads:
                return
            before = (threads[-1].get("thread_metadata") or {}).get("archive_timestamp")
            if not before:
                return

    def iter_messages(self, channel_id: str, after_snowflake: int, before_snowflake: int | None) -> Iterator[dict[str, Any]]:
        """Messages with after < id < before, oldest first, paged forward with `after`.

        PagingError when a full page does not move forward (a server ignoring `after`) or holds
        ids from the future: never an endless loop, never a cursor past now.
        """
        # A window from the Discord epoch on gives after = -1, which Discord refuses as "not snowflake" (400/50035).
        cursor = max(after_snowflake, 0)
        what = f"messages of channel {channel_id}"
        while True:
            page = self.api(f"/channels/{channel_id}/messages", {"after": str(cursor), "limit": PAGE_LIMIT}, what=what)
            if not isinstance(page, list):
                raise PagingError(f"stopped paging {what}: Discord sent something that is not a list of messages")
            # Pages come newest first even when paging with `after`:
            # https://discord.com/developers/docs/resources/message#get-channel-messages
            fresh, unusable = _split_page(page, cursor)
            yield from unusable  # the caller counts them as malformed
            if len(page) > len(unusable) and not fresh:
                raise PagingError(f"stopped paging {what}: the server answered older messages again (it ignores `after`)")
            for message_id, message in fresh:
                if before_snowflake is not None and message_id >= before_snowflake:
                    return
                if message_id > future_snowflake(self._wall_clock()):
                    raise PagingError(f"stopped paging {what}: message id {message_id} is dated in the future")
                yield message
            if len(page) < PAGE_LIMIT or not fresh:
                return
            cursor = fresh[-1][0]

    @staticmethod
    def _wall_clock() -> float:
        return time.time()

    # --- CDN ---------------------------------------------------------------------------

    def picture_limits(self, announced_size: int | None, cancel: threading.Event | None = None) -> BodyLimits:
        """What every try of one picture may cost together: the size Discord announced (or
        MAX_DOWNLOAD_BYTES), DOWNLOAD_DEADLINE seconds of fetching in all, and Ctrl-C."""
        if announced_size is not None and announced_size < self.settings.MAX_DOWNLOAD_BYTES:
            too_large = f"larger than the {announced_size:,} bytes Discord announced"
            max_bytes = announced_size
        else:
            too_large = f"larger than {self.settings.MAX_DOWNLOAD_BYTES:,} bytes (MAX_DOWNLOAD_BYTES)"
            max_bytes = self.settings.MAX_DOWNLOAD_BYTES
        return BodyLimits(max_bytes, self._clock() + self.settings.DOWNLOAD_DEADLINE, too_large, self._clock, cancel)

    def fetch_to_file(
        self,
        url: str,
        part_path: Path,
        expected_size: int | None,
        *,
        allow_video: bool = False,
        external: bool = False,
        limits: BodyLimits | None = None,
    ) -> FetchResult:
        """Stream a picture into `part_path` and check it; retries, then DownloadError.

        `expected_size`: the size the body must have (None: any). `limits`: the picture's, shared
        with its other tries (default: new ones for `expected_size`). `external`: a link from the
        text or an embed; a body that is no picture is final, not retried.
        """
        limits = limits or self.picture_limits(expected_size)
        expect = Expect(expected_size, allow_video, external)
        route = f"CDN {urlsplit(url).netloc}"
        failures = 0
        rate_limited = 0
        while True:
            if limits.cancel is not None and limits.cancel.is_set():
                raise Cancelled()
            try:
                with limits.paused():
                    self.limiter.acquire(route, is_api=False)
                return self._fetch_once(url, part_path, expect, limits)
            except WaitTooLong as too_long:
                raise DownloadError(str(too_long), 429) from None
            except RateLimited as limited:
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMIT_WAITS:
                    raise DownloadError("rate-limited by the CDN too many times", 429) from None
                self.limiter.block(route, limited.seconds, is_global=False)
            except Retryable as error:
                part_path.unlink(missing_ok=True)
                if failures >= self.settings.MAX_RETRIES or limits.expired():
                    raise DownloadError(str(error), error.status) from None
                with limits.paused():
                    self._backoff(failures)
                failures += 1
            except BaseException:
                part_path.unlink(missing_ok=True)
                raise

    def _fetch_once(self, url: str, part_path: Path, expect: Expect, limits: BodyLimits) -> FetchResult:
        status: int | None = None
        # No socket wait outlasts the picture's deadline either.
        timeout = min(self.settings.REQUEST_TIMEOUT, limits.seconds_left())
        try:
            with self.session.get(url, stream=True, timeout=timeout) as response:
                status = response.status_code
                check_cdn_status(response, url, limits)
                return stream_to_file(response, part_path, expect, limits)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            if status is not None:
                raise Retryable(f"connection lost mid-body ({type(error).__name__})", status) from None
            raise Retryable(f"connection failed ({type(error).__name__})") from None
        except BodyError as problem:
            if problem.retry:
                raise Retryable(str(problem), status) from None
            raise DownloadError(str(problem), status) from None


def future_snowflake(now_epoch_seconds: float) -> int:
    """The smallest snowflake more than a day ahead of `now`: no real message has it."""
    return max(int((now_epoch_seconds + 86400) * 1000) - DISCORD_EPOCH_MS, 0) << 22


def _split_page(page: list[Any], cursor: int) -> tuple[list[tuple[int, dict[str, Any]]], list[Any]]:
    """([(id, message)] after `cursor`, oldest first; [entries without a usable id]) of one page."""
    fresh: list[tuple[int, dict[str, Any]]] = []
    unusable: list[Any] = []
    for message in page:
        message_id = snowflake(message.get("id")) if isinstance(message, dict) else None
        if message_id is None:
            unusable.append(message)
        elif message_id > cursor:
            fresh.append((message_id, message))
    return sorted(fresh, key=lambda pair: pair[0]), unusable


def _new_threads(page: Any, seen: set[str], what: str) -> list[dict[str, Any]]:
    """The threads of a listing page not seen on an earlier page; PagingError when a page repeats them all."""
    threads = [t for t in (page.get("threads") or [] if isinstance(page, dict) else []) if isinstance(t, dict) and t.get("id")]
    fresh = [thread for thread in threads if str(thread["id"]) not in seen]
    if threads and not fresh:
        raise PagingError(f"stopped listing {what}: the server sent the same page again")
    seen.update(str(thread["id"]) for thread in fresh)
    return fresh
