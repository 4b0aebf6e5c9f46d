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
from pictures import image_extension_from_magic

USER_AGENT = "DiscordBot (https://github.com/discordpicextract/discordpicextract, 1.0)"
PAGE_LIMIT = 100  # the most Get Channel Messages returns, discord-api.md §2
MAX_RATE_LIMIT_WAITS = 10  # 429s tolerated for one call before we give up
CHUNK_BYTES = 64 * 1024


class DiscordError(Exception):
    """Discord refused or failed a request; the message is written for the user."""


class AuthError(DiscordError):
    """401: the token is missing, wrong or revoked."""


class AccessError(DiscordError):
    """403: the token may not see this resource."""


class NotFoundError(DiscordError):
    """404: the channel, guild or message does not exist."""


class ApiError(DiscordError):
    """Any other failure once retries are used up."""


class DownloadError(Exception):
    """One picture could not be fetched; the run goes on."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Cancelled(Exception):
    """The run was interrupted while a body was streaming."""


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
        self.limiter = RateLimiter(settings.RATE_LIMIT_DELAY, clock=clock, sleep=sleep)
        self.api_calls = 0

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def _backoff(self, attempt: int) -> None:
        self._sleep(self.settings.RETRY_BACKOFF * (2**attempt))

    # --- API ---------------------------------------------------------------------------

    def api(self, path: str, params: Mapping[str, Any] | None = None, *, what: str = "") -> Any:
        """GET an API path and return its JSON; the only way this program calls the API."""
        url = f"{self.settings.API_BASE}{path}"
        route = f"GET {path}"
        what = what or path
        failures = 0
        rate_limited = 0
        while True:
            self.limiter.acquire(route, is_api=True)
            self.api_calls += 1
            try:
                response = self.session.get(
                    url,
                    params=params,
                    headers={"Authorization": self._authorization},
                    timeout=self.settings.REQUEST_TIMEOUT,
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
            if status == 429:
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMIT_WAITS:
                    raise ApiError(f"Discord kept rate-limiting requests for {what}; try again later")
                is_global = bool(isinstance(body, dict) and body.get("global")) or (
                    response.headers.get("X-RateLimit-Global", "").lower() == "true"
                )
                self.limiter.block(route, retry_after_seconds(response.headers, body), is_global)
                continue
            if status == 401:
                raise AuthError("Discord rejected the token (401 Unauthorized): check it, or get a new one")
            if status == 403:
                raise AccessError(f"no access to {what}: {_discord_message(body)}")
            if status == 404:
                raise NotFoundError(f"{what} not found: {_discord_message(body)}")
            if status >= 500 and failures < self.settings.MAX_RETRIES:
                self._backoff(failures)
                failures += 1
                continue
            raise ApiError(f"Discord answered HTTP {status} for {what}: {_discord_message(body)}")

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

    def iter_messages(self, channel_id: str, after_snowflake: int, before_snowflake: int | None) -> Iterator[dict[str, Any]]:
        """Messages with after < id < before, oldest first, paged forward with `after`."""
        cursor = after_snowflake
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
                return self._fetch_once(url, part_path, expected_size, cancel)
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

    def _fetch_once(self, url: str, part_path: Path, expected_size: int | None, cancel: threading.Event | None) -> FetchResult:
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
                    raise DownloadError(f"HTTP {status} from {urlsplit(url).netloc}", status)
                declared = response.headers.get("Content-Length")
                extension: str | None = None
                with open(part_path, "wb") as part_file:
                    for chunk in response.iter_content(CHUNK_BYTES):
                        if cancel is not None and cancel.is_set():
                            raise Cancelled()
                        if extension is None:
                            extension = image_extension_from_magic(chunk[:16])
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
