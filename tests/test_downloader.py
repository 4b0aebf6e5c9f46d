"""DiscordDownloader against the fake server: the picture set, skipping, naming, faults."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channel_spec import ChannelSpec, parse_channel_spec
from picextract.discord.channels import AmbiguousChannelError, ChannelInfo, ChannelResolver, Chooser
from picextract.discord.client import DiscordClient
from picextract.discord.errors import NotFoundError
from picextract.download.options import RunOptions
from picextract.download.results import NullReporter, Summary
from picextract.fake.sample import (
    CHANNEL_ID,
    CHANNEL_NAME,
    GUILD_ID,
    GUILD_NAME,
    USER_TOKEN,
    build_sample_channel,
    make_picture,
    setup_server,
)
from picextract.fake.server import FakeDiscord
from picextract.store.layout import ASSETS_DIR, GALLERY_FILE_NAME, INDEX_FILE_NAME, LOCK_FILE_NAME, STATE_FILE_NAME
from tests.conftest import saved_pictures

UTC = timezone.utc
CHANNEL = ChannelInfo(CHANNEL_ID, CHANNEL_NAME)


def _run(settings: Settings, out: Path, since: datetime, until: datetime | None = None, workers: int = 4) -> Summary:
    client = DiscordClient(USER_TOKEN, settings)
    try:
        return DiscordDownloader(client, out, RunOptions(UTC, workers=workers)).run(CHANNEL, since, until)
    finally:
        client.close()


def test_sample_channel_exact_picture_set_then_nothing_twice(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    expected = build_sample_channel(server, now, count=400)
    out = tmp_path / "out"
    summary = _run(settings, out, now - timedelta(days=14))
    assert saved_pictures(out) == {picture.filename: picture.data for picture in expected}
    assert (summary.downloaded, summary.skipped, summary.failed) == (len(expected), 0, 0)
    assert (out / STATE_FILE_NAME).is_file()
    cdn_before = len(server.cdn_requests())
    again = _run(settings, out, now - timedelta(days=14))
    assert (again.downloaded, again.failed) == (0, 0)
    assert len(server.cdn_requests()) == cdn_before  # the second run sends no CDN request
    assert server.state.violations == 0


def test_file_time_is_the_message_time(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime(2026, 11, 20, 9, 30, 15, 250000, tzinfo=UTC)
    factory.message(posted, "", [factory.attachment("chart.png", make_picture(1))])
    _run(settings, tmp_path, posted - timedelta(hours=1))
    saved = tmp_path / "2026-11-20_09-30-15_chart.png"
    assert saved.stat().st_mtime == pytest.approx(posted.timestamp(), abs=0.01)


def test_folder_made_before_the_state_file_is_recognised(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=2)
    data = make_picture(5)
    factory.message(posted, "", [factory.attachment("old.png", data)])
    name = f"{posted:%Y-%m-%d_%H-%M-%S}_old.png"
    (tmp_path / name).write_bytes(data)
    summary = _run(settings, tmp_path, posted - timedelta(hours=1))
    assert (summary.downloaded, summary.skipped) == (0, 1)
    assert server.cdn_requests() == []


def test_same_name_same_second_both_survive_with_stable_names(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    first, second, third = make_picture(1), make_picture(2), make_picture(3)
    factory.message(posted, "", [factory.attachment("unknown.png", first)])
    late = factory.attachment("unknown.png", second)
    factory.message(posted + timedelta(milliseconds=300), "", [late])
    foreign = tmp_path / f"{posted:%Y-%m-%d_%H-%M-%S}_image.png"
    foreign.write_bytes(b"a file of the user's, not from Discord")
    third_att = factory.attachment("image.png", third)
    factory.message(posted + timedelta(milliseconds=600), "", [third_att])
    _run(settings, tmp_path, posted - timedelta(minutes=1))
    stamp = f"{posted:%Y-%m-%d_%H-%M-%S}"
    names = {
        f"{stamp}_unknown.png": first,
        f"{stamp}_unknown_{late['id']}.png": second,
        f"{stamp}_image_{third_att['id']}.png": third,
        foreign.name: b"a file of the user's, not from Discord",
    }
    assert saved_pictures(tmp_path) == names
    # Same names on a fresh run into a new folder.
    fresh = tmp_path / "fresh"
    _run(settings, fresh, posted - timedelta(minutes=1))
    assert set(saved_pictures(fresh)) == {f"{stamp}_unknown.png", f"{stamp}_unknown_{late['id']}.png", f"{stamp}_image.png"}


def test_recoverable_faults_lose_nothing(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=3)
    pictures = {f"p{n}.png": make_picture(n) for n in range(8)}
    for offset, (name, data) in enumerate(pictures.items()):
        factory.message(posted + timedelta(seconds=offset), "", [factory.attachment(name, data)])
    for name, faults in zip(
        pictures, [("500",), ("drop",), ("truncate",), ("html",), ("429",), ("502", "truncate"), ("drop", "html"), ()]
    ):
        server.fail_next(name, *faults)
    server.fail_next("/messages", "502", "drop")
    server.force_429(2)
    summary = _run(settings, tmp_path, posted - timedelta(minutes=1))
    assert (summary.downloaded, summary.failed) == (8, 0)
    assert sorted(n.split("_", 2)[2] for n in saved_pictures(tmp_path)) == sorted(pictures)
    assert server.state.violations == 0


def test_permanent_failure_counts_error_leaves_no_file_and_run_goes_on(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=3)
    factory.message(posted, "", [factory.attachment("broken.png", make_picture(1))])
    factory.message(posted + timedelta(seconds=1), "", [factory.attachment("fine.png", make_picture(2))])
    server.fail_next("broken.png", *["html"] * 8)  # 4 tries of the URL, 4 of the proxy URL
    summary = _run(settings, tmp_path, posted - timedelta(minutes=1))
    assert (summary.downloaded, summary.failed) == (1, 1)
    assert [n.split("_", 2)[2] for n in saved_pictures(tmp_path)] == ["fine.png"]
    assert "not a picture" in (summary.failures[0].error or "")
    assert not list(tmp_path.glob("*.part"))
    # The failure is retried on the next run and then succeeds.
    again = _run(settings, tmp_path, posted - timedelta(minutes=1))
    assert (again.downloaded, again.failed) == (1, 0)
    assert len(saved_pictures(tmp_path)) == 2


def test_falls_back_to_proxy_url(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=1)
    factory.message(posted, "", [factory.attachment("p.png", make_picture(1))])
    server.fail_next("/cdn/", "404")
    summary = _run(settings, tmp_path, posted - timedelta(minutes=1))
    assert summary.downloaded == 1
    assert [r.path.split("/")[1] for r in server.cdn_requests()] == ["cdn", "media"]


def test_extension_from_magic_bytes_when_nothing_else_tells(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    url = factory.external("gallery/chart", make_picture(1, "JPEG"), "application/octet-stream")
    factory.message(
        posted, "", components=[{"type": 12, "items": [{"media": {"url": url + "?format=x", "content_type": "image/*"}}]}]
    )
    _run(settings, tmp_path, posted - timedelta(minutes=1))
    assert list(saved_pictures(tmp_path)) == [f"{posted:%Y-%m-%d_%H-%M-%S}_chart.jpg"]


def test_many_workers_many_same_second_collisions(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    datas = [make_picture(100 + n) for n in range(60)]
    for n in range(0, 60, 3):
        factory.message(posted + timedelta(milliseconds=n), "", [factory.attachment("image.png", d) for d in datas[n : n + 3]])
    server.force_429(3)
    for n in range(0, 60, 7):
        server.fail_next(f"/{n}", "drop")
    summary = _run(settings, tmp_path, posted - timedelta(minutes=1), workers=16)
    assert (summary.downloaded, summary.failed) == (60, 0)
    assert sorted(saved_pictures(tmp_path).values()) == sorted(datas)
    assert server.state.violations == 0


def test_resolve_channel_by_guild_and_name(server: FakeDiscord, settings: Settings) -> None:
    setup_server(server)
    server.add_guild("1100000000000000009", "Other Server")
    server.add_channel("1100000000000000010", "general", "1100000000000000009")
    server.add_channel("1100000000000000011", "General", "1100000000000000009")
    server.add_channel("1100000000000000012", "voice-chat", "1100000000000000009", channel_type=2)
    server.add_channel("1100000000000000013", "stuff", "1100000000000000009", channel_type=4)
    resolver = ChannelResolver(DiscordClient(USER_TOKEN, settings), NullReporter())

    def one(text: str, guild: str | None = None, choose: Chooser | None = None) -> ChannelInfo:
        [channel] = resolver.resolve([parse_channel_spec(text)], guild, choose)
        return channel

    assert one("#spx-realtime-aws", GUILD_NAME).id == CHANNEL_ID
    assert one("SPX-Realtime-AWS", GUILD_NAME.upper()).id == CHANNEL_ID
    assert one(CHANNEL_ID).name == CHANNEL_NAME
    assert one("general", "other server").id == "1100000000000000010"  # exact wins
    with pytest.raises(AmbiguousChannelError, match="several channels match"):
        one("GENERAL", "Other Server")
    assert one("GENERAL", "Other Server", choose=lambda c: c[1]).id == "1100000000000000011"
    with pytest.raises(NotFoundError, match="no channel named 'stuff'.*its channels: General, general, voice-chat"):
        one("stuff", "Other Server")
    with pytest.raises(NotFoundError, match="no server named 'Nope'; your servers: Other Server, 数学家炒美股"):
        one("general", "Nope")


def test_resolve_takes_specs_as_parsed_never_as_text(server: FakeDiscord, settings: Settings) -> None:
    """A spec is resolved as it is: a name holding a comma (a voice channel's may) stays one name; repeats count once."""
    setup_server(server)
    server.add_channel("1100000000000000014", "Lounge, Chill", GUILD_ID, channel_type=2)
    resolver = ChannelResolver(DiscordClient(USER_TOKEN, settings), NullReporter())
    specs = [ChannelSpec(name="Lounge, Chill"), ChannelSpec(channel_id=CHANNEL_ID), ChannelSpec(name=CHANNEL_NAME)]
    resolved = resolver.resolve(specs, GUILD_NAME)
    assert [(channel.id, channel.name) for channel in resolved] == [
        ("1100000000000000014", "Lounge, Chill"),
        (CHANNEL_ID, CHANNEL_NAME),
    ]


def test_stale_part_files_are_removed(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    setup_server(server)
    (tmp_path / "2026-01-01_00-00-00_x.png.part").write_bytes(b"half")
    _run(settings, tmp_path, datetime.now(UTC) - timedelta(days=1))
    assert not list(tmp_path.glob("*.part"))
    own_files = {STATE_FILE_NAME, f"{STATE_FILE_NAME}-wal", f"{STATE_FILE_NAME}-shm", INDEX_FILE_NAME, LOCK_FILE_NAME}
    own_files |= {GALLERY_FILE_NAME, ASSETS_DIR}  # the gallery, empty
    assert set(os.listdir(tmp_path)) <= own_files


def test_one_downloader_runs_any_number_of_times(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    """Per-run state lives in a run object: a second run() on the same instance neither hangs nor reuses counters."""
    factory = setup_server(server)
    first_posted = datetime.now(UTC) - timedelta(hours=2)
    factory.message(first_posted, "", [factory.attachment("first.png", make_picture(1))])
    client = DiscordClient(USER_TOKEN, settings)
    downloader = DiscordDownloader(client, tmp_path, RunOptions(UTC, workers=2))
    try:
        first = downloader.run(CHANNEL, first_posted - timedelta(minutes=1))
        factory.message(first_posted + timedelta(hours=1), "", [factory.attachment("second.png", make_picture(2))])
        second = downloader.run(CHANNEL, first_posted - timedelta(minutes=1))
    finally:
        client.close()
    assert (first.downloaded, first.messages_scanned) == (1, 1)
    assert (second.downloaded, second.skipped, second.messages_scanned, second.interrupted) == (1, 0, 1, False)
    assert sorted(name.split("_", 2)[2] for name in saved_pictures(tmp_path)) == ["first.png", "second.png"]
