"""Two clients written by other people against the real Discord, run unchanged against the fake server.

discord.py (REST only) is pointed at it the way its users do (`discord.http.Route.BASE`, a class
attribute). gallery-dl has no setting for its API root, so it reaches the server as `discord.com`
through its `proxy` option: the fake server answers the proxy's CONNECT and speaks TLS inside with a
throwaway certificate (`verify: false`). Both talk to it over real sockets.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest
from PIL import Image

from picextract.discord.client import DiscordClient
from picextract.fake.sample import (
    BOT_TOKEN,
    CHANNEL_ID,
    CHANNEL_NAME,
    GUILD_ID,
    GUILD_NAME,
    USER_TOKEN,
    add_demo_channels,
    build_sample_channel,
)
from picextract.fake.server import FakeDiscord
from picextract.store.layout import INDEX_FILE_NAME
from tests.conftest import program_env, run_main

IS_COMPONENTS_V2 = 1 << 15


@pytest.fixture(scope="module")
def demo() -> Iterator[FakeDiscord]:
    """The demo guild of `python -m picextract.fake`, captured real messages included."""
    with FakeDiscord() as server:
        now = datetime.now(UTC)
        build_sample_channel(server, now, count=120)
        add_demo_channels(server, now)
        yield server


# --- discord.py -----------------------------------------------------------------------------


async def _read_with_discord_py(server: FakeDiscord) -> dict[str, object]:
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(BOT_TOKEN)  # GET /users/@me, then /oauth2/applications/@me
        guild = await client.fetch_guild(int(GUILD_ID))
        channels = await guild.fetch_channels()
        channel = await client.fetch_channel(int(CHANNEL_ID))
        assert isinstance(channel, discord.TextChannel)
        server.force_429(1, retry_after=0.01)  # discord.py reads a 429 without Discord's `Via` as a Cloudflare ban
        history = [message async for message in channel.history(limit=None)]
        found = {"user": client.user, "application_id": client.application_id, "guild": guild, "channels": channels}
        return found | {"channel": channel, "history": history}
    finally:
        await client.close()


def test_discord_py_reads_the_whole_demo_channel(demo: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", demo.api_base)
    read = asyncio.run(_read_with_discord_py(demo))
    assert str(read["user"]) == "picfan" and read["application_id"] == 1100000000000000900
    assert read["guild"].name == GUILD_NAME  # type: ignore[attr-defined]
    kinds = {channel.name: type(channel).__name__ for channel in read["channels"]}  # type: ignore[attr-defined]
    assert kinds == {
        CHANNEL_NAME: "TextChannel",
        "announcements": "TextChannel",
        "chart-forum": "ForumChannel",
        "chart-gallery": "ForumChannel",
    }
    assert read["channel"].name == CHANNEL_NAME  # type: ignore[attr-defined]
    stored = demo.state.messages[CHANNEL_ID]
    history: list[discord.Message] = read["history"]  # type: ignore[assignment]
    assert [message.id for message in history] == [int(m["id"]) for m in reversed(stored)]  # every message parsed
    assert sum(len(m.attachments) for m in history) == sum(len(m.get("attachments", [])) for m in stored)
    assert sum(len(m.message_snapshots) for m in history) == sum(len(m.get("message_snapshots", [])) for m in stored)
    assert sum(len(s.attachments) for m in history for s in m.message_snapshots) >= 10
    replies = [m for m in history if m.type == discord.MessageType.reply]
    assert replies and all(m.reference is not None and m.reference.channel_id == int(CHANNEL_ID) for m in replies)
    pictures = [a for m in history for a in m.attachments if a.content_type and a.content_type.startswith("image/")]
    assert pictures and all(a.width and a.height for a in pictures)
    assert len(demo.api_requests("/channels/1100000000000000002/messages")) >= 3


# --- gallery-dl against main.py ---------------------------------------------------------------


def _certificate(folder: Path) -> tuple[str, str]:
    """A throwaway self-signed certificate for discord.com."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-subj", "/CN=discord.com", "-days", "1"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def _pictures(folder: Path) -> dict[str, str]:
    """sha256 -> file name of every picture in a folder (anything Pillow opens)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        try:
            with Image.open(io.BytesIO(path.read_bytes())) as image:
                image.verify()
        except Exception:
            continue
        found[hashlib.sha256(path.read_bytes()).hexdigest()] = path.name
    return found


def _gallery_dl(server: FakeDiscord, folder: Path) -> subprocess.CompletedProcess[str]:
    cert, key = _certificate(folder)
    server.serve_tls_tunnel(cert, key)
    config = {
        "cache": {"file": None},
        "extractor": {
            "proxy": {"https": server.base_url},
            "verify": False,
            # main.py saves the images of image and rich embeds; link-preview (article) thumbnails only with --include thumbnails.
            "discord": {"token": USER_TOKEN, "embeds": ["image", "rich"], "threads": True},
        },
    }
    (folder / "gallery-dl.json").write_text(json.dumps(config), encoding="utf-8")
    url = f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}"
    command = [sys.executable, "-m", "gallery_dl", "--config-ignore", "-c", str(folder / "gallery-dl.json")]
    return subprocess.run([*command, "-D", str(folder / "out"), url], capture_output=True, text=True, timeout=120)


def _main_py(server: FakeDiscord, folder: Path, *kinds: str) -> dict[str, str]:
    """Run main.py over the channel's whole history; returns sha256 -> message id of what it saved."""
    args = ["--channel", CHANNEL_ID, "--since", "2015-01-01", "--timezone", "UTC", "--output", "out", "--no-input", *kinds]
    folder.mkdir()
    result = run_main([*args, "--no-gallery"], program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), folder)
    assert result.returncode == 0, result.stderr
    rows = {row["file"]: row["message_id"] for row in csv.DictReader((folder / "out" / INDEX_FILE_NAME).open(encoding="utf-8"))}
    return {sha: rows[name] for sha, name in _pictures(folder / "out").items()}


