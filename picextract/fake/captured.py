"""Captured real Discord messages (`../shared/discord_fixtures/`) served as messages of a fake channel.

Each payload keeps its ids, timestamps and fields; only its URLs move onto the fake server (Discord's
CDN to `/cdn/`, the media proxy to `/media/`, any other host to `/ext/<host>/...`), where a small
file of the right kind is hosted, and signed attachment URLs are signed afresh as the API does on
every read (https://docs.discord.food/reference#signed-attachment-urls).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

if TYPE_CHECKING:
    from picextract.fake.server import FakeDiscord

SHARED_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "discord_fixtures"
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:/[^\s\"<>)\]]*)?")
_HOST_PREFIX = {"cdn.discordapp.com": "cdn", "media.discordapp.net": "media"}
_PICTURE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}
_GATEWAY_ONLY = ("member", "guild_id", "_comment")  # gateway events carry these; REST answers do not


def captured_files(directory: Path = SHARED_FIXTURES) -> list[Path]:
    """The captured message payloads (the CONSTRUCTED ones are not captures, so they stay out)."""
    return sorted(path for path in directory.glob("message*.json") if "CONSTRUCTED" not in path.name)


def load_captured(directory: Path = SHARED_FIXTURES) -> list[dict[str, Any]]:
    """Every captured message, oldest first."""
    messages: list[dict[str, Any]] = []
    for path in captured_files(directory):
        payload = json.loads(path.read_text(encoding="utf-8"))
        messages.extend(payload if isinstance(payload, list) else [payload])
    return sorted(messages, key=lambda message: int(message["id"]))


def _hosted_bytes(key: str) -> tuple[bytes, str]:
    """A small file of the kind the path names: a picture, a video or a web page."""
    from picextract.fake.sample import make_picture

    extension = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    if extension in _PICTURE_FORMATS:
        image_format = _PICTURE_FORMATS[extension]
        return make_picture(seed, image_format), f"image/{image_format.lower()}"
    if extension in ("mp4", "webm", "mov"):
        return b"\x00\x00\x00\x18ftypmp42" + seed.to_bytes(4, "big") + b"\x00" * 32, "video/mp4"
    return b"<!DOCTYPE html><html><body>captured link</body></html>", "text/html; charset=utf-8"


def _key_of(url: str) -> str:
    """Where the fake server stores the file of a captured URL."""
    parts = urlsplit(url)
    return unquote(parts.path.lstrip("/")) if parts.hostname in _HOST_PREFIX else f"{parts.hostname}{unquote(parts.path)}"


def _moved_url(server: FakeDiscord, url: str) -> str:
    """The fake server's twin of a URL from a captured payload, with its file hosted there."""
    parts = urlsplit(url)
    prefix = _HOST_PREFIX.get(parts.hostname or "")
    key = _key_of(url)
    if key not in server.state.files:
        data, content_type = _hosted_bytes(key)
        server.add_file(key, data, content_type, signed=False)
    if prefix and "hm" in parse_qs(parts.query):
        return server.sign(key, server.now() + 86400).replace("/cdn/", f"/{prefix}/", 1)
    query = f"?{parts.query}" if parts.query else ""
    return f"{server.base_url}/{prefix or 'ext'}/{quote(key)}{query}"


def _moved(server: FakeDiscord, value: Any, renames: dict[str, str]) -> Any:
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


def add_captured_messages(server: FakeDiscord, channel_id: str, directory: Path = SHARED_FIXTURES) -> list[dict[str, Any]]:
    """Serve every captured message in `channel_id` (none when the fixtures are not present); returns them."""
    channel = server.state.channels[channel_id]
    added = []
    for captured in load_captured(directory) if directory.is_dir() else []:
        renames = {captured["channel_id"]: channel_id}
        message = _moved(server, {k: v for k, v in captured.items() if k not in _GATEWAY_ONLY}, renames)
        reference = message.get("message_reference")
        if reference and reference.get("channel_id") == channel_id:
            reference["guild_id"] = channel.get("guild_id")
        server.add_message(message)
        added.append(message)
    return added
