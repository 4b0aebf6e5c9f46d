"""index.csv a person can read: rows in posting order, width and height for every picture, the kind, rewritten each run."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.download.options import RunOptions
from picextract.fake.sample import CHANNEL_ID, CHANNEL_NAME, USER_TOKEN, MessageFactory, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.store.index import posting_order
from picextract.store.layout import INDEX_FILE_NAME

UTC = timezone.utc


def _rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / INDEX_FILE_NAME, newline="", encoding="utf-8") as index_file:
        return list(csv.DictReader(index_file))


def _run(settings: Settings, folder: Path, since: datetime) -> None:
    client = DiscordClient(USER_TOKEN, settings)
    try:
        DiscordDownloader(client, folder, RunOptions(UTC, workers=4)).run(
            ChannelInfo(CHANNEL_ID, CHANNEL_NAME, "1100000000000000001"), since
        )
    finally:
        client.close()


def test_rows_are_in_posting_order_with_sizes_and_kinds(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    start = datetime.now(UTC) - timedelta(hours=5)
    # The first picture is in a thread: threads are read after their channel, so it is saved last, yet comes first.
    server.add_thread("1200000000000000001", "analysis", CHANNEL_ID)
    thread = MessageFactory(server, "1200000000000000001")
    thread.message(start, "", [factory.attachment("big.png", make_picture(1, size=(90, 70)))])
    link = factory.external("chart.png", make_picture(2, size=(33, 21)))
    factory.message(start + timedelta(hours=1), f"new chart {link}")  # a link: Discord sends no size for it
    factory.message(start + timedelta(hours=2), "", [factory.attachment("small.png", make_picture(3, size=(5, 5)))])
    _run(settings, tmp_path, start - timedelta(minutes=1))
    rows = _rows(tmp_path)
    assert [row["file"].split("_", 2)[2] for row in rows] == ["big.png", "chart.png", "small.png"]
    assert [(row["width"], row["height"]) for row in rows] == [("90", "70"), ("33", "21"), ("5", "5")]
    assert [row["kind"] for row in rows] == ["attachment", "link", "attachment"]


def test_a_shuffled_index_is_written_again_in_order(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    start = datetime.now(UTC) - timedelta(hours=5)
    for number in range(4):
        factory.message(start + timedelta(minutes=number), "", [factory.attachment(f"p{number}.png", make_picture(number))])
    _run(settings, tmp_path, start - timedelta(minutes=1))
    lines = (tmp_path / INDEX_FILE_NAME).read_text(encoding="utf-8").splitlines()
    (tmp_path / INDEX_FILE_NAME).write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    factory.message(start + timedelta(hours=1), "", [factory.attachment("late.png", make_picture(9))])
    _run(settings, tmp_path, start - timedelta(minutes=1))
    names = [row["file"].split("_", 2)[2] for row in _rows(tmp_path)]
    assert names == ["p0.png", "p1.png", "p2.png", "p3.png", "late.png"]


def test_posting_order_is_by_time_then_name() -> None:
    rows = [
        ["b.png", "2026-01-02T00:00:00+00:00"],
        ["a.png", "2026-01-02T00:00:00+00:00"],
        ["c.png", "2026-01-01T23:59:59+00:00"],
    ]
    assert [row[0] for row in posting_order(rows)] == ["c.png", "a.png", "b.png"]
