"""Pure URL rules: signatures dropped, one percent-encoding, names from URLs, links in text, Discord's hosts."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from picextract.pictures.media import PICTURE_EXTENSIONS, extension_of

SIGNATURE_PARAMS = frozenset({"ex", "is", "hm"})  # https://discord.com/developers/docs/reference#signed-attachment-cdn-urls
_LINK = re.compile(r"https?://[^\s<>\"'`|\]]+", re.IGNORECASE)


def normalize_url(url: str) -> str:
    """The URL without Discord's expiring signature parameters (`ex`, `is`, `hm`), its path
    percent-encoded one way (a non-ASCII link and its encoded embed are one URL)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in SIGNATURE_PARAMS]
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def name_from_url(url: str) -> str:
    """The last path segment of a URL, percent-decoded ('' when there is none)."""
    return unquote(PurePosixPath(urlsplit(url).path).name)


def picture_name_from_url(url: str) -> str:
    """The URL's file name, with the extension a media-proxy `format=` asks for (`chart.png?format=webp` -> `chart.webp`)."""
    name = name_from_url(url)
    wanted = dict(parse_qsl(urlsplit(url).query)).get("format", "").lower()
    if f".{wanted}" in PICTURE_EXTENSIONS:
        stem = name[: -len(extension_of(name))] if extension_of(name) else name
        return f"{stem}.{wanted}"
    return name


def is_discord_host(url: str) -> bool:
    """True for Discord's own hosts (discord.com, discordapp.com, discordapp.net and their subdomains)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith(f".{domain}") for domain in ("discord.com", "discordapp.com", "discordapp.net"))


def is_emoji_url(url: str) -> bool:
    """A custom emoji on Discord's CDN (`/emojis/<id>.png`), not a picture of the channel."""
    return is_discord_host(url) and urlsplit(url).path.startswith("/emojis/")


def links_in_text(content: str) -> list[str]:
    """The http(s) links of a message text; parentheses inside a link are kept, an unbalanced closing one is not."""
    links = []
    for match in _LINK.finditer(content):
        url = match.group(0).rstrip(".,;:!>*_~")
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(".,;:!>*_~")
        links.append(url)
    return links


def signed_url_expired(url: str, now_epoch_seconds: float) -> bool:
    """True when a signed CDN URL's `ex` (hex Unix seconds) has passed.

    https://discord.com/developers/docs/reference#signed-attachment-cdn-urls
    """
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "ex":
            try:
                return int(value, 16) < now_epoch_seconds
            except ValueError:
                return False
    return False
