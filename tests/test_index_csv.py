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
from picextract.gallery.page import build_gallery, folder_files, read_index
from picextract.gallery.records import gallery_items
from picextract.store.index import MAX_INDEX_TEXT_CHARS, posting_order, write_index
from picextract.store.layout import GALLERY_FILE_NAME, INDEX_FILE_NAME
from tests.conftest import program_env, run_main

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


def test_a_huge_text_is_clipped_and_the_gallery_still_builds(server: FakeDiscord, tmp_path: Path) -> None:
    """A message text over the csv module's field limit (131,072 characters) stopped the gallery; Discord's own limit is 4,000."""
    factory = setup_server(server)
    factory.message(datetime.now(UTC) - timedelta(hours=1), "x" * 200_000, [factory.attachment("wordy.png", make_picture(1))])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main(["--channel", CHANNEL_ID, "--output", "o", "--no-input", "--days", "1"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = _rows(tmp_path / "o")
    assert row["text"] == "x" * (MAX_INDEX_TEXT_CHARS - 1) + "…"
    assert (tmp_path / "o" / GALLERY_FILE_NAME).is_file()


def test_the_gallery_builds_beside_an_index_with_a_huge_field(tmp_path: Path) -> None:
    """An index.csv written by an older version (or by hand) with a field over the csv limit: its other rows still show."""
    (tmp_path / "2026-01-01_10-00-00_a.png").write_bytes(make_picture(1))
    (tmp_path / "2026-01-01_11-00-00_b.png").write_bytes(make_picture(2))
    write_index(
        tmp_path / INDEX_FILE_NAME,
        [["2026-01-01_10-00-00_a.png", "", "1", "#c", "me", "first"], ["b", "", "2", "#c", "me", "y" * 200_000]],
    )
    build_gallery(tmp_path)
    assert (tmp_path / GALLERY_FILE_NAME).is_file()
    items = gallery_items(read_index(tmp_path), folder_files(tmp_path), {})
    assert {item.file: item.text for item in items} == {"2026-01-01_10-00-00_a.png": "first", "2026-01-01_11-00-00_b.png": ""}
