"""Settings: defaults, environment overrides and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config import API_BASE, ConfigError, Settings, load_settings, read_environment, settings_from_env


def test_defaults() -> None:
    settings = settings_from_env({})
    assert settings == Settings()
    assert (settings.DEFAULT_DAYS, settings.DEFAULT_OUTPUT_DIR, settings.MAX_RETRIES) == (14, "spx-realtime-aws", 3)
    assert (settings.RATE_LIMIT_DELAY, settings.API_BASE, settings.TIMEZONE) == (1, API_BASE, "local")


def test_environment_overrides() -> None:
    settings = settings_from_env(
        {
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
            "MAX_RETRIES": "5",
            "RATE_LIMIT_DELAY": "0.25",
            "DEFAULT_OUTPUT_DIR": "out",
        }
    )
    assert settings.API_BASE == "http://127.0.0.1:9/api/v10"
    assert (settings.MAX_RETRIES, settings.RATE_LIMIT_DELAY, settings.DEFAULT_OUTPUT_DIR) == (5, 0.25, "out")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MAX_RETRIES": "three"}, "MAX_RETRIES='three' is not a int number"),
        ({"RATE_LIMIT_DELAY": "-1"}, "must be at least 0"),
        ({"DEFAULT_DAYS": "0"}, "must be greater than 0"),
        ({"REQUEST_TIMEOUT": "nan"}, "not a finite number"),
        ({"DISCORD_API_BASE": "discord.com/api"}, "must start with http"),
        ({"TIMEZONE": "  "}, "TIMEZONE is set but empty"),
    ],
)
def test_bad_values_are_clear_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        settings_from_env(environ)


def test_env_file_is_read_without_overriding_or_touching_the_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MAX_RETRIES=7\nDEFAULT_OUTPUT_DIR=from-file\nDISCORD_USER_TOKEN=file-token\n")
    before = dict(os.environ)
    environment = read_environment(env_file, {"DEFAULT_OUTPUT_DIR": "from-env"})
    settings = load_settings(environment)
    assert settings.MAX_RETRIES == 7
    assert settings.DEFAULT_OUTPUT_DIR == "from-env"
    assert environment["DISCORD_USER_TOKEN"] == "file-token"
    assert dict(os.environ) == before


def test_values_are_parsed_by_declared_type() -> None:
    settings = settings_from_env({"MAX_WORKERS": "3", "REQUEST_TIMEOUT": "2.5", "TIMEZONE": "UTC"})
    assert (type(settings.MAX_WORKERS), type(settings.REQUEST_TIMEOUT), type(settings.TIMEZONE)) == (int, float, str)
    with pytest.raises(ConfigError, match="is not a int number"):
        settings_from_env({"MAX_WORKERS": "2.5"})
