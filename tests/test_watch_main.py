"""`python main.py --watch` end to end: a control route adds messages, SIGTERM ends it, refusals exit 3, the demo."""

from __future__ import annotations

import csv
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from selenium.webdriver.support.ui import WebDriverWait

from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.store.layout import GALLERY_FILE_NAME, STATE_FILE_NAME
from tests.browser import console_errors, start_chromium
from tests.conftest import ROOT, program_env, run_main

UTC = timezone.utc


class Program:
    """main.py running in the background; its stdout lines arrive in a queue."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.process.poll() is None, f"exited {self.process.returncode}: {self.seen}"
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no such line in {timeout}s: {self.seen}")

    def finish(self, timeout: float = 20) -> tuple[int, str, str]:
        """Exit code, the rest of stdout, all of stderr."""
        code = self.process.wait(timeout=timeout)
        time.sleep(0.1)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        assert self.process.stderr is not None
        return code, "\n".join(self.seen + rest), self.process.stderr.read()


def _pictures(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if not p.name.startswith(".") and p.name not in ("index.csv", GALLERY_FILE_NAME)
    )


def test_watch_saves_new_pictures_then_sigterm_saves_progress_and_exits_0(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(datetime.now(UTC) - timedelta(hours=1), "", [factory.attachment("first.png", make_picture(1))])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    program = Program(["--channel", CHANNEL_ID, "--output", "o", "--watch", "0.2"], env, tmp_path)
    program.wait_for_line(lambda line: line.endswith(": 1 new picture saved"))
    posted = requests.post(
        f"{server.base_url}/control/messages", json={"channel_id": CHANNEL_ID, "filename": "live.png"}, timeout=5
    )
    assert posted.status_code == 200
    program.wait_for_line(lambda line: line.endswith(": 1 new picture saved"))
    assert [name.split("_", 2)[-1] for name in _pictures(tmp_path / "o")] == ["first.png", "live.png"]
    # A big picture that is still in flight when SIGTERM comes: discarded, fetched by the next run.
    server.state.slow_seconds = 1.0
    server.fail_next("in_flight.png", "slow")
    requests.post(f"{server.base_url}/control/messages", json={"channel_id": CHANNEL_ID, "filename": "in_flight.png"}, timeout=5)
    deadline = time.monotonic() + 10
    while not any(r.path.endswith("in_flight.png") for r in server.cdn_requests()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    program.process.send_signal(signal.SIGTERM)
    code, stdout, stderr = program.finish()
    assert code == 0, stderr
    assert "Watch summary: 1 channel" in stdout and "Pictures saved:    2 " in stdout
    assert "API requests:" in stdout and "Traceback" not in stderr
    assert not list((tmp_path / "o").glob("*.part")) and len(_pictures(tmp_path / "o")) == 2
    assert (tmp_path / "o" / STATE_FILE_NAME).is_file()
    again = run_main(["--channel", CHANNEL_ID, "--output", "o"], env, tmp_path)
    assert again.returncode == 0 and "Saved:             1 " in again.stdout
    assert server.state.violations == 0


def test_watch_ends_with_exit_3_when_the_channel_is_lost(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    program = Program(["--channel", CHANNEL_ID, "--output", "o", "--watch", "0.1", "--verbose"], env, tmp_path)
    program.wait_for_line(lambda line: "nothing new" in line)
    server.state.channels.pop(CHANNEL_ID)
    code, stdout, stderr = program.finish()
    assert code == 3
    assert "Unknown Channel" in stderr and "Traceback" not in stderr
    assert "Watch summary" in stdout


def test_watch_flags_are_checked(server: FakeDiscord, tmp_path: Path) -> None:
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    for args, text in [
        (["--watch", "0"], "more than 0"),
        (["--watch", "soon"], "seconds between polls"),
        (["--watch", "5", "--until", "2026-01-01"], "leave out --until"),
        (["--watch", "--dry-run"], "leave out --dry-run"),
    ]:
        result = run_main(["--channel", CHANNEL_ID, *args], env, tmp_path)
        assert result.returncode == 2 and text in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1


def test_demo_watch_shows_new_pictures_arriving(server: FakeDiscord, tmp_path: Path) -> None:
    env = program_env(server)  # the demo starts its own server and points the program at it
    program = Program(["--demo", "--watch", "1"], env, tmp_path)
    first = program.wait_for_line(lambda line: "new pictures saved" in line)
    assert int(first.rsplit(": ", 1)[1].split()[0]) > 10  # the sample channel's pictures
    program.wait_for_line(lambda line: line.endswith(": 1 new picture saved"), timeout=15)  # posted by the demo server
    program.process.send_signal(signal.SIGTERM)
    code, stdout, _ = program.finish()
    assert code == 0 and "Watch summary" in stdout


def _wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_watch_with_dedup_brings_each_new_picture_but_no_repost_to_the_clean_folder(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    # Yesterday at noon: the re-post a minute later falls on the same date (the dedup compares within a date).
    first_posted = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    factory.message(first_posted, "", [factory.attachment("first.png", make_picture(1, size=(40, 30)))])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, XDG_CACHE_HOME=str(tmp_path / "cache"))
    program = Program(["--channel", CHANNEL_ID, "--output", "o", "--watch", "0.2", "--dedup"], env, tmp_path)
    clean = tmp_path / "o-clean"
    _wait_for(lambda: clean.is_dir() and len(_pictures(clean)) == 1 and (clean / "index.csv").is_file())
    # Later polls read only their new pictures: one taken out of the clean folder by hand is not put back.
    (clean / _pictures(clean)[0]).unlink()
    # The same picture posted again a minute later (a re-post), and a new one.
    factory.message(first_posted + timedelta(minutes=1), "", [factory.attachment("repost.png", make_picture(1, size=(40, 30)))])
    factory.message(
        first_posted + timedelta(minutes=1, seconds=5), "", [factory.attachment("new.png", make_picture(2, size=(40, 30)))]
    )
    _wait_for(lambda: len(_pictures(tmp_path / "o")) == 3 and len(_pictures(clean)) == 1)
    program.process.send_signal(signal.SIGTERM)
    code, _stdout, stderr = program.finish()
    assert code == 0, stderr
    assert [name.split("_", 2)[-1] for name in _pictures(clean)] == ["new.png"]  # the re-post was recognised
    with open(clean / "index.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["file"].split("_", 2)[-1] for row in rows] == ["first.png", "new.png"]  # the new row appended
    assert rows[1]["copies_removed"] == "0" and rows[1]["channel_id"] == CHANNEL_ID


def test_the_gallery_shows_pictures_saved_during_a_watch_after_a_reload(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(datetime.now(UTC) - timedelta(hours=1), "", [factory.attachment("first.png", make_picture(1))])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    program = Program(["--channel", CHANNEL_ID, "--output", "o", "--watch", "0.2"], env, tmp_path)
    program.wait_for_line(lambda line: line.endswith(": 1 new picture saved"))
    driver = start_chromium()
    try:

        def shown() -> list[str]:
            driver.get((tmp_path / "o" / GALLERY_FILE_NAME).as_uri())
            WebDriverWait(driver, 10).until(
                lambda d: d.execute_script("return performance.getEntriesByName('gallery-painted').length")
            )
            files = driver.execute_script("return [...document.querySelectorAll('.card .file span')].map(s => s.textContent)")
            return sorted(name.split("_", 2)[-1] for name in files)

        _wait_for(lambda: shown() == ["first.png"])
        requests.post(f"{server.base_url}/control/messages", json={"channel_id": CHANNEL_ID, "filename": "live.png"}, timeout=5)
        program.wait_for_line(lambda line: line.endswith(": 1 new picture saved"))
        _wait_for(lambda: shown() == ["first.png", "live.png"], timeout=5)  # at most one interval after it was saved
        assert console_errors(driver) == []
    finally:
        driver.quit()
        program.process.send_signal(signal.SIGTERM)
    code, _stdout, stderr = program.finish()
    assert code == 0, stderr
