"""Reach: threads and forums, expired links, bot intent, incremental runs, several channels,
kinds, dry runs and index.csv, against the fake server."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.download.options import RunOptions
from picextract.download.results import Summary
from picextract.fake.sample import (
    BOT_TOKEN,
    CHANNEL_ID,
    CHANNEL_NAME,
    GUILD_ID,
    GUILD_NAME,
    USER_TOKEN,
    MessageFactory,
    build_sample_channel,
    iso,
    make_picture,
    setup_server,
    snowflake_at,
)
from picextract.fake.server import FakeDiscord
from picextract.pictures.refs import DEFAULT_KINDS, parse_kinds
from picextract.store.layout import INDEX_FILE_NAME
from tests.conftest import NOT_PICTURES, program_env, run_main

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


def _files(folder: Path) -> list[str]:
    return (
        sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.name not in NOT_PICTURES)
        if folder.exists()
        else []
    )


def _run(
    settings: Settings, out: Path, channel: ChannelInfo, since: datetime, token: str = USER_TOKEN, **options: object
) -> Summary:
    client = DiscordClient(token if token == USER_TOKEN else f"Bot {token}", settings)
    try:
        return DiscordDownloader(client, out, RunOptions(UTC, **options)).run(channel, since)  # type: ignore[arg-type]
    finally:
        client.close()


def _threaded_channel(server: FakeDiscord) -> MessageFactory:
    """A text channel with an active thread, a recently archived one, an old archived one and a private one."""
    factory = setup_server(server)
    factory.message(NOW - timedelta(days=2), "", [factory.attachment("main.png", make_picture(1))])
    recent_archive = iso(NOW - timedelta(days=1))
    old_archive = iso(NOW - timedelta(days=40))
    for thread_id, name, archived, archived_at, readable, seed in [
        ("1200000000000000001", "active-thread", False, None, True, 2),
        ("1200000000000000002", "archived-thread", True, recent_archive, True, 3),
        ("1200000000000000004", "private-thread", False, None, False, 5),
    ]:
        server.add_thread(thread_id, name, CHANNEL_ID, archived=archived, archive_timestamp=archived_at, readable=readable)
        MessageFactory(server, thread_id).message(
            NOW - timedelta(days=3), "", [MessageFactory(server, thread_id).attachment(f"{name}.png", make_picture(seed))]
        )
    old = server.add_thread("1200000000000000003", "old-thread", CHANNEL_ID, archived=True, archive_timestamp=old_archive)
    old_factory = MessageFactory(server, old["id"])
    old_factory.message(NOW - timedelta(days=41), "", [old_factory.attachment("old.png", make_picture(4))])
    return factory


@pytest.mark.parametrize("token", [USER_TOKEN, BOT_TOKEN])
def test_threads_active_and_archived_in_one_run(server: FakeDiscord, settings: Settings, tmp_path: Path, token: str) -> None:
    _threaded_channel(server)
    server.state.search_not_ready_answers = 1  # the user-token search is not indexed yet at first
    summary = _run(settings, tmp_path, ChannelInfo(CHANNEL_ID, CHANNEL_NAME, GUILD_ID), NOW - timedelta(days=14), token)
    assert [name.split("_", 2)[2] for name in _files(tmp_path)] == ["active-thread.png", "archived-thread.png", "main.png"]
    assert (summary.threads_scanned, summary.threads_skipped, summary.failed) == (2, 1, 0)
    assert not server.api_requests("/channels/1200000000000000003/messages")  # quiet since before the window: not paged
    if token == USER_TOKEN:
        assert server.api_requests("/threads/search") and not server.api_requests("/threads/active")
    else:
        assert server.api_requests("/threads/active") and server.api_requests("/threads/archived/public")


def test_no_threads_flag(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    _threaded_channel(server)
    _run(settings, tmp_path, ChannelInfo(CHANNEL_ID, CHANNEL_NAME, GUILD_ID), NOW - timedelta(days=14), threads=False)
    assert [name.split("_", 2)[2] for name in _files(tmp_path)] == ["main.png"]
    assert not server.api_requests("/threads")


def test_forum_channel_downloads_its_threads(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    setup_server(server)
    server.add_channel("1100000000000000050", "chart-forum", GUILD_ID, channel_type=15)
    for number in range(3):
        thread_id = f"130000000000000000{number}"
        server.add_thread(thread_id, f"post-{number}", "1100000000000000050")
        factory = MessageFactory(server, thread_id)
        factory.message(
            NOW - timedelta(hours=5 + number), f"post {number}", [factory.attachment(f"post{number}.png", make_picture(number))]
        )
    result = run_main(
        ["--channel", "chart-forum", "--guild", GUILD_NAME, "--output", "f", "--no-input"],
        program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(name.split("_", 2)[2] for name in _files(tmp_path / "f")) == ["post0.png", "post1.png", "post2.png"]
    assert not server.api_requests("/channels/1100000000000000050/messages")


def test_expired_signed_link_is_refreshed(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    data = make_picture(9)
    stale = factory.attachment("stale.png", data, expires_at=server.now() - 3600)
    factory.message(NOW - timedelta(hours=2), "", [stale])
    summary = _run(settings, tmp_path, ChannelInfo(CHANNEL_ID, CHANNEL_NAME), NOW - timedelta(days=1))
    assert (summary.downloaded, summary.refreshed, summary.failed) == (1, 1, 0)
    assert server.api_requests("/attachments/refresh-urls")
    (saved,) = _files(tmp_path)
    assert (tmp_path / saved).read_bytes() == data


def test_bot_without_message_content_intent_gets_told_how_to_fix_it(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    for number in range(5):
        factory.message(
            NOW - timedelta(hours=number + 1), f"chart {number}", [factory.attachment(f"c{number}.png", make_picture(number))]
        )
    server.state.bot_message_content_intent = False
    result = run_main(["--channel", CHANNEL_ID, "--output", "o"], program_env(server, DISCORD_BOT_TOKEN=BOT_TOKEN), tmp_path)
    assert result.returncode == 3
    assert "lacks the MESSAGE_CONTENT intent" in result.stderr and "Message Content Intent" in result.stderr
    assert result.stderr.count("MESSAGE_CONTENT") == 1
    server.state.bot_message_content_intent = True
    fixed = run_main(["--channel", CHANNEL_ID, "--output", "o"], program_env(server, DISCORD_BOT_TOKEN=BOT_TOKEN), tmp_path)
    assert fixed.returncode == 0 and len(_files(tmp_path / "o")) == 5


def test_incremental_daily_run(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    for number in range(250):
        link_expiry = server.now() + 7 * 86400  # still valid a day later
        factory.message(
            NOW - timedelta(days=3) + timedelta(minutes=number),
            "",
            [factory.attachment(f"a{number}.png", make_picture(number), expires_at=link_expiry)],
        )
    server.fail_next("a7.png", *["500"] * 8)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    first = run_main(["--channel", CHANNEL_ID, "--output", "o", "--no-threads"], env, tmp_path)
    assert first.returncode == 1 and len(_files(tmp_path / "o")) == 249
    # A day later: the server's clock moved and two new pictures were posted.
    server.state.clock_offset_seconds = 86400
    later = datetime.now(UTC) + timedelta(days=1)
    newest = [
        factory.message(later - timedelta(minutes=n), "", [factory.attachment(f"new{n}.png", make_picture(1000 + n))])
        for n in (2, 1)
    ]
    seen_before, cdn_before = len(server.state.requests), len(server.cdn_requests())
    second = run_main(["--channel", CHANNEL_ID, "--output", "o", "--no-threads"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(_files(tmp_path / "o")) == 252
    new_api = server.state.requests[seen_before:]
    pages = [r for r in new_api if r.kind == "api" and r.path.endswith("/messages") and "after" in r.query]
    assert len(pages) == 1 and int(pages[0].query["after"]) >= int(
        snowflake_at(NOW - timedelta(days=3) + timedelta(minutes=249), 0)
    )
    assert len([r for r in new_api if r.kind == "api"]) == 3  # channel, one page, the retry of the failed picture
    assert len(server.cdn_requests()) - cdn_before == 3  # two new pictures and the one that failed
    # And a run over an unchanged channel costs two API requests and no download.
    api_before, cdn_before = len(server.api_requests()), len(server.cdn_requests())
    third = run_main(["--channel", CHANNEL_ID, "--output", "o", "--no-threads"], env, tmp_path)
    assert third.returncode == 0
    assert (len(server.api_requests()) - api_before, len(server.cdn_requests()) - cdn_before) == (2, 0)
    assert newest


def test_two_channels_by_name_land_in_their_own_folders(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(NOW - timedelta(hours=1), "", [factory.attachment("one.png", make_picture(1))])
    server.add_channel("1100000000000000060", "options-flow", GUILD_ID)
    other = MessageFactory(server, "1100000000000000060")
    other.message(NOW - timedelta(hours=1), "", [other.attachment("two.png", make_picture(2))])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main(["--channel", "spx-realtime-aws,#options-flow", "--guild", GUILD_NAME, "--output", "out"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [n.split("_", 2)[2] for n in _files(tmp_path / "out" / "spx-realtime-aws")] == ["one.png"]
    assert [n.split("_", 2)[2] for n in _files(tmp_path / "out" / "options-flow")] == ["two.png"]
    templated = run_main(
        ["--channel", f"{CHANNEL_ID},1100000000000000060", "--guild", GUILD_NAME, "--output", "t/{guild}/{channel}"],
        env,
        tmp_path,
    )
    assert templated.returncode == 0, templated.stderr
    assert [n.split("_", 2)[2] for n in _files(tmp_path / "t" / GUILD_NAME / "options-flow")] == ["two.png"]
    assert [n.split("_", 2)[2] for n in _files(tmp_path / "t" / GUILD_NAME / "spx-realtime-aws")] == ["one.png"]


def test_all_channels_of_a_guild_skips_unreadable(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(NOW - timedelta(hours=1), "", [factory.attachment("one.png", make_picture(1))])
    server.add_channel("1100000000000000070", "staff-only", GUILD_ID, readable=False)
    server.add_channel("1100000000000000071", "voice", GUILD_ID, channel_type=2)
    result = run_main(
        ["--guild", GUILD_NAME, "--all-channels", "--output", "all", "--no-input"],
        program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped #staff-only" in result.stderr
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["spx-realtime-aws"]


def test_all_channels_skips_a_listed_channel_that_answers_404_like_one_that_answers_403(
    server: FakeDiscord, tmp_path: Path
) -> None:
    """Deleted between the guild's listing and its probe: unreadable, the same rule as `--list` and the prompt."""
    factory = setup_server(server)
    factory.message(NOW - timedelta(hours=1), "", [factory.attachment("one.png", make_picture(1))])
    server.add_channel("1100000000000000070", "staff-only", GUILD_ID, readable=False)
    server.add_channel("1100000000000000072", "just-deleted", GUILD_ID)
    server.fail_next("/channels/1100000000000000072", "404")
    result = run_main(
        ["--guild", GUILD_NAME, "--all-channels", "--output", "all", "--no-input"],
        program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped #staff-only" in result.stderr and "skipped #just-deleted" in result.stderr
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["spx-realtime-aws"]


def test_dry_run_writes_nothing(server: FakeDiscord, tmp_path: Path) -> None:
    build_sample_channel(server, datetime.now(UTC), count=40)
    result = run_main(
        ["--channel", CHANNEL_ID, "--output", "dry", "--dry-run"], program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "dry").exists()
    assert server.cdn_requests() == []
    lines = [line for line in result.stdout.splitlines() if line.startswith("would save: ")]
    assert lines and "(attachment, " in result.stdout
    assert f"Would download:    {len(lines)}" in result.stdout


def test_index_rows_match_saved_files(server: FakeDiscord, tmp_path: Path) -> None:
    expected = build_sample_channel(server, datetime.now(UTC), count=120)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    assert run_main(["--channel", CHANNEL_ID, "--output", "o", "--timezone", "UTC"], env, tmp_path).returncode == 0
    assert run_main(["--channel", CHANNEL_ID, "--output", "o", "--timezone", "UTC"], env, tmp_path).returncode == 0
    rows = list(csv.DictReader((tmp_path / "o" / INDEX_FILE_NAME).open(encoding="utf-8")))
    assert sorted(row["file"] for row in rows) == _files(tmp_path / "o") == sorted(p.filename for p in expected)
    chart = next(row for row in rows if "chart_" in row["file"])
    assert chart["text"].startswith("SPX setup") and chart["author"] == "Signals" and chart["channel"] == "#spx-realtime-aws"
    assert "ex=" not in chart["source_url"] and chart["posted_at_utc"].endswith("+00:00")


@pytest.mark.parametrize(
    ("text", "kinds"),
    [("attachments", {"attachments"}), ("gifv, stickers", {"gifv", "stickers"}), ("THUMBNAILS", {"thumbnails"})],
)
def test_parse_kinds(text: str, kinds: set[str]) -> None:
    assert parse_kinds(text) == kinds


def test_parse_kinds_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown kind gif; choose from attachments"):
        parse_kinds("gif")


def test_include_and_only(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    when = NOW - timedelta(hours=1)
    thumb = factory.external("bot/logo.png", make_picture(2))
    clip = factory.external("tenor/anim.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4")
    server.add_file("stickers/42.png", make_picture(3), "image/png", signed=False)
    factory.message(
        when,
        "",
        [factory.attachment("up.png", make_picture(1))],
        embeds=[
            {"type": "rich", "thumbnail": {"url": thumb}},
            {"type": "gifv", "url": "https://tenor.com/x", "video": {"url": clip}},
        ],
        sticker_items=[{"id": "42", "name": "wave", "format_type": 1}],
    )
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, DISCORD_CDN_BASE=f"{server.base_url}/cdn")
    default = run_main(["--channel", CHANNEL_ID, "--output", "d"], env, tmp_path)
    assert default.returncode == 0 and [n.split("_", 2)[2] for n in _files(tmp_path / "d")] == ["up.png"]
    everything = run_main(["--channel", CHANNEL_ID, "--output", "e", "--include", "thumbnails,gifv,stickers"], env, tmp_path)
    assert everything.returncode == 0, everything.stderr
    assert sorted(n.split("_", 2)[2] for n in _files(tmp_path / "e")) == ["anim.mp4", "logo.png", "up.png", "wave.png"]
    only = run_main(["--channel", CHANNEL_ID, "--output", "a", "--only", "attachments"], env, tmp_path)
    assert only.returncode == 0 and [n.split("_", 2)[2] for n in _files(tmp_path / "a")] == ["up.png"]
    bad = run_main(["--channel", CHANNEL_ID, "--include", "gifs"], env, tmp_path)
    assert bad.returncode == 2 and "unknown kind gifs" in bad.stderr
    assert DEFAULT_KINDS == {"attachments", "embeds", "components", "forwards", "links"}
