"""What Discord can answer that ends a request: each a DiscordError (exit 3) with a message for the user."""

from __future__ import annotations

from picextract.errors import ExitCode, PicExtractError


class DiscordError(PicExtractError):
    """Discord refused or failed a request; the message is written for the user."""

    exit_code = ExitCode.DISCORD_REFUSED


class AuthError(DiscordError):
    """401: the token is missing, wrong or revoked."""


class AccessError(DiscordError):
    """403: the token may not see this resource."""


class NotFoundError(DiscordError):
    """404: the channel, guild or message does not exist."""


class ApiError(DiscordError):
    """Any other failure once retries are used up."""


class RequestRejectedError(ApiError):
    """A 4xx other than 401/403/404/429: sending it again would not help (a watch stops on it)."""
