"""Issue 10 parts 6, 7, 8, 9, 10, 12 and 14: a server that loops, floods, drips, compresses, stalls,
answers web pages or refuses listings; each ends in a saved picture or a clear error, never a hang."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.discord.errors import ApiError
from picextract.discord.rate_limits import RateLimiter, WaitTooLong, retry_after_seconds
from picextract.download.options import RunOptions
from picextract.download.results import Summary
from picextract.fake.objects import HTML_PAGE
from picextract.fake.sample import (
    BOT_TOKEN,
    CHANNEL_ID,
    CHANNEL_NAME,
    GUILD_ID,
    USER_TOKEN,
    MessageFactory,
    make_picture,
    setup_server,
    snowflake_at,
)
from picextract.fake.server import FakeDiscord
from tests.conftest import ROOT, program_env, saved_pictures

UTC = timezone.utc
CHANNEL = ChannelInfo(CHANNEL_ID, CHANNEL_NAME, GUILD_ID)
HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


class FakeTime:
    """A clock that moves only when the program sleeps: waits are recorded, never spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(
    settings: Settings, out: Path, since: datetime = HOUR_AGO - timedelta(minutes=5), token: str = USER_TOKEN, **clock: object
) -> tuple[Summary, list[str]]:
    notes: list[str] = []

    class Notes:
        def message_scanned(self) -> None: ...
        def picture_found(self) -> None: ...
        def picture_done(self, result: object) -> None: ...
        def note(self, text: str) -> None:
            notes.append(text)

    client = DiscordClient(token, settings, announce=notes.append, **clock)  # type: ignore[arg-type]
    try:
        return DiscordDownloader(client, out, RunOptions(UTC, workers=3), Notes()).run(CHANNEL, since), notes
    finally:
        client.close()


# --- part 6: paging guards ----------------------------------------------------------------------


def test_a_server_that_ignores_after_stops_paging_with_a_clear_error(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    factory = setup_server(server)
    data = make_picture(1)
    for number in range(150):
        attachments = [factory.attachment("chart.png", data)] if number == 149 else []
        factory.message(HOUR_AGO + timedelta(seconds=number), f"message {number}", attachments)
    server.fail_next("/messages", *["ignore_after"] * 50)
    summary, notes = run(settings, tmp_path)
    assert len(server.api_requests("/messages")) <= 3  # bounded, not 50 pages of the same messages
    assert len(summary.source_errors) == 1 and "ignores `after`" in summary.source_errors[0]
    assert summary.has_errors and any("ignores `after`" in note for note in notes)
    assert list(saved_pictures(tmp_path).values()) == [data]  # the page it did send is saved


def test_ids_from_the_future_do_not_move_the_progress_past_now(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("before.png", make_picture(1))])
    factory.message(datetime.now(UTC) + timedelta(days=30), "", [factory.attachment("future.png", make_picture(2))])
    summary, _ = run(settings, tmp_path)
    assert "dated in the future" in summary.source_errors[0]
    factory.message(datetime.now(UTC) - timedelta(minutes=1), "", [factory.attachment("later.png", make_picture(3))])
    run(settings, tmp_path)
    assert sorted(name.split("_", 2)[2] for name in saved_pictures(tmp_path)) == ["before.png", "later.png"]


@pytest.mark.parametrize("token", [USER_TOKEN, f"Bot {BOT_TOKEN}"])
def test_thread_listings_that_ignore_their_cursor_stop_after_two_pages(
    server: FakeDiscord, settings: Settings, tmp_path: Path, token: str
) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("channel.png", make_picture(1))])
    recent = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    for number in range(120):
        thread_id = snowflake_at(HOUR_AGO + timedelta(seconds=number), 1)
        server.add_thread(thread_id, f"t{number}", CHANNEL_ID, archived=True, archive_timestamp=recent)
    server.fail_next("/threads/", *["ignore_cursor"] * 50)
    summary, notes = run(settings, tmp_path, token=token)
    listings = [r for r in server.api_requests("/threads/") if "/active" not in r.path]
    assert len(listings) <= 2
    assert any("the same page again" in note for note in notes)
    assert "channel.png" in [name.split("_", 2)[2] for name in saved_pictures(tmp_path)]


