"""Filters against the fake server: authors, bots and webhooks, text in embeds, forwards, filtered-then-unfiltered runs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
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
    CHANNEL_ID,
    CHANNEL_NAME,
    USER_TOKEN,
    MessageFactory,
    iso,
    make_picture,
    setup_server,
    stamp,
    user,
    webhook_author,
)
from picextract.fake.server import FakeDiscord
from picextract.pictures.filters import MessageFilter, parse_filter
from picextract.store.layout import INDEX_FILE_NAME, STATE_FILE_NAME
from tests.conftest import program_env, run_main, saved_pictures

UTC = timezone.utc
CHANNEL = ChannelInfo(CHANNEL_ID, CHANNEL_NAME)
ALICE = user("101", "alice_t", "Alice")
BOB = user("102", "bob")
CAROL = user("104", "carol", "Carol")
SIGNALBOT = user("103", "signalbot", bot=True)


@dataclass
class Channel:
    """The test channel: file name -> bytes of each picture, and when the window starts."""

    factory: MessageFactory
    since: datetime
    files: dict[str, bytes]

    def post(self, when: datetime, author: dict[str, object], name: str, content: str = "", seed: int = 0) -> str:
        """A message by `author` with one attachment; returns the file name it is saved under."""
        data = make_picture(seed or len(self.files) + 1)
        self.factory.message(when, content, [self.factory.attachment(name, data)], author=author)
        self.files[f"{stamp(when)}_{name}"] = data
        return f"{stamp(when)}_{name}"


def _channel(server: FakeDiscord) -> Channel:
    """Six messages: Alice, Bob, a bot's embed, a webhook, Bob forwarding, Carol."""
    factory = setup_server(server)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    channel = Channel(factory, start - timedelta(minutes=1), {})
    channel.post(start, ALICE, "a1.png", "SPX long here")
    channel.post(start + timedelta(minutes=1), BOB, "b1.png", "ES short")
    when, data = start + timedelta(minutes=2), make_picture(30)
    url = factory.external("bot/signal.png", data)
    embed = {"type": "rich", "title": "SPX Signal", "description": "Breakout above 5000", "image": {"url": url}}
    factory.message(when, "", embeds=[embed], author=SIGNALBOT)
    channel.files[f"{stamp(when)}_signal.png"] = data
    when, data = start + timedelta(minutes=3), make_picture(40)
    factory.message(
        when, "alert", [factory.attachment("hook.png", data)], author=webhook_author("55", "Captain Hook"), webhook_id="55"
    )
    channel.files[f"{stamp(when)}_hook.png"] = data
    when, data = start + timedelta(minutes=4), make_picture(50)
    snapshot = {"message": {"type": 0, "content": "spx from elsewhere", "attachments": [factory.attachment("fwd.gif", data)]}}
    snapshot["message"]["timestamp"] = iso(when - timedelta(days=300))
    factory.message(when, "", author=BOB, message_reference={"type": 1}, message_snapshots=[snapshot], flags=16384)
    channel.files[f"{stamp(when)}_fwd.gif"] = data
    channel.post(start + timedelta(minutes=5), CAROL, "c1.png", "nothing to see")
    return channel


def _run(settings: Settings, out: Path, since: datetime, message_filter: MessageFilter | None = None) -> Summary:
    client = DiscordClient(USER_TOKEN, settings)
    try:
        return DiscordDownloader(client, out, RunOptions(UTC, workers=3, message_filter=message_filter or MessageFilter())).run(
            CHANNEL, since
        )
    finally:
        client.close()


def _only(channel: Channel, *names: str) -> dict[str, bytes]:
    return {name: data for name, data in channel.files.items() if name.split("_", 2)[2] in names}


