"""Captured real Discord messages (`payloads/`, provenance in its README) served as messages of a fake channel.

Each payload keeps its ids, timestamps and fields; only its URLs move onto the fake server (Discord's
CDN to `/cdn/`, the media proxy to `/media/`, any other host to `/ext/<host>/...`), where a small
file of the right kind is hosted, and signed attachment URLs are signed afresh as the API does on
every read (https://docs.discord.food/reference#signed-attachment-urls).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from picextract.fake.data import DiscordData
from picextract.fake.media import stand_in

PAYLOADS = Path(__file__).parent / "payloads"  # plain JSON files shipped inside the package
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:/[^\s\"<>)\]]*)?")
_HOST_PREFIX = {"cdn.discordapp.com": "cdn", "media.discordapp.net": "media"}
_GATEWAY_ONLY = ("member", "guild_id", "_comment")  # gateway events carry these; REST answers do not


def load_captured(directory: Path = PAYLOADS) -> list[dict[str, Any]]:
    """Every captured message (a file holds one message or a page of them), oldest first."""
    messages: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        messages.extend(payload if isinstance(payload, list) else [payload])
    return sorted(messages, key=lambda message: int(message["id"]))


def _key_of(url: str) -> str:
    """Where the fake server stores the file of a captured URL."""
    parts = urlsplit(url)
    return unquote(parts.path.lstrip("/")) if parts.hostname in _HOST_PREFIX else f"{parts.hostname}{unquote(parts.path)}"


def _moved_url(server: DiscordData, url: str) -> str:
    """The fake server's twin of a URL from a captured payload, with its file hosted there."""
    parts = urlsplit(url)
    prefix = _HOST_PREFIX.get(parts.hostname or "")
    key = _key_of(url)
    if key not in server.state.files:
        data, content_type = stand_in(key)
        server.add_file(key, data, content_type, signed=False)
    if prefix and "hm" in parse_qs(parts.query):
        return server.sign(key, server.now() + 86400).replace("/cdn/", f"/{prefix}/", 1)
    query = f"?{parts.query}" if parts.query else ""
    return f"{server.base_url}/{prefix or 'ext'}/{quote(key)}{query}"


def _moved(server: DiscordData, value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, dict):
        moved = {key: _moved(server, item, renames) for key, item in value.items()}
        if isinstance(value.get("url"), str) and isinstance(value.get("proxy_url"), str) and _URL.fullmatch(value["url"]):
            # The media proxy serves Discord's cached copy of `url`: the same bytes.
            server.state.files[_key_of(value["proxy_url"])] = server.state.files[_key_of(value["url"])]
        return moved
    if isinstance(value, list):
        return [_moved(server, item, renames) for item in value]
    if isinstance(value, str):
        if value in renames:
            return renames[value]
        return _URL.sub(lambda match: _moved_url(server, match.group(0)), value)
    return value


def add_captured_messages(server: DiscordData, channel_id: str, directory: Path = PAYLOADS) -> list[dict[str, Any]]:
    """Serve every captured message in `channel_id`; returns them."""
    channel = server.state.channels[channel_id]
    added = []
    for captured in load_captured(directory):
        renames = {captured["channel_id"]: channel_id}
        message = _moved(server, {k: v for k, v in captured.items() if k not in _GATEWAY_ONLY}, renames)
        reference = message.get("message_reference")
        if reference and reference.get("channel_id") == channel_id:
            reference["guild_id"] = channel.get("guild_id")
        server.add_message(message)
        added.append(message)
    return added
