"""Settings for DiscordPicExtract: one frozen dataclass, defaults overridable by environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_type_hints

from picextract.errors import UsageError

DEFAULT_DAYS = 14
DEFAULT_OUTPUT_DIR = "spx-realtime-aws"
MAX_RETRIES = 3
RATE_LIMIT_DELAY = 1.0  # seconds between API requests
API_BASE = "https://discord.com/api/v10"  # discord-api.md §7
REQUEST_TIMEOUT = 30.0
TIMEZONE = "local"
MAX_WORKERS = 8  # parallel downloads with a user token
BOT_MAX_WORKERS = 32  # with a bot token: within 1.3x of the benchmark's bound (README "Speed")
RETRY_BACKOFF = 1.0  # first back-off after a 5xx or dropped connection, doubled each retry
CDN_BASE = "https://cdn.discordapp.com"  # stickers, discord-api.md §4
MEDIA_BASE = "https://media.discordapp.net"


class ConfigError(UsageError):
    """A setting has a value we cannot use."""


@dataclass(frozen=True)
class Settings:
    """Every tunable of the tool; environment variables of the same name override them."""

    DEFAULT_DAYS: float = DEFAULT_DAYS
    DEFAULT_OUTPUT_DIR: str = DEFAULT_OUTPUT_DIR
    MAX_RETRIES: int = MAX_RETRIES
    RATE_LIMIT_DELAY: float = RATE_LIMIT_DELAY
    API_BASE: str = API_BASE
    REQUEST_TIMEOUT: float = REQUEST_TIMEOUT
    TIMEZONE: str = TIMEZONE
    MAX_WORKERS: int = MAX_WORKERS
    BOT_MAX_WORKERS: int = BOT_MAX_WORKERS
    RETRY_BACKOFF: float = RETRY_BACKOFF
    CDN_BASE: str = CDN_BASE
    MEDIA_BASE: str = MEDIA_BASE


# The API root is the one setting whose variable carries a prefix: it is a public interface.
ENV_NAMES = {"API_BASE": "DISCORD_API_BASE", "CDN_BASE": "DISCORD_CDN_BASE", "MEDIA_BASE": "DISCORD_MEDIA_BASE"}
_MINIMUMS = {
    "DEFAULT_DAYS": 0.0,
    "MAX_RETRIES": 0,
    "RATE_LIMIT_DELAY": 0.0,
    "REQUEST_TIMEOUT": 0.0,
    "MAX_WORKERS": 1,
    "BOT_MAX_WORKERS": 1,
    "RETRY_BACKOFF": 0.0,
}
_POSITIVE = {"DEFAULT_DAYS", "REQUEST_TIMEOUT"}


def _parse_value(name: str, kind: type, raw: str) -> object:
    """Convert one environment string to the field's declared type, or raise ConfigError."""
    env_name = ENV_NAMES.get(name, name)
    text = raw.strip()
    if kind is str:
        if not text:
            raise ConfigError(f"{env_name} is set but empty")
        return text
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{env_name}={raw!r} is not a {kind.__name__} number") from None
    minimum = _MINIMUMS.get(name)
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{env_name}={raw!r} is not a finite number")
    if minimum is not None and (value < minimum or (name in _POSITIVE and value <= 0)):
        bound = "greater than 0" if name in _POSITIVE else f"at least {minimum}"
        raise ConfigError(f"{env_name}={raw!r} must be {bound}")
    return value


_FIELD_TYPES: dict[str, type] = get_type_hints(Settings)


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """Build Settings from the given environment mapping (pure: no file or os access)."""
    overrides: dict[str, object] = {}
    for field in fields(Settings):
        env_name = ENV_NAMES.get(field.name, field.name)
        if env_name in environ:
            overrides[field.name] = _parse_value(field.name, _FIELD_TYPES[field.name], environ[env_name])
    api_base = str(overrides.get("API_BASE", API_BASE))
    if not api_base.startswith(("http://", "https://")):
        raise ConfigError(f"DISCORD_API_BASE={api_base!r} must start with http:// or https://")
    overrides["API_BASE"] = api_base.rstrip("/")
    for name in ("CDN_BASE", "MEDIA_BASE"):
        if name in overrides:
            overrides[name] = str(overrides[name]).rstrip("/")
    return Settings(**overrides)  # type: ignore[arg-type]


def read_environment(env_file: Path | None = Path(".env"), environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The process environment over the values of `.env` (which is read, never written into os.environ)."""
    from_file: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        from_file = {key: value for key, value in dotenv_values(env_file).items() if value is not None}
    return {**from_file, **environ}


def load_settings(environment: Mapping[str, str]) -> Settings:
    """Settings from an environment built by read_environment (environment > .env > defaults)."""
    return settings_from_env(environment)
