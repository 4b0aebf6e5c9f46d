"""The watch loop against the fake server: messages added while it runs, outages, 429s and 5xx, refusals, memory."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.discord.errors import AuthError, DiscordError, NotFoundError, RequestRejectedError
from picextract.download.options import RunOptions
from picextract.fake.demo_feed import post_chart
from picextract.fake.sample import BOT_TOKEN, CHANNEL_ID, CHANNEL_NAME, GUILD_ID, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.watch.loop import Watcher, WatchReporter, WatchTarget, format_watch_summary, is_transient
from picextract.watch.timing import backoff_cap_seconds, backoff_seconds, format_duration, threads_since
from tests.conftest import NOT_PICTURES
from tests.fake_extras.control import serve_again, stop_serving

UTC = timezone.utc
INTERVAL = 0.05


@pytest.mark.parametrize(
    ("failures", "interval", "unit_random", "expected"),
    [
        (1, 60, 0.0, 30.0),  # the first pause: half to all of one interval
        (1, 60, 1.0, 60.0),
        (2, 60, 1.0, 120.0),  # doubling
        (4, 60, 1.0, 480.0),
        (5, 60, 1.0, 600.0),  # capped at 10 intervals
        (30, 60, 1.0, 600.0),
        (30, 300, 1.0, 900.0),  # ... and at 15 minutes
        (30, 3600, 1.0, 3600.0),  # never below one interval
        (3, 5, 0.5, 15.0),
    ],
)
def test_backoff_doubles_with_jitter_and_cap(failures: int, interval: float, unit_random: float, expected: float) -> None:
    assert backoff_seconds(failures, interval, unit_random) == pytest.approx(expected)
    assert backoff_seconds(failures, interval, unit_random) <= backoff_cap_seconds(interval)


def test_threads_since_looks_back_to_the_last_good_poll_with_a_margin() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert threads_since(start, None, 60) == start
    last = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert threads_since(start, last, 60) == last - timedelta(minutes=3)
    assert threads_since(last, last, 60) == last  # never before the window


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59.4, "59s"), (250, "4m 10s"), (7500, "2h 05m")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("problem", "transient"),
    [
        (DiscordError("x"), False),
        (AuthError("x"), False),
        (NotFoundError("x"), False),
        (RequestRejectedError("HTTP 400"), False),
        (OSError("disk full"), False),
    ],
)
def test_only_api_trouble_is_transient(problem: BaseException, transient: bool) -> None:
    assert is_transient(problem) is transient


@dataclass
class Watch:
    """A watcher over the sample channel whose `wait` runs a script between polls."""

    server: FakeDiscord
    folder: Path
    client: DiscordClient
    watcher: Watcher
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    def files(self) -> set[str]:
        return {p.name for p in self.folder.iterdir() if not p.name.startswith(".") and p.name not in NOT_PICTURES}


def make_watch(
    server: FakeDiscord,
    settings: Settings,
    folder: Path,
    script: Callable[[Watch, int], None],
    polls: int,
    token: str = USER_TOKEN,
    verbose: bool = False,
    threads: bool = True,
) -> Watch:
    """`script(watch, n)` runs after poll n; the watch stops after `polls` polls."""
    client = DiscordClient(token, settings)
    notes: list[str] = []
    reporter = WatchReporter(notes.append)
    downloader = DiscordDownloader(client, folder, RunOptions(UTC, threads=threads), reporter)
    channel = ChannelInfo(CHANNEL_ID, CHANNEL_NAME, GUILD_ID)
    holder: list[Watch] = []

    def wait(seconds: float) -> bool:
        watch = holder[0]
        watch.waits.append(seconds)
        script(watch, len(watch.waits))
        return len(watch.waits) >= polls

    lines: list[str] = []
    watcher = Watcher(
        [WatchTarget(channel, folder, downloader)],
        datetime.now(UTC) - timedelta(days=1),
        INTERVAL,
        reporter,
        out=lines.append,
        verbose=verbose,
        wait=wait,
        unit_random=lambda: 1.0,
        api_requests=lambda: client.api_calls,
    )
    holder.append(Watch(server, folder, client, watcher, lines, notes))
    return holder[0]


def _post_over_control_route(server: FakeDiscord, channel_id: str, filename: str) -> None:
    answer = requests.post(
        f"{server.base_url}/control/messages", json={"channel_id": channel_id, "filename": filename}, timeout=5
    )
    assert answer.status_code == 200 and answer.json()["attachments"][0]["filename"] == filename


def test_watch_saves_messages_added_while_it_runs(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(datetime.now(UTC) - timedelta(hours=1), "old", [factory.attachment("first.png", make_picture(1))])
    on_disk_after_poll: dict[int, set[str]] = {}
    new_files: list[tuple[Path, list[str]]] = []

    def script(watch: Watch, poll: int) -> None:
        on_disk_after_poll[poll] = {name.split("_", 2)[-1] for name in watch.files()}
        if poll == 1:
            _post_over_control_route(server, CHANNEL_ID, "second.png")
        if poll == 3:  # a thread opened while the watch runs
            server.add_thread("1100000000000000777", "live-thread", CHANNEL_ID)
            post_chart(server, "1100000000000000777", "in_thread.png")

    watch = make_watch(server, settings, tmp_path, script, polls=4)
    watch.watcher.after_poll = lambda folder, names: new_files.append((folder, names))
    totals = watch.watcher.run()
    assert on_disk_after_poll[1] == {"first.png"}
    assert on_disk_after_poll[2] == {"first.png", "second.png"}  # on disk one poll after it was posted
    assert on_disk_after_poll[4] == {"first.png", "second.png", "in_thread.png"}
    # One line per poll that found something; the quiet third poll printed nothing.
    assert len(watch.lines) == 3 and all(line.endswith("#spx-realtime-aws: 1 new picture saved") for line in watch.lines)
    assert [len(names) for _, names in new_files] == [1, 1, 1] and {folder for folder, _ in new_files} == {tmp_path}
    assert (totals.polls, totals.pictures_saved, totals.outages) == (4, 3, 0)
    assert totals.api_requests == len(server.api_requests()) > 0
    assert watch.waits[0] <= INTERVAL and server.state.violations == 0


def test_quiet_polls_print_only_with_verbose(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    setup_server(server)
    quiet = make_watch(server, settings, tmp_path, lambda watch, poll: None, polls=3)
    quiet.watcher.run()
    assert quiet.lines == []
    verbose = make_watch(server, settings, tmp_path, lambda watch, poll: None, polls=3, verbose=True)
    verbose.watcher.run()
    assert len(verbose.lines) == 3 and all("nothing new" in line for line in verbose.lines)


def test_watch_rides_out_a_server_restart(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    setup_server(server)

    def script(watch: Watch, poll: int) -> None:
        if poll == 1:
            stop_serving(server)
        if poll == 4:
            post_chart(server, CHANNEL_ID, "posted_while_down.png")
            serve_again(server)

    watch = make_watch(server, settings, tmp_path, script, polls=6)
    totals = watch.watcher.run()
    assert any(name.endswith("posted_while_down.png") for name in watch.files())
    trouble = [line for line in watch.lines if "trouble reaching Discord" in line]
    back = [line for line in watch.lines if "Discord is back after" in line]
    assert len(trouble) == 1 and len(back) == 1  # said once, and when it is back
    assert "could not reach Discord" in trouble[0]
    # Polls 2, 3, 4 failed: the pauses doubled from one interval (jitter at its top here).
    assert watch.waits[1:4] == pytest.approx([INTERVAL, 2 * INTERVAL, 4 * INTERVAL])
    assert totals.outages == 1 and totals.pictures_saved == 1


def test_watch_rides_out_429s_and_5xx(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    setup_server(server)

    def script(watch: Watch, poll: int) -> None:
        if poll == 1:
            server.force_429(12, retry_after=0.01)  # more than the client waits out in one call
            post_chart(server, CHANNEL_ID, "during_429.png")
        if poll == 3:
            server.fail_next("/messages", *["502"] * (settings.MAX_RETRIES + 1))
            post_chart(server, CHANNEL_ID, "during_502.png")

    watch = make_watch(server, settings, tmp_path, script, polls=6, threads=False)  # one request a poll: countable
    totals = watch.watcher.run()
    assert {name.split("_", 2)[-1] for name in watch.files()} == {"during_429.png", "during_502.png"}
    assert sum("trouble reaching Discord" in line for line in watch.lines) == 2
    assert sum("Discord is back after" in line for line in watch.lines) == 2
    assert totals.outages == 2 and server.state.violations == 0


@pytest.mark.parametrize(
    ("token", "refuse", "error"),
    [
        (USER_TOKEN, lambda s: s.state.user_tokens.clear(), "account may be at risk"),
        (f"Bot {BOT_TOKEN}", lambda s: s.state.bot_tokens.clear(), "rejected the token"),
        (USER_TOKEN, lambda s: s.state.channels.pop(CHANNEL_ID), "Unknown Channel"),
    ],
)
def test_refused_token_or_lost_channel_ends_the_watch(
    server: FakeDiscord, settings: Settings, tmp_path: Path, token: str, refuse: Callable[[FakeDiscord], object], error: str
) -> None:
    setup_server(server)

    def script(watch: Watch, poll: int) -> None:
        if poll == 2:
            refuse(server)

    watch = make_watch(server, settings, tmp_path, script, polls=10, token=token)
    with pytest.raises(DiscordError, match=error) as raised:
        watch.watcher.run()
    assert raised.value.exit_code == 3
    assert watch.watcher.totals.polls == 3 and len(watch.waits) == 2
    assert "Watch summary: 1 channel, 3 polls" in format_watch_summary(watch.watcher.totals, watch.watcher.targets)


def test_user_token_asks_a_forbidden_thread_once_over_many_polls(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    setup_server(server)
    server.add_thread("1100000000000000666", "mods-only", CHANNEL_ID, readable=False)
    post_chart(server, "1100000000000000666", "hidden.png")

    def script(watch: Watch, poll: int) -> None:
        post_chart(server, "1100000000000000666", f"hidden_{poll}.png")  # keeps the thread active

    watch = make_watch(server, settings, tmp_path, script, polls=4)
    totals = watch.watcher.run()
    assert totals.polls == 4
    assert len(server.api_requests("/channels/1100000000000000666/")) == 1
    assert len([note for note in watch.notes if "mods-only" in note]) == 2  # the 403, then "not asked again", once each


def test_memory_stays_flat_over_many_polls(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(datetime.now(UTC) - timedelta(hours=1), "", [factory.attachment("a.png", make_picture(1))])
    objects: dict[int, int] = {}

    def script(watch: Watch, poll: int) -> None:
        server.state.requests.clear()  # the fake server's request log is the test's, not the watch's
        if poll in (100, 600):
            gc.collect()
            objects[poll] = len(gc.get_objects())

    watch = make_watch(server, settings, tmp_path, script, polls=600)
    totals = watch.watcher.run()
    assert totals.polls == 600 and totals.pictures_saved == 1
    # Objects alive after 100 and after 600 polls: keeping anything per poll (a summary, a run,
    # a response, a thread) would add thousands.
    assert objects[600] - objects[100] < 300, objects


@pytest.mark.parametrize("token", [USER_TOKEN, f"Bot {BOT_TOKEN}"])
def test_a_quiet_poll_asks_for_one_page_of_messages_and_the_thread_listing(
    server: FakeDiscord, settings: Settings, tmp_path: Path, token: str
) -> None:
    factory = setup_server(server)
    factory.message(datetime.now(UTC) - timedelta(hours=1), "", [factory.attachment("a.png", make_picture(1))])
    server.add_thread("1100000000000000777", "old-thread", CHANNEL_ID)
    post_chart(server, "1100000000000000777", "in_thread.png")
    asked: dict[int, list[str]] = {}

    def script(watch: Watch, poll: int) -> None:
        asked[poll] = [record.path for record in server.api_requests()]
        server.state.requests.clear()

    watch = make_watch(server, settings, tmp_path, script, polls=4, token=token)
    watch.watcher.run()
    assert sum("/messages" in path for path in asked[1]) >= 2  # the first pass: the channel and its thread
    for poll in (2, 3, 4):  # quiet: the channel's newest messages, then the listing of threads active lately
        messages = [path for path in asked[poll] if path.endswith("/messages")]
        assert messages == [f"/api/v10/channels/{CHANNEL_ID}/messages"], asked[poll]
        assert all(path.endswith("/messages") or "/threads" in path for path in asked[poll]), asked[poll]
        assert len(asked[poll]) == 2, asked[poll]  # one page of messages and one thread listing, nothing more


def test_a_thread_archived_between_polls_is_paged_once_more(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    """A bot's later polls list the active threads only: a thread that leaves that list (archived since the
    last poll) is paged once more, so what it got before its archiving is saved."""
    setup_server(server)
    thread = server.add_thread("1100000000000000778", "signals", CHANNEL_ID)
    post_chart(server, thread["id"], "before_archive.png")
    asked: dict[int, list[str]] = {}

    def script(watch: Watch, poll: int) -> None:
        asked[poll] = [record.path for record in server.api_requests()]
        server.state.requests.clear()
        if poll == 1:
            post_chart(server, thread["id"], "posted_then_archived.png")
            thread["thread_metadata"]["archived"] = True

    watch = make_watch(server, settings, tmp_path, script, polls=3, token=f"Bot {BOT_TOKEN}")
    watch.watcher.run()
    assert {"before_archive.png", "posted_then_archived.png"} <= {name.split("_", 2)[-1] for name in watch.files()}
    assert not any("archived" in path for path in asked[2] + asked[3]), asked
    assert not any(thread["id"] in path for path in asked[3]), asked[3]  # paged once, then no more