@pytest.mark.parametrize(
    ("authors", "source", "contains", "names"),
    [
        (["Alice"], None, None, ["a1.png"]),  # display name
        (["alice_t"], None, None, ["a1.png"]),  # user name
        (["102"], None, None, ["b1.png", "fwd.gif"]),  # user id; the forward counts for who forwarded it
        (["bob", "carol"], None, None, ["b1.png", "fwd.gif", "c1.png"]),  # repeated flag
        (["Captain Hook,signalbot"], None, None, ["hook.png", "signal.png"]),  # a webhook by its name
        (None, "bots", None, ["signal.png", "hook.png"]),  # webhooks count as bots
        (None, "people", None, ["a1.png", "b1.png", "fwd.gif", "c1.png"]),
        (None, None, "spx", ["a1.png", "signal.png", "fwd.gif"]),  # content, embed title, forwarded text
        (None, None, "re:^break(out|down)", ["signal.png"]),  # embed description
        (["bob"], "people", "SPX", ["fwd.gif"]),  # AND
        (["alice"], "bots", None, []),
    ],
)
def test_filters_choose_the_pictures(
    server: FakeDiscord,
    settings: Settings,
    tmp_path: Path,
    authors: list[str] | None,
    source: str | None,
    contains: str | None,
    names: list[str],
) -> None:
    channel = _channel(server)
    summary = _run(settings, tmp_path, channel.since, parse_filter(authors, source, contains))
    assert saved_pictures(tmp_path) == _only(channel, *names)
    assert (summary.downloaded, summary.left_out, summary.failed) == (len(names), len(channel.files) - len(names), 0)
    assert summary.pictures_found == len(names)


def test_exact_name_first_then_ignoring_case(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    channel = Channel(setup_server(server), datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1), {})
    upper = channel.post(channel.since + timedelta(minutes=1), user("201", "u1", "Alice"), "upper.png")
    lower = channel.post(channel.since + timedelta(minutes=2), user("202", "u2", "alice"), "lower.png")
    summary = _run(settings, tmp_path / "exact", channel.since, parse_filter(["alice"], None, None))
    assert set(saved_pictures(tmp_path / "exact")) == {lower} and summary.left_out == 1
    _run(settings, tmp_path / "folded", channel.since, parse_filter(["ALICE"], None, None))
    assert set(saved_pictures(tmp_path / "folded")) == {upper, lower}


