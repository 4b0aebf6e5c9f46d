"""Issue 10 parts 2, 3 and 8: kills at any moment, a second run on the same folder, one Ctrl-C that stops at once."""

from __future__ import annotations

import csv
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.store.layout import GALLERY_FILE_NAME, INDEX_FILE_NAME, STATE_FILE_NAME
from tests.browser import gallery_files, start_chromium
from tests.conftest import NOT_PICTURES, ROOT, program_env, run_main

UTC = timezone.utc
STOP_SECONDS = 2.0  # issue 10 part 8: one Ctrl-C stops the run within 2 seconds


def start_main(server: FakeDiscord, cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--channel", CHANNEL_ID, "--output", "o", "--no-input", *args],
        env=program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, **env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, "the run never got there"
        time.sleep(0.01)


def post_pictures(server: FakeDiscord, count: int, size: tuple[int, int] = (6, 4)) -> dict[bytes, str]:
    """`count` messages with a picture each (some as links); returns bytes -> kind."""
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=3)
    pictures: dict[bytes, str] = {}
    for number in range(count):
        data = make_picture(number, size=size)
        when = posted + timedelta(seconds=number // 2)  # two messages a second: names collide
        if number % 5 == 4:
            url = factory.external(f"l{number}/image.png", data)
            factory.message(when, f"see {url}")
        else:
            factory.message(when, "", [factory.attachment("image.png", data)])
        pictures[data] = "picture"
    return pictures


def check_folder(out: Path, pictures: dict[bytes, str]) -> None:
    """Every picture once, index.csv = the files (one row each), the state file = the files, no `.part`."""
    files = {
        p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".") and p.name not in NOT_PICTURES
    }
    assert not [name for name in files if name.endswith((".part", ".tmp"))]
    assert sorted(files.values()) == sorted(pictures)
    with open(out / INDEX_FILE_NAME, newline="", encoding="utf-8") as index_file:
        keys = [(row["posted_at_utc"], row["file"]) for row in csv.DictReader(index_file)]
    rows = [file for _, file in keys]
    assert sorted(rows) == sorted(files)
    assert keys == sorted(keys)  # in posting order, whatever the kills cut short
    db = sqlite3.connect(out / STATE_FILE_NAME)
    recorded = sorted(name for (name,) in db.execute("SELECT filename FROM pictures"))
    db.close()
    assert recorded == sorted(files)


def test_chaos_kills_at_random_moments_then_one_clean_run(server: FakeDiscord, tmp_path: Path) -> None:
    pictures = post_pictures(server, 150)
    server.state.latency_seconds = 0.04  # slow enough that every kill lands mid-run
    rng = random.Random(10)
    signals = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
    outcomes = []
    for attempt in range(9):
        requests_before = len(server.state.requests)
        process = start_main(server, tmp_path, "--workers", "2")
        wait_until(lambda seen=requests_before: len(server.state.requests) > seen)  # the run is under way
        time.sleep(rng.uniform(0.05, 0.5))  # the moment of the kill, not a wait for the program
        chosen = signals[attempt % 3]
        process.send_signal(chosen)
        stdout, stderr = process.communicate(timeout=20)
        outcomes.append(process.returncode)
        assert "Traceback" not in stderr, stderr
        if chosen != signal.SIGKILL and process.returncode == 130:
            assert ": interrupted" in stdout
        assert process.returncode in (130, -signal.SIGKILL), stderr
    assert outcomes.count(130) == 6
    server.state.latency_seconds = 0.0
    clean = run_main(
        ["--channel", CHANNEL_ID, "--output", "o", "--no-input"], program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path
    )
    assert clean.returncode == 0, clean.stderr
    check_folder(tmp_path / "o", pictures)
    driver = start_chromium()  # the gallery lists every picture once, whatever the kills cut short
    try:
        shown = gallery_files(driver, tmp_path / "o" / GALLERY_FILE_NAME)
    finally:
        driver.quit()
    assert shown == sorted(p.name for p in (tmp_path / "o").iterdir() if p.suffix == ".png")


def test_a_second_run_on_the_same_folder_is_refused_and_touches_nothing(server: FakeDiscord, tmp_path: Path) -> None:
    pictures = post_pictures(server, 12, size=(120, 120))
    server.state.bytes_per_second = 150_000
    first = start_main(server, tmp_path, "--workers", "2")
    out = tmp_path / "o"
    wait_until(lambda: any(out.glob("*.part")) if out.is_dir() else False)
    second = run_main(
        ["--channel", CHANNEL_ID, "--output", "o", "--no-input"], program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path
    )
    assert second.returncode == 4
    errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in second.stderr
    assert f"{out}" in errors[0] and f"process {first.pid}" in errors[0]
    stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr  # its `.part` files were left alone
    check_folder(out, pictures)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("state", ["downloading", "stalled", "waiting", "paging"])
def test_one_signal_stops_within_two_seconds(server: FakeDiscord, tmp_path: Path, state: str, stop: signal.Signals) -> None:
    post_pictures(server, 6, size=(60, 60))
    server.state.slow_seconds = 30
    if state == "downloading":
        server.fail_next("attachments", *["drip"] * 6)  # 3 KB/s: each picture takes seconds
    elif state == "stalled":
        server.fail_next("attachments", *["slow"] * 6)  # the CDN answers after 30 s
    elif state == "waiting":
        server.fail_next("/messages", "ratelimit:60")  # under the 10-minute cap: waited, announced
    else:
        server.fail_next("/messages", "slow")
    process = start_main(server, tmp_path, "--workers", "2")
    if state in ("downloading", "stalled"):
        wait_until(lambda: len(server.cdn_requests()) >= 2)
        time.sleep(0.3)  # bytes are dripping in
    elif state == "waiting":
        wait_until(lambda: len(server.api_requests("/messages")) >= 1)
        time.sleep(0.3)
    else:
        wait_until(lambda: len(server.api_requests("/messages")) >= 1)
    sent = time.monotonic()
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=30)
    took = time.monotonic() - sent
    assert process.returncode == 130, stderr
    assert took < STOP_SECONDS, f"{state}: {took:.2f} s"
    assert ": interrupted" in stdout and "Traceback" not in stderr
    assert not list((tmp_path / "o").glob("*.part"))
    if state == "waiting":
        assert "waiting 60.0 seconds" in stderr
