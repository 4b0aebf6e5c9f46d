"""`python -m picextract.fake`: starts, prints where it is and what it accepts, serves, stops on Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
import requests

from picextract.fake.sample import BOT_TOKEN, CHANNEL_ID, CHANNEL_NAME, GUILD_ID, GUILD_NAME, USER_TOKEN, start_demo_server
from tests.conftest import ROOT


def _start(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "picextract.fake", *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def test_serves_the_demo_until_ctrl_c() -> None:
    process = _start()
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in range(5)]
        assert lines[0].startswith("DISCORD_API_BASE=http://127.0.0.1:") and lines[0].endswith("/api/v10")
        assert lines[1:] == [
            f"guild: {GUILD_ID} {GUILD_NAME}",
            f"channel: {CHANNEL_ID} #{CHANNEL_NAME}",
            f"user token: {USER_TOKEN}",
            f"bot token: {BOT_TOKEN}",
        ]
        api_base = lines[0].split("=", 1)[1]
        channel = requests.get(f"{api_base}/channels/{CHANNEL_ID}", headers={"Authorization": USER_TOKEN}, timeout=5)
        assert channel.status_code == 200 and channel.json()["name"] == CHANNEL_NAME
        page = requests.get(
            f"{api_base}/channels/{CHANNEL_ID}/messages", headers={"Authorization": f"Bot {BOT_TOKEN}"}, timeout=5
        )
        assert page.status_code == 200 and len(page.json()) == 50
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 130
    assert "Fake Discord server stopped." in stderr and "Traceback" not in stderr


def test_a_taken_port_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start("--port", str(port))
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2 and stdout == ""
    assert stderr.startswith(f"error: --port {port}: ") and len(stderr.splitlines()) == 1


def test_the_shipped_server_has_none_of_the_tests_extras() -> None:
    """Hostile answers and the control door belong to the tests (`tests/fake_extras/`): the demo server knows neither."""
    server, _ = start_demo_server()
    try:
        with pytest.raises(ValueError, match="api_bomb"):
            server.fail_next("/messages", "api_bomb")
        before = len(server.state.messages[CHANNEL_ID])
        posted = requests.post(f"{server.base_url}/control/messages", json={"channel_id": CHANNEL_ID}, timeout=5)
        assert posted.status_code == 401  # only Discord's API is there, and it wants a token
        assert len(server.state.messages[CHANNEL_ID]) == before
    finally:
        server.stop()