def test_filtered_then_unfiltered_then_filtered_again(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    channel = _channel(server)
    only_alice = parse_filter(["Alice"], None, None)
    first = _run(settings, tmp_path, channel.since, only_alice)
    assert saved_pictures(tmp_path) == _only(channel, "a1.png") and first.left_out == 5
    # New posts between runs: the filtered run's progress must not hide Bob's from a later run.
    late_bob = channel.post(channel.since + timedelta(minutes=30), BOB, "b2.png")
    late_alice = channel.post(channel.since + timedelta(minutes=31), ALICE, "a2.png")
    second = _run(settings, tmp_path, channel.since, only_alice)
    assert (second.messages_scanned, second.downloaded, second.left_out) == (2, 1, 1)  # only the new messages
    assert set(saved_pictures(tmp_path)) == {*_only(channel, "a1.png"), late_alice}
    cdn_before = len(server.cdn_requests())
    unfiltered = _run(settings, tmp_path, channel.since)
    assert saved_pictures(tmp_path) == channel.files  # every picture the filtered runs left out, and b2
    assert late_bob in saved_pictures(tmp_path)
    assert (unfiltered.downloaded, unfiltered.skipped, unfiltered.left_out) == (len(channel.files) - 2, 2, 0)
    assert len(server.cdn_requests()) == cdn_before + len(channel.files) - 2  # Alice's pictures are not fetched again
    cdn_before = len(server.cdn_requests())
    for again in (only_alice, parse_filter(None, "bots", None)):
        summary = _run(settings, tmp_path, channel.since, again)
        assert (summary.downloaded, summary.failed, summary.messages_scanned) == (0, 0, 0)
    assert saved_pictures(tmp_path) == channel.files
    assert len(server.cdn_requests()) == cdn_before


def test_failure_under_a_filter_is_kept_for_an_unfiltered_run(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    channel = _channel(server)
    server.fail_next("b1.png", *["html"] * 8)
    failed = _run(settings, tmp_path, channel.since)
    assert failed.failed == 1
    # A filter that leaves the failed picture out neither retries nor forgets it.
    filtered = _run(settings, tmp_path, channel.since, parse_filter(["Alice"], None, None))
    assert (filtered.downloaded, filtered.failed) == (0, 0)
    retried = _run(settings, tmp_path, channel.since)
    assert (retried.downloaded, retried.failed) == (1, 0)
    assert saved_pictures(tmp_path) == channel.files


def _index_rows(folder: Path) -> list[list[str]]:
    with open(folder / INDEX_FILE_NAME, newline="", encoding="utf-8") as index:
        return list(csv.reader(index))[1:]


def test_index_keeps_one_row_per_picture_after_the_state_file_was_deleted(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    channel = _channel(server)
    _run(settings, tmp_path, channel.since)
    assert sorted(row[0] for row in _index_rows(tmp_path)) == sorted(channel.files)
    for path in tmp_path.glob(f"{STATE_FILE_NAME}*"):
        path.unlink()
    again = _run(settings, tmp_path, channel.since)
    assert (again.downloaded, again.skipped) == (0, len(channel.files))
    assert sorted(row[0] for row in _index_rows(tmp_path)) == sorted(channel.files)
    late = channel.post(channel.since + timedelta(minutes=40), CAROL, "c2.png")
    _run(settings, tmp_path, channel.since)
    assert sorted(row[0] for row in _index_rows(tmp_path)) == sorted(channel.files) and late in channel.files


# --- main.py end to end ---------------------------------------------------------------------


def test_main_header_summary_and_unknown_author(server: FakeDiscord, tmp_path: Path) -> None:
    channel = _channel(server)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    base = ["--channel", CHANNEL_ID, "--output", "pics", "--timezone", "UTC", "--days", "1"]
    result = run_main([*base, "--author", "Alice", "--from", "people", "--contains", "re:spx"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "only pictures by Alice, from people, with text matching /spx/" in result.stdout + result.stderr
    assert "Left out:          5 (by the filters)" in result.stdout
    assert saved_pictures(tmp_path / "pics") == _only(channel, "a1.png")
    # A later run with the same filters pages only new messages (none): Alice is known from the state file.
    again = run_main([*base, "--author", "Alice", "--from", "people", "--contains", "re:spx"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Scanned:           0 messages" in again.stdout
    unknown = run_main([*base, "--author", "Alcie,bob"], env, tmp_path)
    assert unknown.returncode == 2
    error = unknown.stderr.strip().splitlines()[-1]
    assert error.startswith("error: --author: nobody named 'Alcie' posted in the window; authors seen: Alice (@alice_t), bob, ")
    assert "Captain Hook" in error and "signalbot" in error and "Traceback" not in unknown.stderr
    plain = run_main(base, env, tmp_path)
    assert "Left out" not in plain.stdout and "only pictures" not in plain.stdout + plain.stderr
    assert saved_pictures(tmp_path / "pics") == channel.files
    # A new filter after an unfiltered run reads nothing again, and still knows who posted.
    by_bob = run_main([*base, "--author", "bob"], env, tmp_path)
    assert by_bob.returncode == 0, by_bob.stderr
    assert "Scanned:           0 messages" in by_bob.stdout and "Left out:          0 (by the filters)" in by_bob.stdout


def test_unknown_author_in_an_empty_window(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main(["--channel", CHANNEL_ID, "--output", "pics", "--author", "nobody"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("no authors were seen in the window")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--contains", "re:(spx"], "--contains: bad regular expression '(spx'"),
        (["--from", "robots"], "--from must be one of all, bots, people"),
        (["--name", "{date}_{nmae}.{ext}"], "--name: unknown field {nmae}"),
        (["--name", "{date}_{name}"], "--name: the template needs {ext}"),
    ],
)
def test_bad_filter_and_template_flags_fail_before_any_prompt(
    server: FakeDiscord, tmp_path: Path, flags: list[str], message: str
) -> None:
    result = run_main(flags, program_env(server), tmp_path)  # no token, no channel: the flags are checked first
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stdout + result.stderr
    assert server.api_requests() == []