# --- part 7: size and memory limits -------------------------------------------------------------


@pytest.mark.parametrize("fault", ["oversize", "endless", "gzip_bomb"])
def test_bodies_past_the_limit_are_aborted_and_leave_no_file(
    server: FakeDiscord, settings: Settings, tmp_path: Path, fault: str
) -> None:
    factory = setup_server(server)
    good = make_picture(1)
    attachment = factory.attachment("announced.png", make_picture(2))
    link = factory.external("web/free.png", make_picture(3))
    factory.message(HOUR_AGO, f"see {link}", [attachment, factory.attachment("good.png", good)])
    server.fail_next("announced.png", fault, fault)  # the attachment and its proxy copy
    server.fail_next("free.png", fault)
    limited = dataclasses.replace(settings, MAX_DOWNLOAD_BYTES=50_000)
    started = time.monotonic()
    summary, _ = run(limited, tmp_path)
    assert time.monotonic() - started < 10
    assert (summary.downloaded, summary.failed) == (1, 2)
    assert all("larger than" in (failure.error or "") for failure in summary.failures)
    assert list(saved_pictures(tmp_path).values()) == [good]
    assert not list(tmp_path.glob("*.part"))


def test_an_api_answer_over_the_limit_is_an_error(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    setup_server(server)
    server.fail_next("/messages", "api_bomb")
    with pytest.raises(ApiError, match="larger than 1,000,000 bytes"):
        run(dataclasses.replace(settings, MAX_API_BYTES=1_000_000), tmp_path)


def test_memory_stays_bounded_under_bombs(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    for number in range(4):
        factory.message(HOUR_AGO + timedelta(seconds=number), "", [factory.attachment(f"b{number}.png", make_picture(number))])

    def peak_mb(folder: str) -> float:
        peak_file = tmp_path / f"{folder}.peak"
        command = [sys.executable, str(ROOT / "tests" / "peak_rss.py"), str(peak_file), str(ROOT / "main.py")]
        args = ["--channel", CHANNEL_ID, "--output", folder, "--no-input", "--days", "1"]
        env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, MAX_DOWNLOAD_BYTES="10000000")
        subprocess.run([*command, *args], env=env, cwd=tmp_path, capture_output=True, timeout=60, check=False)
        return int(peak_file.read_text()) / 1024

    calm = peak_mb("calm")
    server.fail_next("attachments/", *["gzip_bomb"] * 16)  # 64 MB of zeros behind every picture and its retries
    bombed = peak_mb("bombed")
    assert not saved_pictures(tmp_path / "bombed")
    server.fail_next("/messages", "api_bomb")  # 64 MB of JSON behind 64 KB
    api_bombed = peak_mb("api")
    assert bombed - calm < 24 and api_bombed - calm < 24, f"{calm:.0f} MB calm, {bombed:.0f} MB and {api_bombed:.0f} MB bombed"


# --- part 8: a total deadline -------------------------------------------------------------------


def test_a_dripping_server_cannot_hold_a_download_past_its_deadline(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("slow.png", make_picture(1, size=(200, 200)))])
    server.fail_next("slow.png", "drip", "drip")
    started = time.monotonic()
    summary, _ = run(dataclasses.replace(settings, DOWNLOAD_DEADLINE=0.5), tmp_path)
    assert time.monotonic() - started < 5
    assert summary.failed == 1 and "too slow" in (summary.failures[0].error or "")
    assert not list(tmp_path.iterdir()) or not saved_pictures(tmp_path)


