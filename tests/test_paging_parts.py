"""A bot pages parts of the window at once, and hands the messages on in the order one pager would."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from config import Settings
from picextract.discord.client import DiscordClient, PagingError
from picextract.discord.rate_limits import RateLimiter
from picextract.download.paging import channel_messages, part_bounds
from picextract.fake.sample import BOT_TOKEN, CHANNEL_ID, USER_TOKEN, setup_server
from picextract.fake.server import FakeDiscord
from picextract.pictures.refs import datetime_to_snowflake

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _fill(server: FakeDiscord, count: int, days: float = 10) -> list[str]:
    factory = setup_server(server)
    start = NOW - timedelta(days=days)
    return [factory.message(start + timedelta(days=days) * number / count, f"m{number}")["id"] for number in range(count)]


def _ids(settings: Settings, token: str, after: int, before: int | None) -> list[str]:
    client = DiscordClient(token, settings)
    try:
        return [m["id"] for m in channel_messages(client, CHANNEL_ID, after, before, threading.Event())]
    finally:
        client.close()


def test_part_bounds_cover_the_rest_of_the_window_without_gaps() -> None:
    bounds = part_bounds(after=0, cursor=1000, before=None, upper=11_000, parts=4)
    assert bounds == [(1000, 3500), (3499, 6000), (5999, 8500), (8499, None)]  # after < id < before: no id lost
    assert part_bounds(after=0, cursor=1000, before=9000, upper=11_000, parts=4)[-1] == (6999, 9000)
    assert part_bounds(after=0, cursor=1000, before=None, upper=2500, parts=4) == []  # about one page left
    assert part_bounds(after=0, cursor=1000, before=None, upper=900, parts=4) == []  # a cursor past now


@pytest.mark.parametrize("before_days", [None, 3.0])
def test_a_bot_pages_in_parts_and_sees_the_sequence_of_one_pager(
    server: FakeDiscord, settings: Settings, before_days: float | None
) -> None:
    ids = _fill(server, 1234)
    after = datetime_to_snowflake(NOW - timedelta(days=9)) - 1
    before = datetime_to_snowflake(NOW - timedelta(days=before_days)) if before_days else None
    expected = [i for i in ids if int(i) > after and (before is None or int(i) < before)]
    assert _ids(settings, f"Bot {BOT_TOKEN}", after, before) == expected
    cursors = {r.query["after"] for r in server.api_requests("/messages")}
    assert len(cursors) > len(server.api_requests("/messages")) // 2  # no page was read twice or so
    assert len(server.api_requests("/messages")) < len(expected) // 100 + 1 + 2 * 4  # a few partial pages at most
    assert server.state.violations == 0


def test_a_user_token_pages_one_request_at_a_time(server: FakeDiscord, settings: Settings) -> None:
    ids = _fill(server, 450)
    assert _ids(settings, USER_TOKEN, 0, None) == ids
    assert len(server.api_requests("/messages")) == 5  # the sequential pages, nothing more


def test_a_short_window_is_one_page(server: FakeDiscord, settings: Settings) -> None:
    ids = _fill(server, 60)
    assert _ids(settings, f"Bot {BOT_TOKEN}", 0, None) == ids
    assert len(server.api_requests("/messages")) == 1


def test_a_server_that_ignores_after_still_stops_paging_with_an_error(server: FakeDiscord, settings: Settings) -> None:
    ids = _fill(server, 600)
    server.fail_next("/messages", "ok", *["ignore_after"] * 20)  # the first page is right, then every part gets the newest
    seen: list[str] = []
    client = DiscordClient(f"Bot {BOT_TOKEN}", settings)
    try:
        with pytest.raises(PagingError):
            for message in channel_messages(client, CHANNEL_ID, 0, None, threading.Event()):
                seen.append(message["id"])
    finally:
        client.close()
    # No progress is recorded (the error ends the channel); what came before it is real and in order.
    assert seen[:100] == ids[:100] and set(seen) <= set(ids) and seen == sorted(seen, key=int)


def test_a_server_that_always_ignores_after_is_caught_on_the_parts_first_pages(server: FakeDiscord, settings: Settings) -> None:
    factory = setup_server(server)
    for number in range(300):  # a quiet channel: its newest message is 8 days old, the window 10 days
        factory.message(NOW - timedelta(days=10) + timedelta(days=2) * number / 300, f"m{number}")
    server.fail_next("/messages", *["ignore_after"] * 20)
    with pytest.raises(PagingError, match="ignores `after`"):
        _ids(settings, f"Bot {BOT_TOKEN}", datetime_to_snowflake(NOW - timedelta(days=10)) - 1, None)
    assert len(server.api_requests("/messages")) <= 1 + 4


def test_the_limiter_counts_requests_in_flight_and_never_trusts_a_stale_answer() -> None:
    clock = [100.0]
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(0.0, clock=lambda: clock[0], sleep=fake_sleep)
    route, headers = "GET /m", {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset-After": "1.0"}
    limiter.acquire(route, is_api=True)
    limiter.update(route, headers)  # the first answer: 3 left in this window
    limiter.release(route)
    for _ in range(3):  # three requests in flight at once: the bucket is used up
        limiter.acquire(route, is_api=True)
    limiter.update(route, {**headers, "X-RateLimit-Remaining": "2"})  # counts only the first of them
    limiter.release(route)
    assert slept == []
    limiter.acquire(route, is_api=True)  # must wait for the reset, not trust "2"
    assert slept == [pytest.approx(1.0)]


def test_messages_before_an_error_on_the_first_page_are_handed_on(server: FakeDiscord, settings: Settings) -> None:
    ids = _fill(server, 50)
    setup_server(server).message(NOW + timedelta(days=3), "from the future")
    seen: list[str] = []
    client = DiscordClient(f"Bot {BOT_TOKEN}", settings)
    try:
        with pytest.raises(PagingError, match="future"):
            for message in channel_messages(client, CHANNEL_ID, 0, None, threading.Event()):
                seen.append(message["id"])
    finally:
        client.close()
    assert seen == ids
