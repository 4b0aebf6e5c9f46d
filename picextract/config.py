"""Settings for DiscordPicExtract: one frozen dataclass, defaults overridable by environment."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_type_hints

from picextract.errors import UsageError

DEFAULT_DAYS = 14
DEFAULT_OUTPUT_DIR = "spx-realtime-aws"
MAX_RETRIES = 3
RATE_LIMIT_DELAY = 1.0  # seconds between API requests
API_BASE = "https://discord.com/api/v10"  # https://discord.com/developers/docs/reference#api-versioning
REQUEST_TIMEOUT = 30.0
TIMEZONE = "local"
MAX_WORKERS = 8  # parallel downloads with a user token
BOT_MAX_WORKERS = 32  # with a bot token: within 1.3x of the benchmark's bound (README "Speed")
RETRY_BACKOFF = 1.0  # first back-off after a 5xx or dropped connection, doubled each retry
CDN_BASE = "https://cdn.discordapp.com"  # stickers, https://discord.com/developers/docs/reference#image-formatting-cdn-endpoints
MEDIA_BASE = "https://media.discordapp.net"
MAX_DOWNLOAD_BYTES = 200_000_000  # one picture; an endless body or a gzip bomb stops here
MAX_API_BYTES = 8_000_000  # one API answer (a page of 100 messages is well under 1 MB)
DOWNLOAD_DEADLINE = 600.0  # seconds for one whole download, however slowly the bytes drip
MAX_RATE_LIMIT_WAIT = 600.0  # a rate-limit wait longer than this stops the channel instead
APP_FOLDER = "discordpicextract"  # its folder in the user's config folder: ~/.config/discordpicextract/.env


class ConfigError(UsageError):
    """A setting has a value we cannot use; `variable` names it."""

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


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
    MAX_DOWNLOAD_BYTES: int = MAX_DOWNLOAD_BYTES
    MAX_API_BYTES: int = MAX_API_BYTES
    DOWNLOAD_DEADLINE: float = DOWNLOAD_DEADLINE
    MAX_RATE_LIMIT_WAIT: float = MAX_RATE_LIMIT_WAIT


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
    "MAX_DOWNLOAD_BYTES": 1,
    "MAX_API_BYTES": 1,
    "DOWNLOAD_DEADLINE": 0.0,
    "MAX_RATE_LIMIT_WAIT": 0.0,
}
_POSITIVE = {"DEFAULT_DAYS", "REQUEST_TIMEOUT", "DOWNLOAD_DEADLINE"}


def _parse_value(name: str, kind: type, raw: str) -> object:
    """Convert one environment string to the field's declared type, or raise ConfigError."""
    env_name = ENV_NAMES.get(name, name)
    text = raw.strip()
    if kind is str:
        if not text:
            raise ConfigError(f"{env_name} is set but empty", env_name)
        return text
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{env_name}={raw!r} is not a {kind.__name__} number", env_name) from None
    minimum = _MINIMUMS.get(name)
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{env_name}={raw!r} is not a finite number", env_name)
    if minimum is not None and (value < minimum or (name in _POSITIVE and value <= 0)):
        bound = "greater than 0" if name in _POSITIVE else f"at least {minimum}"
        raise ConfigError(f"{env_name}={raw!r} must be {bound}", env_name)
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
        raise ConfigError(f"DISCORD_API_BASE={api_base!r} must start with http:// or https://", "DISCORD_API_BASE")
    overrides["API_BASE"] = api_base.rstrip("/")
    for name in ("CDN_BASE", "MEDIA_BASE"):
        if name in overrides:
            overrides[name] = str(overrides[name]).rstrip("/")
    return Settings(**overrides)  # type: ignore[arg-type]


def user_config_dir(environ: Mapping[str, str]) -> Path:
    """This tool's folder among the user's settings: $XDG_CONFIG_HOME, %APPDATA% on Windows, else ~/.config."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    # https://specifications.freedesktop.org/basedir-spec/latest/: a relative path is invalid and ignored.
    base = xdg if Path(xdg).is_absolute() else environ.get("APPDATA") or str(Path.home() / ".config")
    return Path(base) / APP_FOLDER


def env_file_places(cwd: Path, environ: Mapping[str, str] = os.environ) -> tuple[Path, ...]:
    """Where `.env` is looked for, in order: the working directory, then the user's config folder."""
    return cwd / ".env", user_config_dir(environ) / ".env"


def find_env_file(explicit: Path | None, places: Iterable[Path]) -> Path | None:
    """`--env-file` when given (it must exist); else the first of `places` that is a file."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"--env-file {explicit}: no such file")
        return explicit
    return next((place for place in places if place.is_file()), None)


def read_env_file(env_file: Path | None) -> dict[str, str]:
    """The values of a `.env` file (read, never written into os.environ); {} without one."""
    if env_file is None or not env_file.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        return {key: value for key, value in dotenv_values(env_file).items() if value is not None}
    except (OSError, UnicodeDecodeError) as problem:
        raise ConfigError(f"cannot read {env_file}: {problem}") from None


def read_environment(env_file: Path | None = Path(".env"), environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The process environment over the values of `.env` (which is read, never written into os.environ)."""
    return {**read_env_file(env_file), **environ}


def source_of(variable: str, env_file: Path | None, environ: Mapping[str, str] = os.environ) -> str:
    """Where a variable's value came from, for messages: `X in /path/.env` or `X in the environment`."""
    if env_file is not None and variable not in environ:
        return f"{variable} in {env_file}"
    return f"{variable} in the environment"


def load_settings(environment: Mapping[str, str]) -> Settings:
    """Settings from an environment built by read_environment (environment > .env > defaults)."""
    return settings_from_env(environment)


def settings_for_help(env_file: Path | None) -> Settings:
    """The defaults `--help` shows: the environment's and `env_file`'s when usable, else config.py's (help always works)."""
    try:
        return load_settings(read_environment(env_file))
    except ConfigError:
        return Settings()