# --- part 9: encodings and lengths ----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["gzip", "deflate", "raw_deflate"])
def test_compressed_pictures_are_decoded_and_saved(server: FakeDiscord, settings: Settings, tmp_path: Path, fault: str) -> None:
    factory = setup_server(server)
    data = make_picture(1, size=(50, 50))
    link = factory.external("web/packed.png", make_picture(2))
    factory.message(HOUR_AGO, f"{link}", [factory.attachment("packed.png", data)])
    server.fail_next("packed.png", *[fault] * 20)  # every try of both pictures, proxy copies included
    summary, _ = run(settings, tmp_path)
    assert summary.failed == 0
    assert sorted(saved_pictures(tmp_path).values()) == sorted([data, make_picture(2)])


def test_a_body_shorter_than_its_length_is_never_saved(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    link = factory.external("web/short.png", make_picture(1, size=(50, 50)))
    factory.message(HOUR_AGO, link)
    server.fail_next("short.png", *["truncate"] * 4)
    summary, _ = run(settings, tmp_path)
    assert summary.failed == 1 and "truncated" in (summary.failures[0].error or "")
    assert saved_pictures(tmp_path) == {}


@pytest.mark.parametrize("length", ["¹", "²³", "+5", " 5", "1e3", "9" * 5000])  # "¹": a digit to str.isdigit(), not to int()
def test_a_length_header_that_is_no_number_reads_the_body_to_its_end(
    server: FakeDiscord, settings: Settings, tmp_path: Path, length: str
) -> None:
    factory = setup_server(server)
    data = make_picture(1)
    factory.message(HOUR_AGO, "", [factory.attachment("a.png", data)])
    server.fail_next("a.png", f"headers:Content-Length={length}")
    summary, _ = run(settings, tmp_path)
    assert (summary.downloaded, summary.failed) == (1, 0)
    assert list(saved_pictures(tmp_path).values()) == [data]


# --- part 10: rate-limit waits ----------------------------------------------------------------------


@pytest.mark.parametrize("remaining", ["¹", "²", "-1", "1.5", ""])
def test_a_remaining_count_that_is_no_number_is_not_used(
    server: FakeDiscord, settings: Settings, tmp_path: Path, remaining: str
) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("a.png", make_picture(1))])
    server.fail_next("/messages", f"headers:X-RateLimit-Remaining={remaining};X-RateLimit-Reset-After=30")
    summary, _ = run(settings, tmp_path)
    assert summary.downloaded == 1 and not summary.has_errors  # read as no count at all


@pytest.mark.parametrize(("value", "waited"), [("NaN", 1.0), ("-5", 1.0), ('"soon"', 1.0), ("2.5", 2.5), ("60", 60.0)])
def test_unusable_or_long_retry_after_values(
    server: FakeDiscord, settings: Settings, tmp_path: Path, value: str, waited: float
) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("a.png", make_picture(1))])
    server.fail_next("/messages", f"ratelimit:{value}")
    fake_time = FakeTime()
    summary, notes = run(settings, tmp_path, sleep=fake_time.sleep, clock=fake_time.clock)
    assert summary.downloaded == 1 and not summary.has_errors
    assert pytest.approx(waited, abs=0.01) in fake_time.sleeps
    assert any("waiting 1.0 minutes" in note or "waiting 60.0 seconds" in note for note in notes) == (waited >= 60)


@pytest.mark.parametrize("value", ["Infinity", "1e9", "86400"])
def test_a_wait_over_the_cap_stops_the_channel_instead(
    server: FakeDiscord, settings: Settings, tmp_path: Path, value: str
) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("a.png", make_picture(1))])
    server.fail_next("/messages", f"ratelimit:{value}")
    fake_time = FakeTime()
    summary, _ = run(settings, tmp_path, sleep=fake_time.sleep, clock=fake_time.clock)
    assert all(seconds <= settings.MAX_RATE_LIMIT_WAIT for seconds in fake_time.sleeps)
    assert len(summary.source_errors) == 1 and "MAX_RATE_LIMIT_WAIT" in summary.source_errors[0]


