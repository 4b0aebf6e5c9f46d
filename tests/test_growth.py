"""Issue 19: a rerun costs what is new: nothing new touches neither index.csv nor the gallery; late rows sort in; kills repair."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, MessageFactory, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.store.layout import ASSETS_DIR, GALLERY_FILE_NAME, INDEX_FILE_NAME
from tests.browser import gallery_files, start_chromium
from tests.conftest import ROOT, program_env, run_main, saved_pictures

UTC = timezone.utc
THREAD_ID = "1200000000000000001"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


def written_files(folder: Path) -> dict[str, tuple[int, bytes]]:
    """index.csv, index.html and every file of the gallery folder: modification time and bytes."""
    paths = [folder / INDEX_FILE_NAME, folder / GALLERY_FILE_NAME, *(folder / ASSETS_DIR).rglob("*")]
    return {str(path.relative_to(folder)): (path.stat().st_mtime_ns, path.read_bytes()) for path in paths if path.is_file()}


def index_files(folder: Path) -> list[str]:
    with open(folder / INDEX_FILE_NAME, newline="", encoding="utf-8") as handle:
        return [row["file"] for row in csv.DictReader(handle)]


MAIN_ARGS = ["--channel", CHANNEL_ID, "--days", "3", "--output", "o", "--no-input"]


def run(server: FakeDiscord, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main([*MAIN_ARGS, *extra], env, cwd)
    assert result.returncode == 0, result.stderr
    return result


def listed_in_index_and_gallery(browser: WebDriver, folder: Path) -> list[str]:
    """The pictures in the folder, after checking that index.csv and the gallery page list exactly them."""
    files = sorted(saved_pictures(folder))
    assert sorted(index_files(folder)) == files
    assert gallery_files(browser, folder / GALLERY_FILE_NAME) == files
    return files


def post(factory: MessageFactory, when: datetime, name: str, seed: int, size: tuple[int, int] = (400, 300)) -> None:
    """A picture larger than a thumbnail (smaller ones are their own)."""
    factory.message(when, f"chart {name}", [factory.attachment(name, make_picture(seed, size=size))])


def test_a_rerun_with_nothing_new_leaves_the_index_and_the_gallery_untouched(
    browser: WebDriver, server: FakeDiscord, tmp_path: Path
) -> None:
    factory = setup_server(server)
    start = datetime.now(UTC) - timedelta(hours=6)
    for number in range(6):
        post(factory, start + timedelta(minutes=number), f"p{number}.png", number)
    run(server, tmp_path)
    out = tmp_path / "o"
    before = written_files(out)
    assert INDEX_FILE_NAME in before and GALLERY_FILE_NAME in before and len(before) > 6  # thumbnails, data, page
    run(server, tmp_path)
    assert written_files(out) == before
    post(factory, start + timedelta(hours=1), "new.png", 99)
    run(server, tmp_path)
    after = written_files(out)
    changed = sorted(name for name in after if before.get(name) != after[name])
    # The new picture: its row, its thumbnail, its month's data; the page, its script and style stay as they were.
    assert INDEX_FILE_NAME in changed and len([name for name in changed if name.endswith(".webp")]) == 1
    assert GALLERY_FILE_NAME not in changed and not [name for name in changed if name.endswith((".css", "gallery.js"))]
    assert len(after) == len(before) + 1  # one more thumbnail
    listed_in_index_and_gallery(browser, out)


def test_late_older_pictures_land_in_posting_order(browser: WebDriver, server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    start = datetime.now(UTC) - timedelta(hours=6)
    post(factory, start, "a.png", 1)
    post(factory, start + timedelta(minutes=30), "c.png", 3)
    server.fail_next("retried.png", *["404"] * 5)  # fails on the first run, saved on the second
    post(factory, start + timedelta(minutes=20), "retried.png", 4)
    post(factory, start + timedelta(minutes=40), "e.png", 5)
    first = run_main(
        ["--channel", CHANNEL_ID, "--days", "3", "--output", "o", "--no-input"],
        program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        tmp_path,
    )
    assert first.returncode == 1, first.stderr  # one picture failed
    out = tmp_path / "o"
    assert [name.split("_", 2)[2] for name in index_files(out)] == ["a.png", "c.png", "e.png"]
    server.state.faults.pop("retried.png", None)
    # A thread opened later holds a picture posted between a.png and c.png.
    server.add_thread(THREAD_ID, "analysis", CHANNEL_ID)
    post(MessageFactory(server, THREAD_ID), start + timedelta(minutes=10), "thread.png", 2)
    post(factory, start + timedelta(minutes=50), "f.png", 6)
    run(server, tmp_path)
    names = [name.split("_", 2)[2] for name in index_files(out)]
    assert names == ["a.png", "thread.png", "retried.png", "c.png", "e.png", "f.png"]
    assert gallery_files(browser, out / GALLERY_FILE_NAME) == sorted(saved_pictures(out))


def test_half_written_rows_left_by_a_kill_are_repaired_by_the_next_run(
    browser: WebDriver, server: FakeDiscord, tmp_path: Path
) -> None:
    factory = setup_server(server)
    start = datetime.now(UTC) - timedelta(hours=6)
    for number in range(4):
        post(factory, start + timedelta(minutes=number), f"p{number}.png", number)
    run(server, tmp_path)
    out = tmp_path / "o"
    # A kill in the middle of writing a row: the index and every data file of the gallery end in half a row.
    with open(out / INDEX_FILE_NAME, "a", encoding="utf-8") as handle:
        handle.write('2099-01-01_00-00-00_ghost.png,2099-01-01T00:00:00+00:00,1,"#x,half a ro')
    data_files = [path for path in (out / ASSETS_DIR).rglob("*.js") if path.name != "gallery.js"]
    assert data_files
    for path in data_files:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write('["2099-01-01_00-00-00_ghost.png","",0,0,40')
    post(factory, start + timedelta(hours=1), "new.png", 9)
    run(server, tmp_path)
    assert len(listed_in_index_and_gallery(browser, out)) == 5


def test_a_kill_while_a_thumbnail_is_made_is_repaired_by_the_next_run(
    browser: WebDriver, server: FakeDiscord, tmp_path: Path
) -> None:
    factory = setup_server(server)
    start = datetime.now(UTC) - timedelta(hours=6)
    for number in range(3):
        post(factory, start + timedelta(minutes=number), f"p{number}.png", number)
    run(server, tmp_path)
    # A big picture: its thumbnail takes a while; the run is killed once its row is in index.csv.
    post(factory, start + timedelta(hours=1), "big.png", 7, size=(4000, 3000))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *MAIN_ARGS],
        env=program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = tmp_path / "o"
    try:
        WebDriverWait(None, 30, poll_frequency=0.005).until(lambda _: any("big.png" in name for name in index_files(out)))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    run(server, tmp_path)
    assert len(listed_in_index_and_gallery(browser, out)) == 4


def test_pictures_saved_without_the_gallery_or_after_a_rebuild_are_in_the_page(
    browser: WebDriver, server: FakeDiscord, tmp_path: Path
) -> None:
    factory = setup_server(server)
    start = datetime.now(UTC) - timedelta(hours=6)
    post(factory, start, "a.png", 1)
    run(server, tmp_path, "--no-gallery")
    post(factory, start + timedelta(minutes=1), "b.png", 2, size=(40, 30))  # small: its own thumbnail
    run(server, tmp_path)  # the gallery catches up with a.png
    out = tmp_path / "o"
    assert gallery_files(browser, out / GALLERY_FILE_NAME) == sorted(saved_pictures(out))
    rebuilt = run_main(["--gallery", str(out)], program_env(server), tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    post(factory, start + timedelta(minutes=2), "c.png", 3)
    run(server, tmp_path)  # a gallery this run does not know (written by --gallery): written whole once more
    files = sorted(saved_pictures(out))
    assert len(files) == 3 and gallery_files(browser, out / GALLERY_FILE_NAME) == files
    before = written_files(out)
    run(server, tmp_path)
    assert written_files(out) == before
