"""The user-token pace (one request at a time, jittered pauses, stop at the first sign of trouble) and bot speed."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.discord.errors import AccessError, AuthError
from picextract.discord.pace import AccountAtRiskError, BotPace, UserPace, default_workers, is_guild_route, jittered_seconds
from picextract.download.options import RunOptions
from picextract.fake.sample import (
    BOT_TOKEN,
    CHANNEL_ID,
    CHANNEL_NAME,
    GUILD_ID,
    USER_TOKEN,
    MessageFactory,
    make_picture,
    setup_server,
)
from picextract.fake.server import FakeDiscord
from tests.conftest import program_env, run_main

UTC = timezone.utc


@pytest.mark.parametrize(
    ("delay", "unit_random", "expected"),
    [(1.0, 0.0, 0.7), (1.0, 0.5, 1.0), (1.0, 0.999999, 1.3), (2.0, 0.25, 1.7), (0.0, 0.9, 0.0)],
)
def test_jittered_seconds_stays_within_thirty_percent(delay: float, unit_random: float, expected: float) -> None:
    assert jittered_seconds(delay, unit_random) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(
    ("path", "guild_level"),
    [
        ("/channels/1/messages", True),
        ("/channels/1/threads/search", True),
        ("/guilds/1/channels", True),
        ("/users/@me/guilds", False),
        ("/attachments/refresh-urls", False),
    ],
)
def test_guild_level_routes(path: str, guild_level: bool) -> None:
    assert is_guild_route(path) is guild_level


def test_user_pace_pauses_a_jittered_delay_between_requests() -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    randoms = iter([0.0, 1.0, 0.5, 0.25])
    pace = UserPace(2.0, clock=lambda: clock[0], sleep=sleep, unit_random=lambda: next(randoms))
    for _ in range(4):
        with pace.turn("/channels/1/messages"):
            pass
    assert slept == pytest.approx([1.4, 2.6, 2.0])  # 2 s x (1 - 0.3), x (1 + 0.3), x 1
    assert pace.requests == 4


def test_user_pace_sends_one_request_at_a_time() -> None:
    pace = UserPace(0.0)
    in_flight = [0]
    most = [0]

    def requests() -> None:
        for _ in range(10):
            with pace.turn("/channels/1"):
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
                time.sleep(0.002)
                in_flight[0] -= 1

    threads = [threading.Thread(target=requests) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and pace.requests == 40


def test_bot_pace_does_not_serialise() -> None:
    pace = BotPace()
    both_inside = threading.Barrier(2, timeout=5)

    def request() -> None:
        with pace.turn("/channels/1"):
            both_inside.wait()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not both_inside.broken and pace.requests == 2


def test_user_token_stops_at_first_401_and_sends_nothing_after(server: FakeDiscord, settings: Settings) -> None:
    setup_server(server)
    client = DiscordClient("revoked-user-token", settings)
    with pytest.raises(AuthError, match="rejected the token.*account may be at risk") as raised:
        client.get_channel(CHANNEL_ID)
    assert isinstance(raised.value, AccountAtRiskError) and raised.value.exit_code == 3
    with pytest.raises(AccountAtRiskError):
        client.list_guilds()
    assert len(server.api_requests()) == 1


def test_user_token_never_asks_a_refused_path_again_and_stops_at_second_403(server: FakeDiscord, settings: Settings) -> None:
    setup_server(server)
    server.add_channel("1100000000000000091", "secret-a", GUILD_ID, readable=False)
    server.add_channel("1100000000000000092", "secret-b", GUILD_ID, readable=False)
    client = DiscordClient(USER_TOKEN, settings)
    with pytest.raises(AccessError, match="Missing Access"):
        client.get_channel("1100000000000000091")
    with pytest.raises(AccessError, match="does not ask twice"):
        client.get_channel("1100000000000000091")
    assert len(server.api_requests()) == 1
    with pytest.raises(AccountAtRiskError, match="second request.*account may be at risk"):
        client.get_channel("1100000000000000092")
    with pytest.raises(AccountAtRiskError):
        client.get_channel(CHANNEL_ID)  # readable, but the run has stopped
    assert len(server.api_requests()) == 2


def test_bot_token_is_paced_by_headers_alone(server: FakeDiscord, settings: Settings) -> None:
    setup_server(server)
    server.state.bucket_limit = 100  # no header asks for a wait
    slept: list[float] = []
    slow = replace(settings, RATE_LIMIT_DELAY=5.0)
    bot = DiscordClient(f"Bot {BOT_TOKEN}", slow, sleep=slept.append)
    for _ in range(3):
        bot.get_channel(CHANNEL_ID)
    assert slept == [] and bot.api_calls == 3
    clock = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    user = DiscordClient(USER_TOKEN, slow, sleep=sleep, clock=lambda: clock[0])
    for _ in range(3):
        user.get_channel(CHANNEL_ID)
    assert len(slept) == 2 and all(3.5 <= seconds <= 6.5 for seconds in slept)  # 5 s +/- 30 %


def test_bots_get_more_download_workers_than_users() -> None:
    settings = Settings()
    assert default_workers(settings, is_bot=True) == settings.BOT_MAX_WORKERS > default_workers(settings, is_bot=False)


def _threads(server: FakeDiscord, now: datetime, active: int, quiet: int) -> list[str]:
    """`active` threads with a message an hour ago, `quiet` ones last active 30 days ago."""
    ids = []
    for number in range(active + quiet):
        when = now - (timedelta(hours=1) if number < active else timedelta(days=30)) + timedelta(seconds=number)
        thread_id = str(int(CHANNEL_ID) + 1000 + number)
        server.add_thread(thread_id, f"t{number}", CHANNEL_ID)
        factory = MessageFactory(server, thread_id)
        factory.message(when, f"in thread {number}", [factory.attachment(f"t{number}.png", make_picture(number))])
        ids.append(thread_id)
    return ids


def test_user_run_lists_only_threads_active_in_window_and_counts_its_requests(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    factory = setup_server(server)
    factory.message(now - timedelta(hours=2), "chart", [factory.attachment("c.png", make_picture(1))])
    _threads(server, now, active=3, quiet=60)
    client = DiscordClient(USER_TOKEN, settings)
    summary = DiscordDownloader(client, tmp_path, RunOptions(UTC)).run(
        ChannelInfo(CHANNEL_ID, CHANNEL_NAME, GUILD_ID), now - timedelta(days=2)
    )
    assert summary.downloaded == 4 and summary.threads_scanned == 3
    # One threads/search page (25 threads, the quiet ones at its end): the quiet rest is never paged.
    assert len(server.api_requests("/threads/search")) == 1
    assert summary.api_requests == len(server.api_requests()) == 1 + 1 + 3  # channel, search, each active thread


def test_main_prints_request_count_and_stops_with_risk_line(server: FakeDiscord, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    factory = setup_server(server)
    factory.message(now - timedelta(hours=2), "chart", [factory.attachment("c.png", make_picture(1))])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    ok = run_main(["--channel", CHANNEL_ID, "--output", "o"], env, tmp_path)
    assert ok.returncode == 0, ok.stderr
    run_requests = len(server.api_requests()) - 1  # the channel lookup comes before the run
    assert f"API requests:      {run_requests}\n" in ok.stdout
    server.state.user_tokens.clear()  # Discord logs the account out
    before = len(server.api_requests())
    refused = run_main(["--channel", CHANNEL_ID, "--output", "o"], env, tmp_path)
    assert refused.returncode == 3
    assert "account may be at risk" in refused.stderr and refused.stderr.count("\n") <= 2
    assert len(server.api_requests()) == before + 1