@pytest.mark.parametrize("reset_after", ["inf", "Infinity", "nan", "-1", "soon", ""])
def test_unusable_reset_after_headers_never_block_forever(reset_after: str) -> None:
    fake_time = FakeTime()
    limiter = RateLimiter(0.0, clock=fake_time.clock, sleep=fake_time.sleep, max_wait_seconds=600.0)
    limiter.update("GET /x", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": reset_after})
    if reset_after.lower() in ("inf", "infinity"):
        with pytest.raises(WaitTooLong, match="forever"):
            limiter.acquire("GET /x", is_api=True)
    else:
        limiter.acquire("GET /x", is_api=True)
        assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("body", "headers", "seconds"),
    [
        ({"retry_after": float("nan")}, {"Retry-After": "nan"}, 1.0),
        ({"retry_after": -3}, {"Retry-After": "-3", "X-RateLimit-Reset-After": "2.5"}, 2.5),
        ({"retry_after": "soon"}, {}, 1.0),
        ({"retry_after": True}, {"Retry-After": "4"}, 4.0),
        (None, {"Retry-After": "1e9"}, 1e9),
        ({"retry_after": float("inf")}, {}, float("inf")),
    ],
)
def test_retry_after_values_are_validated(body: object, headers: dict[str, str], seconds: float) -> None:
    assert retry_after_seconds(headers, body) == seconds


# --- part 12: links that are not pictures -------------------------------------------------------------


def test_a_link_to_a_web_page_is_recorded_once_and_never_fetched_again(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    factory = setup_server(server)
    page = factory.external("blog/chart.png", HTML_PAGE, "text/html; charset=utf-8")
    factory.message(HOUR_AGO, f"read {page}", [factory.attachment("real.png", make_picture(1))])
    summary, _ = run(settings, tmp_path)
    assert (summary.downloaded, summary.not_pictures, summary.failed, summary.has_errors) == (1, 1, 0, False)
    fetched = len([r for r in server.cdn_requests() if "blog" in r.path])
    assert fetched == 1  # not retried with back-off either
    wider, _ = run(settings, tmp_path, since=HOUR_AGO - timedelta(days=2))  # pages the message again
    assert len([r for r in server.cdn_requests() if "blog" in r.path]) == fetched
    assert not wider.has_errors and wider.not_pictures == 0


def test_a_dead_link_is_given_up_after_three_runs(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, f"old chart {server.base_url}/ext/gone/chart.png")  # 404 from a web site
    errors = []
    for number in range(4):
        # A longer window each time pages the message again besides retrying it: still one try a run.
        summary, _ = run(settings, tmp_path, since=HOUR_AGO - timedelta(days=number + 1))
        errors.append([failure.error for failure in summary.failures])
    assert [len(run_errors) for run_errors in errors] == [1, 1, 1, 0]
    assert "dead on 3 runs" in str(errors[2][0]) and "dead" not in str(errors[1][0])
    assert len([r for r in server.cdn_requests() if "gone" in r.path]) == 3


# --- part 14: partial permissions ----------------------------------------------------------------------


def test_archived_listing_refused_keeps_the_active_threads(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("channel.png", make_picture(1))])
    server.add_thread("1200000000000000001", "open-thread", CHANNEL_ID)
    server.add_thread("1200000000000000002", "secret-thread", CHANNEL_ID, readable=False)
    MessageFactory(server, "1200000000000000001").message(HOUR_AGO, "", [factory.attachment("thread.png", make_picture(2))])
    MessageFactory(server, "1200000000000000002").message(HOUR_AGO, "", [factory.attachment("secret.png", make_picture(3))])
    server.fail_next("threads/archived", "403")
    summary, notes = run(settings, tmp_path, token=f"Bot {BOT_TOKEN}")
    assert sorted(name.split("_", 2)[2] for name in saved_pictures(tmp_path)) == ["channel.png", "thread.png"]
    assert any("archived threads" in note and "Missing Access" in note for note in notes)
    assert any("secret-thread" in note for note in notes)
    assert (summary.threads_scanned, summary.threads_skipped) == (1, 1)
