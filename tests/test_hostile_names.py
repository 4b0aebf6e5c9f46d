"""Issue 10 part 1: every colliding combination of names and identities in one second, none lost or overwritten."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.download.options import RunOptions
from picextract.download.results import Summary
from picextract.fake.sample import CHANNEL_ID, CHANNEL_NAME, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.store.layout import INDEX_FILE_NAME
from tests.conftest import NOT_PICTURES

UTC = timezone.utc
CHANNEL = ChannelInfo(CHANNEL_ID, CHANNEL_NAME)


def run_once(settings: Settings, out: Path, since: datetime, workers: int = 4) -> Summary:
    client = DiscordClient(USER_TOKEN, settings)
    try:
        return DiscordDownloader(client, out, RunOptions(UTC, workers=workers)).run(CHANNEL, since)
    finally:
        client.close()


def pictures_on_disk(out: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".") and p.name not in NOT_PICTURES
    }


def index_files(out: Path) -> list[str]:
    with open(out / INDEX_FILE_NAME, newline="", encoding="utf-8") as index_file:
        return [row["file"] for row in csv.DictReader(index_file)]


def post_collisions(server: FakeDiscord, when: datetime) -> list[bytes]:
    """Every kind of name and identity clash in one second; returns the distinct pictures posted."""
    factory = setup_server(server)
    pictures = [make_picture(seed) for seed in range(1, 11)] + [make_picture(11, "JPEG"), make_picture(12, "GIF")]
    first = factory.attachment("image.png", pictures[0])
    no_id_a = factory.attachment("image.png", pictures[1])
    no_id_b = factory.attachment("image.png", pictures[2])
    for attachment in (no_id_a, no_id_b):
        del attachment["id"]
    same_id_a = factory.attachment("shot.png", pictures[3])
    same_id_b = factory.attachment("shot.png", pictures[4])
    same_id_b["id"] = same_id_a["id"]
    null_id = factory.attachment("image.png", pictures[5])
    null_id["id"] = None
    no_extension = factory.attachment("image", pictures[6], "image/png")
    bare = factory.external("a/image", pictures[7], "application/octet-stream")  # the extension comes from the bytes
    jpeg_bare = factory.external("b/image", pictures[10], "application/octet-stream")
    link = factory.external("c/image.png", pictures[8])
    embeds = [{"type": "image", "url": url, "thumbnail": {"url": url}} for url in (bare, jpeg_bare)]
    attachments = [first, no_id_a, no_id_b, same_id_a, same_id_b, null_id, no_extension]
    factory.message(when, f"look {link}", attachments, embeds)
    # A second message in the same second: the same names again.
    second_bare = factory.external("d/image", pictures[9], "application/octet-stream")
    gif = factory.attachment("image.gif", pictures[11])
    embed = {"type": "image", "url": second_bare, "thumbnail": {"url": second_bare}}
    factory.message(when.replace(microsecond=500000), "", [gif], [embed])
    return pictures


def test_every_colliding_combination_in_one_second(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    when = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    pictures = post_collisions(server, when)
    summary = run_once(settings, tmp_path, when - timedelta(minutes=1))
    saved = pictures_on_disk(tmp_path)
    assert sorted(saved.values()) == sorted(pictures)  # each picture once, none overwritten by another
    assert (summary.downloaded, summary.failed) == (len(pictures), 0)
    stamp = f"{when:%Y-%m-%d_%H-%M-%S}_"
    assert all(name.startswith(stamp) for name in saved)
    assert saved[f"{stamp}image.png"] == pictures[0]  # the first picture keeps the plain name
    assert sorted(index_files(tmp_path)) == sorted(saved)
    again = run_once(settings, tmp_path, when - timedelta(minutes=1))
    assert (again.downloaded, again.failed) == (0, 0)
    # Without the state file every picture is found again under its own name: no copy, no overwrite.
    for path in tmp_path.glob(".discordpicextract.sqlite3*"):
        path.unlink()
    third = run_once(settings, tmp_path, when - timedelta(minutes=1))
    assert third.failed == 0
    assert pictures_on_disk(tmp_path) == saved
    assert sorted(index_files(tmp_path)) == sorted(saved)


def test_names_stay_apart_with_one_worker_and_many(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    when = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    pictures = post_collisions(server, when)
    for workers, folder in ((1, tmp_path / "one"), (12, tmp_path / "many")):
        run_once(settings, folder, when - timedelta(minutes=1), workers=workers)
        assert sorted(pictures_on_disk(folder).values()) == sorted(pictures)
