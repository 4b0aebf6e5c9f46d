"""Concurrent saving: a bounded queue between paging and downloads, streaming bodies."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.download.options import RunOptions
from picextract.fake.sample import CHANNEL_ID, CHANNEL_NAME, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from tests.conftest import ROOT, program_env

UTC = timezone.utc


def test_paging_waits_for_downloads_queue_is_bounded(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(days=1)
    for n in range(800):  # pictures in the first page only
        pictures = [factory.attachment(f"p{n}.png", make_picture(n, size=(60, 60)))] if n < 100 else []
        factory.message(posted + timedelta(seconds=n), "", pictures)
    server.state.latency_seconds = 0.01
    client = DiscordClient(USER_TOKEN, settings)
    downloader = DiscordDownloader(client, tmp_path, RunOptions(UTC, workers=2))
    seen_pages_at_cdn: list[tuple[int, int]] = []
    sampler_done = threading.Event()

    def sample() -> None:
        while not sampler_done.is_set():
            seen_pages_at_cdn.append((len(server.cdn_requests()), len(server.api_requests("/messages"))))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        summary = downloader.run(ChannelInfo(CHANNEL_ID, CHANNEL_NAME), posted - timedelta(minutes=1))
    finally:
        sampler_done.set()
        sampler.join()
        client.close()
    assert summary.downloaded == 100
    # While the first page's pictures download, paging stays at most two pages ahead
    # (PREFETCH_MESSAGES) plus the page in hand: memory does not grow with the channel.
    busy = [pages for cdn, pages in seen_pages_at_cdn if 0 < cdn < 90]
    assert busy and max(busy) <= 4
    assert len(server.api_requests("/messages")) == 9


def test_fifty_megabyte_picture_streams_without_sitting_in_memory(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(50 * 1024 * 1024)
    factory.message(datetime.now(UTC) - timedelta(hours=1), "", [factory.attachment("huge.png", big)])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    peak_file = tmp_path / "peak"
    command = [
        sys.executable,
        str(ROOT / "tests" / "peak_rss.py"),
        str(peak_file),
        str(ROOT / "main.py"),
        "--channel",
        CHANNEL_ID,
        "--output",
        "o",
    ]
    assert (
        subprocess.run(command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, timeout=60).returncode == 0
    )
    (saved,) = (tmp_path / "o").glob("*huge.png")
    assert saved.stat().st_size == len(big)
    assert int(peak_file.read_text()) < 75 * 1024  # KB: interpreter and libraries, far from the 50 MB body