def test_gallery_dl_saves_the_pictures_main_py_saves(demo: FakeDiscord, tmp_path: Path) -> None:
    gallery = _gallery_dl(demo, tmp_path)
    assert gallery.returncode == 0, gallery.stderr[-2000:]
    assert demo.api_requests(f"/guilds/{GUILD_ID}") and demo.api_requests("/threads/search")
    everything = _main_py(demo, tmp_path / "all")
    # The kinds gallery-dl's extractor reads: attachments, embeds, forwarded snapshots (and the threads, as main.py).
    readable = _main_py(demo, tmp_path / "readable", "--only", "attachments,embeds,forwards")
    gallery_pictures = _pictures(tmp_path / "out")
    # gallery-dl also saves attachments that are not pictures (PDF, MP4): _pictures leaves them out.
    assert set(gallery_pictures) == set(readable), sorted(set(gallery_pictures) ^ set(readable))
    assert len(readable) >= 80
    # What main.py saves beyond that comes only from kinds gallery-dl does not read: components v2 media
    # galleries and image links in the text without an embed.
    blind = {
        m["id"]
        for m in demo.state.messages[CHANNEL_ID]
        if m.get("flags", 0) & IS_COMPONENTS_V2 or (not m.get("attachments") and not m.get("embeds") and "http" in m["content"])
    }
    extra = {everything[sha] for sha in set(everything) - set(readable)}
    assert extra and extra <= blind


def test_a_window_from_the_discord_epoch_pages_from_zero(demo: FakeDiscord) -> None:
    """main.py --since 2015-01-01 asked for after=-1, which Discord refuses with 400/50035 (found by the run above)."""
    from config import Settings

    sent_before = len(demo.api_requests(f"/channels/{CHANNEL_ID}/messages"))
    client = DiscordClient(USER_TOKEN, Settings(API_BASE=demo.api_base, RATE_LIMIT_DELAY=0.0))
    messages = list(client.iter_messages(CHANNEL_ID, -1, None))
    assert [m["id"] for m in messages] == [m["id"] for m in demo.state.messages[CHANNEL_ID]]
    assert demo.api_requests(f"/channels/{CHANNEL_ID}/messages")[sent_before].query["after"] == "0"
