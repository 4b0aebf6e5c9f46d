"""The API client against the fake Discord server over real sockets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config import Settings
from picextract.discord.client import DiscordClient, DownloadError
from picextract.discord.errors import AccessError, ApiError, AuthError, NotFoundError
from picextract.discord.rate_limits import RateLimiter
from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.pictures.refs import datetime_to_snowflake

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _client(settings: Settings, token: str = USER_TOKEN) -> DiscordClient:
    return DiscordClient(token, settings)


def _fill(server: FakeDiscord, count: int, start: datetime, step: timedelta = timedelta(minutes=1)) -> list[str]:
    factory = setup_server(server)
    return [factory.message(start + step * number, f"m{number}")["id"] for number in range(count)]


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 200, 250])
def test_iter_messages_pages_forward_oldest_first(server: FakeDiscord, settings: Settings, count: int) -> None:
    ids = _fill(server, count, NOW - timedelta(days=1))
    client = _client(settings)
    got = [m["id"] for m in client.iter_messages(CHANNEL_ID, 0, None)]
    assert got == ids
    requests = server.api_requests("/messages")
    assert all("after" in r.query and "before" not in r.query for r in requests)
    # Full pages need one more request to learn they were the last one; short pages do not.
    assert len(requests) == count // 100 + 1


def test_iter_messages_never_reads_history_older_than_window(server: FakeDiscord, settings: Settings) -> None:
    ids = _fill(server, 500, NOW - timedelta(days=30), step=timedelta(hours=1))
    window_start = NOW - timedelta(days=30) + timedelta(hours=450)
    got = [m["id"] for m in _client(settings).iter_messages(CHANNEL_ID, datetime_to_snowflake(window_start) - 1, None)]
    assert got == ids[450:]
    assert len(server.api_requests("/messages")) == 1  # 50 messages: one page, nothing older touched


def test_iter_messages_window_edges(server: FakeDiscord, settings: Settings) -> None:
    ids = _fill(server, 10, NOW - timedelta(hours=1))
    start = NOW - timedelta(hours=1) + timedelta(minutes=3)  # message 3 is exactly at the start: included
    end = NOW - timedelta(hours=1) + timedelta(minutes=7)  # message 7 is exactly at the end: excluded
    got = [
        m["id"] for m in _client(settings).iter_messages(CHANNEL_ID, datetime_to_snowflake(start) - 1, datetime_to_snowflake(end))
    ]
    assert got == ids[3:7]


def test_iter_messages_stops_at_window_end_without_more_pages(server: FakeDiscord, settings: Settings) -> None:
    _fill(server, 400, NOW - timedelta(days=2))
    end = NOW - timedelta(days=2) + timedelta(minutes=150)
    got = list(_client(settings).iter_messages(CHANNEL_ID, 0, datetime_to_snowflake(end)))
    assert len(got) == 150
    assert len(server.api_requests("/messages")) == 2


def test_forced_429s_are_waited_out_without_violations(server: FakeDiscord, settings: Settings) -> None:
    ids = _fill(server, 350, NOW - timedelta(days=1))
    server.force_429(3, retry_after=0.05)
    server.force_429(1, retry_after=0.05, is_global=True)
    assert [m["id"] for m in _client(settings).iter_messages(CHANNEL_ID, 0, None)] == ids
    assert server.state.violations == 0


def test_bucket_limits_are_honoured(server: FakeDiscord, settings: Settings) -> None:
    _fill(server, 1, NOW)
    client = _client(settings)
    for _ in range(25):  # bucket_limit=5 per 50 ms: the client must wait on Remaining: 0
        client.get_channel(CHANNEL_ID)
    assert server.state.violations == 0


def test_rate_limit_delay_spaces_api_calls(server: FakeDiscord, settings: Settings) -> None:
    _fill(server, 1, NOW)
    slept: list[float] = []
    clock = [0.0]

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(1.0, clock=lambda: clock[0], sleep=fake_sleep)
    for _ in range(3):
        limiter.acquire("GET /x", is_api=True)
    assert slept == [1.0, 1.0]
    limiter.acquire("CDN host", is_api=False)  # CDN downloads do not wait on RATE_LIMIT_DELAY
    assert slept == [1.0, 1.0]


@pytest.mark.parametrize("faults", [("500",), ("502", "500"), ("drop",), ("truncate",), ("drop", "502", "truncate")])
def test_api_recovers_from_transient_faults(server: FakeDiscord, settings: Settings, faults: tuple[str, ...]) -> None:
    _fill(server, 3, NOW)
    server.fail_next("/messages", *faults)
    assert len(list(_client(settings).iter_messages(CHANNEL_ID, 0, None))) == 3


def test_api_gives_up_after_max_retries(server: FakeDiscord, settings: Settings) -> None:
    _fill(server, 3, NOW)
    server.fail_next("/messages", *["500"] * 10)
    with pytest.raises(ApiError, match="HTTP 500"):
        list(_client(settings).iter_messages(CHANNEL_ID, 0, None))
    assert len(server.api_requests("/messages")) == settings.MAX_RETRIES + 1


def test_slow_reply_times_out_and_is_retried(server: FakeDiscord, settings: Settings) -> None:
    _fill(server, 2, NOW)
    server.state.slow_seconds = 1.0
    server.fail_next("/messages", "slow")
    quick = Settings(**{**settings.__dict__, "REQUEST_TIMEOUT": 0.3})
    assert len(list(_client(quick).iter_messages(CHANNEL_ID, 0, None))) == 2


@pytest.mark.parametrize(
    ("token", "channel", "readable", "error", "text"),
    [
        ("wrong-token", CHANNEL_ID, True, AuthError, "rejected the token"),
        (USER_TOKEN, "999", True, NotFoundError, "Unknown Channel"),
        (USER_TOKEN, CHANNEL_ID, False, AccessError, "Missing Access"),
    ],
)
def test_refusals_are_never_retried(
    server: FakeDiscord, settings: Settings, token: str, channel: str, readable: bool, error: type, text: str
) -> None:
    setup_server(server)
    if not readable:
        server.state.forbidden_channels.add(CHANNEL_ID)
    with pytest.raises(error, match=text) as raised:
        _client(settings, token).get_channel(channel)
    assert len(server.api_requests()) == 1
    assert "wrong-token" not in str(raised.value) and USER_TOKEN not in str(raised.value)


def test_bad_snowflake_is_a_clear_api_error(server: FakeDiscord, settings: Settings) -> None:
    setup_server(server)
    with pytest.raises(ApiError, match="Invalid Form Body"):
        _client(settings).get_channel("abc")


def test_token_goes_to_api_only_never_to_cdn(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    attachment = factory.attachment("a.png", make_picture(1))
    client = _client(settings)
    client.get_channel(CHANNEL_ID)
    client.fetch_to_file(attachment["url"], tmp_path / "a.part", attachment["size"])
    assert [r.authorization for r in server.api_requests()] == [USER_TOKEN]
    assert [r.authorization for r in server.cdn_requests()] == [None]


@pytest.mark.parametrize(
    "faults", [("500",), ("drop",), ("truncate",), ("html",), ("429",), ("slow",), ("truncate", "html", "502")]
)
def test_download_recovers_from_faults(server: FakeDiscord, settings: Settings, tmp_path: Path, faults: tuple[str, ...]) -> None:
    factory = setup_server(server)
    data = make_picture(2)
    attachment = factory.attachment("b.png", data)
    server.state.slow_seconds = 1.0
    server.fail_next("b.png", *faults)
    quick = Settings(**{**settings.__dict__, "REQUEST_TIMEOUT": 0.5})
    part = tmp_path / "b.png.part"
    result = _client(quick).fetch_to_file(attachment["url"], part, attachment["size"])
    assert part.read_bytes() == data and result.size_bytes == len(data) and result.extension == ".png"
    assert server.state.violations == 0


@pytest.mark.parametrize(("faults", "status"), [(("404",), 404), (("html",) * 4, 200), (("truncate",) * 4, 200)])
def test_download_failure_leaves_no_part_file(
    server: FakeDiscord, settings: Settings, tmp_path: Path, faults: tuple[str, ...], status: int
) -> None:
    factory = setup_server(server)
    attachment = factory.attachment("c.png", make_picture(3))
    server.fail_next("c.png", *faults)
    part = tmp_path / "c.png.part"
    with pytest.raises(DownloadError) as raised:
        _client(settings).fetch_to_file(attachment["url"], part, attachment["size"])
    assert raised.value.status == status
    assert not part.exists()


def test_download_rejects_size_other_than_announced(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    attachment = factory.attachment("d.png", make_picture(4))
    with pytest.raises(DownloadError, match="announced"):
        _client(settings).fetch_to_file(attachment["url"], tmp_path / "d.part", attachment["size"] + 1)
    assert not (tmp_path / "d.part").exists()
