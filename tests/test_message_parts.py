"""Issue 22 part 3: one part of a message that cannot be read never costs the others.

Each attachment, embed, component, sticker and link is read on its own. A part that cannot be read
is counted, named with --debug, listed in the summary and tried again on the next runs (exit 1);
the rest of its message is saved and the coverage moves on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.download.options import RunOptions
from picextract.download.results import Summary
from picextract.fake.sample import CHANNEL_ID, CHANNEL_NAME, USER_TOKEN, MessageFactory, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.pictures.filters import MessageFilter, parse_filter
from picextract.pictures.refs import COMPONENTS_V2_FLAG, DEFAULT_KINDS
from picextract.store.state import DEAD_AFTER_RUNS
from tests.conftest import program_env, run_main, saved_pictures

UTC = timezone.utc
CHANNEL = ChannelInfo(CHANNEL_ID, CHANNEL_NAME)
HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
BROKEN = "http://[::1/x.png"  # urllib.parse: ValueError("Invalid IPv6 URL"); anyone can type it in a channel
NO_FILTER = MessageFilter()
WITH_STICKERS = DEFAULT_KINDS | {"stickers"}


def run(
    settings: Settings, out: Path, kinds: frozenset[str] = DEFAULT_KINDS, message_filter: MessageFilter = NO_FILTER
) -> Summary:
    client = DiscordClient(USER_TOKEN, settings)
    try:
        downloader = DiscordDownloader(client, out, RunOptions(tz=UTC, workers=2, kinds=kinds, message_filter=message_filter))
        return downloader.run(CHANNEL, HOUR_AGO - timedelta(minutes=5))
    finally:
        client.close()


def names(out: Path) -> list[str]:
    """The original names of the saved pictures (without the date prefix)."""
    return sorted(name.split("_", 2)[2] for name in saved_pictures(out))


def message_reads(server: FakeDiscord, message_id: str) -> int:
    """How often one message was asked for on its own (`around=<id>`), as failures are read again."""
    return len([r for r in server.api_requests("/messages") if r.query.get("around") == message_id])


def unreadable(summary: Summary) -> list[str]:
    return [f"{part.message_id}: {part.name}" for part in summary.unreadable]


def text_message(factory: MessageFactory, content: str) -> str:
    """A message whose text holds `content`, with an upload; its id."""
    attachment = factory.attachment("upload.png", make_picture(1))
    return factory.message(HOUR_AGO, content, [attachment])["id"]


def test_a_link_that_cannot_be_split_costs_only_itself(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    message_id = text_message(factory, f"see {BROKEN} and {factory.external('ok/fine.png', make_picture(2))}")
    summary = run(settings, tmp_path)
    assert names(tmp_path) == ["fine.png", "upload.png"]
    assert (summary.malformed, summary.failed, unreadable(summary)) == (0, 0, [f"{message_id}: link 1"])
    assert summary.has_errors  # not a silent success: the link could have been a picture the user wanted


def test_an_embed_that_cannot_be_split_costs_only_itself(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    good = factory.external("ok/embedded.png", make_picture(2))
    embeds = [
        {"type": "image", "url": BROKEN, "thumbnail": {"url": BROKEN, "proxy_url": BROKEN}},
        {"type": "rich", "title": "chart", "image": {"url": good}},
        "not an embed",
    ]
    message = factory.message(HOUR_AGO, "", [factory.attachment("upload.png", make_picture(1))], embeds)
    summary = run(settings, tmp_path)
    assert names(tmp_path) == ["embedded.png", "upload.png"]
    assert unreadable(summary) == [f"{message['id']}: embed 1", f"{message['id']}: embed 3"]


def test_a_broken_component_costs_only_itself(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    good = factory.external("ok/gallery.png", make_picture(2))
    shown = factory.external("ok/file.png", make_picture(3))
    gallery = {"type": 12, "items": [{"media": {"url": BROKEN}}, None, {"media": {"url": good}}]}
    container = {"type": 17, "components": [gallery, {"type": 13, "file": {"url": shown}}]}
    message = factory.message(
        HOUR_AGO, "", [factory.attachment("upload.png", make_picture(1))], components=[container], flags=COMPONENTS_V2_FLAG
    )
    summary = run(settings, tmp_path)
    assert names(tmp_path) == ["file.png", "gallery.png", "upload.png"]
    assert unreadable(summary) == [f"{message['id']}: component 1.1 item 1", f"{message['id']}: component 1.1 item 2"]


def test_a_broken_sticker_costs_only_itself(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    server.add_file("stickers/42.png", make_picture(3), "image/png", signed=False)
    server.add_file("stickers/43.png", make_picture(4), "image/png", signed=False)
    stickers = [
        "not a sticker",
        {"id": "42", "name": "wave \ud83d", "format_type": 1},  # a lone surrogate in the name: still saved
        {"id": "43", "name": "ok", "format_type": 1},
    ]
    message = factory.message(HOUR_AGO, "", [factory.attachment("upload.png", make_picture(1))], sticker_items=stickers)
    summary = run(replace(settings, CDN_BASE=f"{server.base_url}/cdn"), tmp_path, WITH_STICKERS)
    assert names(tmp_path) == ["ok.png", "upload.png", "wave \ufffd.png"]
    assert unreadable(summary) == [f"{message['id']}: sticker 1"]


def test_a_forwarded_part_is_named_by_its_forward(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    snapshot = {"message": {"content": BROKEN, "attachments": [factory.attachment("forwarded.png", make_picture(2))]}}
    message = factory.message(HOUR_AGO, "", message_snapshots=[snapshot], message_reference={"type": 1})
    summary = run(settings, tmp_path)
    assert names(tmp_path) == ["forwarded.png"]
    assert unreadable(summary) == [f"{message['id']}: forward 1 link 1"]


def test_a_part_of_a_message_the_filters_leave_out_is_no_error(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    """Only a message the user wants could have held a picture the user wanted."""
    factory = setup_server(server)
    text_message(factory, f"see {BROKEN}")  # by "signals"
    wanted = factory.message(HOUR_AGO, f"mine {BROKEN}", author={"id": "42", "username": "me", "discriminator": "0"})
    summary = run(settings, tmp_path, message_filter=parse_filter(["me"], None, None))
    assert (unreadable(summary), summary.left_out) == ([f"{wanted['id']}: link 1"], 1)
    held = run(settings, tmp_path / "folded", message_filter=parse_filter(["ME"], None, None))  # matched ignoring case
    assert unreadable(held) == [f"{wanted['id']}: link 1"]
    assert not run(settings, tmp_path / "others", message_filter=parse_filter(["someone"], None, None)).has_errors


def test_unreadable_parts_are_tried_again_then_given_up(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    message_id = text_message(factory, f"see {BROKEN}")
    first = run(settings, tmp_path)
    assert (names(tmp_path), unreadable(first)) == (["upload.png"], [f"{message_id}: link 1"])
    for number in range(2, DEAD_AFTER_RUNS + 1):
        again = run(settings, tmp_path)  # the coverage moved on; the part is read again from its message alone
        assert (again.messages_scanned, unreadable(again), again.skipped) == (0, [f"{message_id}: link 1"], 0), number
    assert again.unreadable[0].given_up and again.has_errors
    last = run(settings, tmp_path)
    assert (unreadable(last), last.has_errors, message_reads(server, message_id)) == ([], False, 2)


def test_a_part_readable_again_is_saved(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    """A message edited since (or a newer version of this program): the part's pictures are saved."""
    factory = setup_server(server)
    message_id = text_message(factory, f"see {BROKEN}")
    run(settings, tmp_path)
    stored = server.state.messages[CHANNEL_ID][-1]
    stored["content"] = f"see {factory.external('ok/fixed.png', make_picture(5))}"
    again = run(settings, tmp_path)
    assert (names(tmp_path), unreadable(again), again.downloaded, again.skipped) == (["fixed.png", "upload.png"], [], 1, 0)
    assert not run(settings, tmp_path).has_errors and message_reads(server, message_id) == 1


