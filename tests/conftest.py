"""Shared fixtures: a running fake Discord server and helpers to run the real program."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from config import Settings
from picextract.fake.server import FakeDiscord
from picextract.store.layout import GALLERY_FILE_NAME, INDEX_FILE_NAME
from tests.fake_extras import routes_for_tests

ROOT = Path(__file__).resolve().parent.parent
NOT_PICTURES = frozenset({INDEX_FILE_NAME, GALLERY_FILE_NAME})  # what an output folder holds besides pictures


@pytest.fixture(autouse=True, scope="session")
def _no_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Programs the tests start never read the developer's own ~/.config/discordpicextract/.env (its token, its settings)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))
        yield


@pytest.fixture
def server() -> Iterator[FakeDiscord]:
    """A fake Discord with the tests' extras: hostile faults and `POST /control/messages` (`tests/fake_extras/`)."""
    with FakeDiscord(bucket_limit=5, bucket_window_seconds=0.05, routes=routes_for_tests()) as fake:
        yield fake


@pytest.fixture
def settings(server: FakeDiscord) -> Settings:
    return Settings(API_BASE=server.api_base, RATE_LIMIT_DELAY=0.0, RETRY_BACKOFF=0.001, REQUEST_TIMEOUT=5.0, MAX_RETRIES=3)


def program_env(server: FakeDiscord, **extra: str) -> dict[str, str]:
    """The environment for running main.py against the fake server (no real tokens leak in)."""
    settings_names = {field.name for field in fields(Settings)}
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_") and key not in settings_names}
    env.update(
        DISCORD_API_BASE=server.api_base,
        RATE_LIMIT_DELAY="0",
        RETRY_BACKOFF="0.001",
        REQUEST_TIMEOUT="5",
        PYTHONPATH=str(ROOT),
        TZ="UTC",
    )
    env.update(extra)
    return env


def run_main(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python main.py` as a user would, stdin not a terminal."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def copy_product(target: Path) -> None:
    """The repository as a user might have it: every tracked file except tests/."""
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        if name.startswith(("tests/", ".")) or not (ROOT / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)


def saved_pictures(folder: Path) -> dict[str, bytes]:
    """The pictures of an output folder by file name: not the index, the gallery page or hidden files."""
    if not folder.exists():
        return {}
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name not in NOT_PICTURES
    }
