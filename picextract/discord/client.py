"""The one HTTP client: Discord API calls with rate limits and retries, and CDN downloads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from config import Settings
from picextract.discord.errors import AccessError, ApiError, AuthError, NotFoundError, RequestRejectedError
from picextract.discord.pace import pace_for
from picextract.discord.rate_limits import RateLimiter, retry_after_seconds
from picextract.pictures.media import extension_from_magic

USER_AGENT = "DiscordBot (https://github.com/discordpicextract/discordpicextract, 1.0)"
PAGE_LIMIT = 100  # the most Get Channel Messages returns, discord-api.md §2
MAX_RATE_LIMIT_WAITS = 10  # 429s tolerated for one call before we give up
SEARCH_NOT_READY = 110000  # 202 "Index not yet available", discord-api.md §5
THREAD_SEARCH_PAGE = 25  # threads/search limit, discord-api.md §6
THREAD_SEARCH_MAX_OFFSET = 9975
CHUNK_BYTES = 64 * 1024


class DownloadError(Exception):
    """One picture could not be fetched; the run goes on."""

    def __init__(self, message: str, status: int | None = None, expired: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.expired = expired


class Cancelled(Exception):
    """The run was interrupted while a body was streaming."""


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _discord_message(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        code = body.get("code")
        return f"{body['message']} (code {code})" if code is not None else str(body["message"])
    return "no details"


@dataclass(frozen=True)
class FetchResult:
    """A body streamed to disk and checked: its size and the picture type its bytes show."""

    size_bytes: int
    extension: str


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
    ) -> None:
        self._authorization = authorization
        self.settings = settings
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # The pace spaces a user token's requests (jittered); a bot's follow the rate-limit headers alone.
        self.pace = pace_for(authorization, settings, clock=clock, sleep=sleep)
        self.limiter = RateLimiter(0.0, clock=clock, sleep=sleep)

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
        url = f"{self.settings.API_BASE}{path}"
        route = f"{method} {path}"
        what = what or path
        failures = 0
        rate_limited = 0
        while True:
            self.limiter.acquire(route, is_api=True)
            try:
                response = self.pace.send(
                    path,
                    lambda: self.session.request(
                        method,
                        url,
                        params=params,
                        json=json_body,
                        headers={"Authorization": self._authorization},
                        timeout=self.settings.REQUEST_TIMEOUT,
                    ),
                )
            except requests.RequestException as error:
                if failures >= self.settings.MAX_RETRIES:
                    raise ApiError(f"could not reach Discord at {self.settings.API_BASE}: {type(error).__name__}") from None
                self._backoff(failures)
                failures += 1
                continue
            self.limiter.update(route, response.headers)
            status = response.status_code
            if status == 200:
                body = _json_or_none(response)
                if body is None:
                    raise ApiError(f"Discord sent a response that is not JSON for {what}")
                return body
            body = _json_or_none(response)
            if status == 202 and isinstance(body, dict) and body.get("code") == SEARCH_NOT_READY:
                # The search index is still being built: wait as asked (discord-api.md §5).
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMIT_WAITS:
                    raise ApiError(f"Discord's search index for {what} is not ready; try again later")
                self._sleep(retry_after_seconds(response.headers, body))
                continue
            if status == 429:
                rate_limited += 1
                is_global = bool(isinstance(body, dict) and body.get("global")) or (
                    response.headers.get("X-RateLimit-Global", "").lower() == "true"
                )
                # Recorded even when giving up: the next call (a watch's next poll) must still wait it out.
                self.limiter.block(route, retry_after_seconds(response.headers, body), is_global)
                if rate_limited > MAX_RATE_LIMIT_WAITS:
                    raise ApiError(f"Discord kept rate-limiting requests for {what}; try again later")
                continue
            if status == 401:
                raise AuthError(
                    "Discord rejected the token (401 Unauthorized): check it, or get a new one. "
                    "Set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN in .env"
                )
            if status == 403:
                raise AccessError(f"no access to {what}: {_discord_message(body)}")
            if status == 404:
                raise NotFoundError(f"{what} not found: {_discord_message(body)}")
            if status >= 500 and failures < self.settings.MAX_RETRIES:
                self._backoff(failures)
                failures += 1
                continue
            rejected = RequestRejectedError if 400 <= status < 500 else ApiError  # a 4xx will not pass on a retry
            raise rejected(f"Discord answered HTTP {status} for {what}: {_discord_message(body)}")

    def get_channel(self, channel_id: str) -> dict[str, Any]:
        """The channel object for an ID (`GET /channels/{id}`)."""
        return self.api(f"/channels/{channel_id}", what=f"channel {channel_id}")

    def list_guilds(self) -> list[dict[str, Any]]:
        """Every guild the token is in (`GET /users/@me/guilds`, paged by `after`)."""
        guilds: list[dict[str, Any]] = []
        after = "0"
        while True:
            page = self.api("/users/@me/guilds", {"limit": 200, "after": after}, what="your server list")
            guilds.extend(page)
            if len(page) < 200:
                return guilds
            after = page[-1]["id"]

    def list_guild_channels(self, guild_id: str) -> list[dict[str, Any]]:
        """Every channel of a guild (`GET /guilds/{id}/channels`)."""
        return self.api(f"/guilds/{guild_id}/channels", what=f"the channels of server {guild_id}")

    def get_message(self, channel_id: str, message_id: int) -> dict[str, Any] | None:
        """One message with fresh URLs (`around=<id>&limit=1`; user tokens cannot GET a message)."""
        page = self.api(f"/channels/{channel_id}/messages", {"around": str(message_id), "limit": 1}, what=f"message {message_id}")
        return next((message for message in page if int(message["id"]) == message_id), None)

    def refresh_urls(self, urls: list[str]) -> dict[str, str]:
        """Fresh signed URLs for expired attachment links (`POST /attachments/refresh-urls`)."""
        body = self.api("/attachments/refresh-urls", method="POST", json_body={"attachment_urls": urls}, what="expired links")
        return {item["original"]: item["refreshed"] for item in (body or {}).get("refreshed_urls", []) if item.get("refreshed")}

    def iter_thread_search(self, channel_id: str) -> Iterator[dict[str, Any]]:
        """Threads of a channel, most recently active first (`threads/search`, user tokens)."""
        offset = 0
        while offset <= THREAD_SEARCH_MAX_OFFSET:
            params = {"sort_by": "last_message_time", "sort_order": "desc", "limit": THREAD_SEARCH_PAGE, "offset": offset}
            page = self.api(f"/channels/{channel_id}/threads/search", params, what=f"the threads of channel {channel_id}")
            threads = page.get("threads") or []
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
        while True:
            params: dict[str, Any] = {"limit": 100} | ({"before": before} if before else {})
            page = self.api(
                f"/channels/{channel_id}/threads/archived/public", params, what=f"the archived threads of channel {channel_id}"
            )
            threads = page.get("threads") or []
            yield from threads
            if not page.get("has_more") or not threads:
                return
            before = (threads[-1].get("thread_metadata") or {}).get("archive_timestamp")
            if not before:
                return

    def iter_messages(self, channel_id: str, after_snowflake: int, before_snowflake: int | None) -> Iterator[dict[str, Any]]:
        """Messages with after < id < before, oldest first, paged forward with `after`."""
        # A window from the Discord epoch on gives after = -1, which Discord refuses as "not snowflake" (400/50035).
        cursor = max(after_snowflake, 0)
        while True:
            page = self.api(
                f"/channels/{channel_id}/messages",
                {"after": str(cursor), "limit": PAGE_LIMIT},
                what=f"messages of channel {channel_id}",
            )
            if not page:
                return
            # Pages come newest first even when paging with `after` (discord-api.md §2).
            page.sort(key=lambda message: int(message["id"]))
            for message in page:
                if before_snowflake is not None and int(message["id"]) >= before_snowflake:
                    return
                yield message
            if len(page) < PAGE_LIMIT:
                return
            cursor = int(page[-1]["id"])

    # --- CDN ---------------------------------------------------------------------------

    def fetch_to_file(
        self,
        url: str,
        part_path: Path,
        expected_size: int | None,
        cancel: threading.Event | None = None,
        allow_video: bool = False,
    ) -> FetchResult:
        """Stream a picture into `part_path` and check it; retries, then DownloadError."""
        route = f"CDN {urlsplit(url).netloc}"
        failures = 0
        rate_limited = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            self.limiter.acquire(route, is_api=False)
            try:
                return self._fetch_once(url, part_path, expected_size, cancel, allow_video)
            except _RateLimited as limited:
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMIT_WAITS:
                    raise DownloadError("rate-limited by the CDN too many times", 429) from None
                self.limiter.block(route, limited.seconds, is_global=False)
            except _Transient as error:
                part_path.unlink(missing_ok=True)
                if failures >= self.settings.MAX_RETRIES:
                    raise DownloadError(str(error), error.status) from None
                self._backoff(failures)
                failures += 1
            except BaseException:
                part_path.unlink(missing_ok=True)
                raise

    def _fetch_once(
        self, url: str, part_path: Path, expected_size: int | None, cancel: threading.Event | None, allow_video: bool
    ) -> FetchResult:
        status: int | None = None
        written = 0
        try:
            with self.session.get(url, stream=True, timeout=self.settings.REQUEST_TIMEOUT) as response:
                status = response.status_code
                if status == 429:
                    raise _RateLimited(retry_after_seconds(response.headers, _json_or_none(response)))
                if status >= 500 or status == 408:
                    raise _Transient(f"HTTP {status} from {urlsplit(url).netloc}", status)
                if status != 200:
                    expired = b"no longer available" in response.raw.read(200, decode_content=True)
                    raise DownloadError(f"HTTP {status} from {urlsplit(url).netloc}", status, expired=expired)
                declared = response.headers.get("Content-Length")
                extension: str | None = None
                with open(part_path, "wb") as part_file:
                    for chunk in response.iter_content(CHUNK_BYTES):
                        if cancel is not None and cancel.is_set():
                            raise Cancelled()
                        if extension is None:
                            extension = extension_from_magic(chunk[:16], allow_video)
                            if extension is None:
                                kind = response.headers.get("Content-Type", "unknown type")
                                raise _Transient(f"not a picture ({kind}) from {urlsplit(url).netloc}", status)
                        part_file.write(chunk)
                        written += len(chunk)
        except requests.RequestException as error:
            if status is not None:
                raise _Transient(f"connection lost mid-body after {written} bytes", status) from None
            raise _Transient(f"connection failed ({type(error).__name__})", None) from None
        if extension is None:
            raise _Transient("empty body", 200)
        if declared is not None and declared.isdigit() and written != int(declared):
            raise _Transient(f"truncated body ({written} of {declared} bytes)", 200)
        if expected_size is not None and written != expected_size:
            raise _Transient(f"size {written} bytes, Discord announced {expected_size}", 200)
        return FetchResult(size_bytes=written, extension=extension)


class _Transient(Exception):
    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


class _RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds} s")
        self.seconds = seconds
