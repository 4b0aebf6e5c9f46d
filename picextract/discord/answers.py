"""What one Discord API answer means: its JSON, a wait, a retry, or one of our errors."""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from picextract.discord.errors import AccessError, ApiError, AuthError, NotFoundError, RequestRejectedError
from picextract.discord.rate_limits import retry_after_seconds
from picextract.discord.transfer import RateLimited, Retryable

SEARCH_NOT_READY = 110000  # 202 "Index not yet available", https://docs.discord.food/resources/channel#search-threads


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    return value


def decode_json(raw: bytes) -> Any:
    """An answer's JSON (None when it is not JSON); a lone surrogate (`"\\ud83d"` without its pair)
    becomes U+FFFD, so every text has a UTF-8 form for names, the index and the state file."""
    try:
        decoded = json.loads(raw)
        # JSON may escape half of a UTF-16 pair on its own (RFC 8259 section 8.2); only then is the walk needed.
        return _without_surrogates(decoded) if re.search(rb"\\u[dD][89a-fA-F]", raw) else decoded
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python reads
        return None


def api_outcome(response: requests.Response, body: Any, what: str) -> Any:
    """The JSON of a 200; RateLimited for 429 and 202 "not ready"; Retryable for 5xx; our error otherwise."""
    status = response.status_code
    if status == 200:
        if body is None:
            raise ApiError(f"Discord sent a response that is not JSON for {what}")
        return body
    if status == 202 and isinstance(body, dict) and body.get("code") == SEARCH_NOT_READY:
        # The search index is still being built: wait as asked (https://docs.discord.food/resources/channel#search-threads).
        raise RateLimited(retry_after_seconds(response.headers, body), block=False)
    if status == 429:
        is_global = bool(isinstance(body, dict) and body.get("global")) or (
            response.headers.get("X-RateLimit-Global", "").lower() == "true"
        )
        raise RateLimited(retry_after_seconds(response.headers, body), is_global=is_global)
    if status == 401:
        raise AuthError(
            "Discord rejected the token (401 Unauthorized): check it, or get a new one. "
            "Set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN in .env"
        )
    if status == 403:
        raise AccessError(f"no access to {what}: {discord_message(body)}")
    if status == 404:
        raise NotFoundError(f"{what} not found: {discord_message(body)}")
    if status >= 500:
        raise Retryable(f"Discord answered HTTP {status} for {what}: {discord_message(body)}", status)
    rejected = RequestRejectedError if 400 <= status < 500 else ApiError  # a 4xx will not pass on a retry
    raise rejected(f"Discord answered HTTP {status} for {what}: {discord_message(body)}")


def discord_message(body: Any) -> str:
    """Discord's own words from an error body ("message (code N)"), for the user."""
    if isinstance(body, dict) and body.get("message"):
        code = body.get("code")
        return f"{body['message']} (code {code})" if code is not None else str(body["message"])
    return "no details"
