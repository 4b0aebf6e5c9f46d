"""Tokens as people paste them: quotes, spaces, newlines and a stray `Bot ` prefix cleaned; the rest refused."""

from __future__ import annotations

import re

from picextract.errors import UsageError

_QUOTES = "\"'`\u201c\u201d\u2018\u2019"
# What a header value may hold (RFC 9110 §5.5, visible ASCII); tokens are base64 pieces and dots.
_TOKEN_CHARS = re.compile(r"[!-~]+")


def _unwrap(text: str) -> str:
    """Strip whitespace and one pair of surrounding quotes, repeatedly."""
    while True:
        stripped = text.strip()
        if len(stripped) >= 2 and stripped[0] in _QUOTES and stripped[-1] in _QUOTES:
            stripped = stripped[1:-1]
        if stripped == text:
            return text
        text = stripped


def clean_authorization(value: str) -> str:
    """The Authorization header for a pasted token: `Bot <token>` or the user token; UsageError when unusable.

    The message never contains the token itself.
    """
    text = _unwrap(value)
    prefix = ""
    if text[:4].casefold() == "bot ":
        prefix, text = "Bot ", _unwrap(text[4:])
        if text[:4].casefold() == "bot ":  # `Bot ` pasted into DISCORD_BOT_TOKEN gets a second one
            text = _unwrap(text[4:])
    if not text:
        raise UsageError("the token is empty: set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN")
    if not _TOKEN_CHARS.fullmatch(text):
        position = next(index for index, char in enumerate(text, 1) if not _TOKEN_CHARS.fullmatch(char))
        raise UsageError(
            f"the token has a character that cannot be sent (a space, control or non-ASCII character at position {position}); copy it again"
        )
    return prefix + text