def test_unreadable_parts_end_to_end(server: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    factory = setup_server(server)
    message_id = text_message(factory, f"see {BROKEN}")
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    args = ["--channel", CHANNEL_ID, "--output", "o", "--no-input", "--days", "1"]
    result = run_main(args, env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert names(tmp_path / "o") == ["upload.png"]
    assert (
        "  Unreadable:        1 message part skipped, the rest kept (read again next run; details with --debug)" in result.stdout
    )
    assert f"    message {message_id}: link 1" in result.stdout and "Invalid IPv6" not in result.stdout + result.stderr
    debug = run_main([*args, "--debug"], env, tmp_path)
    assert (
        debug.returncode == 1
        and f"debug: message {message_id}: could not read link 1: ValueError: Invalid IPv6 URL" in debug.stderr
    )
    assert "Traceback" not in debug.stderr and USER_TOKEN not in debug.stderr


def test_a_bad_part_in_a_retried_message_is_read_once(
    server: FakeDiscord, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A message retried for a failed picture and for an unreadable part: each is counted once."""
    factory = setup_server(server)
    gone = factory.external("gone/later.png", make_picture(2))
    message_id = text_message(factory, f"{gone} {BROKEN}")
    server.fail_next("/ext/gone/later.png", "404")
    first = run(settings, tmp_path)
    assert (first.failed, unreadable(first)) == (1, [f"{message_id}: link 2"])
    with caplog.at_level(logging.DEBUG, logger="picextract"):
        again = run(settings, tmp_path)
    assert (names(tmp_path), again.downloaded, unreadable(again)) == (["later.png", "upload.png"], 1, [f"{message_id}: link 2"])
    assert caplog.text.count("could not read link 2") == 1
