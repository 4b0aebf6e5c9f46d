"""The dedup review page (`deduplicate_images.py --html`): pure parts and the page in headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from picextract.dedup.review import histogram_counts, picture_url
from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, build_sample_channel, make_picture
from picextract.fake.server import FakeDiscord
from tests.browser import console_errors, start_chromium, visible_images_loaded
from tests.conftest import ROOT, program_env, run_main

HOSTILE_NAME = "2026-01-05_13-00-00_<img src=x onerror=\"window.__pwned=1\">&'q' \u202efdp.png"
STAT_LABELS = (
    "Total pairs calculated",
    "Mean difference",
    "Median difference",
    "Standard deviation",
    "Minimum difference",
    "Maximum difference",
    "25th percentile",
    "75th percentile",
    "90th percentile",
    "95th percentile",
)


@pytest.mark.parametrize(
    ("values", "low", "counts"),
    [
        ([5.0, 5.0, 5.0], 5.0, [3]),  # one value: one bin
        ([0.0, 1.0, 2.0, 3.0, 4.0], 0.0, [1, 1, 1, 1, 1]),
        ([0.0, 0.5, 4.0], 0.0, [2, 0, 0, 0, 1]),  # the largest value falls in the last bin
    ],
)
def test_histogram_counts(values: list[float], low: float, counts: list[int]) -> None:
    start, _, found = histogram_counts(values, bins=5 if len(set(values)) > 1 else 24)
    assert start == low and found == counts and sum(found) == len(values)


def test_picture_url_is_relative_and_quoted(tmp_path: Path) -> None:
    page_folder = tmp_path / "review"
    assert picture_url(tmp_path / "src" / "a b#?.png", page_folder) == "../src/a%20b%23%3F.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


def _source(folder: Path) -> None:
    """Re-posts (byte-identical copies, same date) with known gaps, unique pictures and undated copies."""
    folder.mkdir()
    groups = {
        "2026-01-05_10-00-00_chart.png": ["2026-01-05_10-00-36_chart.png", "2026-01-05_10-01-35_chart.png"],
        "2026-01-05_11-00-00_levels.png": ["2026-01-05_11-00-40_levels.png"],
        "2026-01-05_12-00-00_spx.png": ["2026-01-05_12-10-00_spx.png"],
        HOSTILE_NAME: ["2026-01-05_13-00-50_copy.png"],
        "undated_a.png": ["undated_b.png"],
    }
    for seed, (kept, copies) in enumerate(groups.items()):
        data = make_picture(seed, size=(64, 48))
        for name in [kept, *copies]:
            (folder / name).write_bytes(data)
    for seed in range(3):
        (folder / f"2026-01-06_09-00-0{seed}_unique.png").write_bytes(make_picture(100 + seed, size=(48 + seed, 40)))


def _dedup(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "deduplicate_images.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def _printed_summary(stdout: str) -> dict[str, str]:
    """The printed summary's rows (indented two spaces), label -> value."""
    return dict(re.findall(r"^  (\S.+?):\s+(.+)$", stdout, re.MULTILINE))


def _printed_statistics(stdout: str) -> dict[str, str]:
    return {label: value for label, value in re.findall(r"^(.+?):\s+(.+)$", stdout, re.MULTILINE) if label in STAT_LABELS}


def test_review_page(browser: WebDriver, tmp_path: Path) -> None:
    source = tmp_path / "src"
    _source(source)
    page = tmp_path / "review" / "dedup.html"
    result = _dedup(
        ["--source", str(source), "--output", str(tmp_path / "clean"), "--dry-run", "--report", str(tmp_path / "r.json")]
        + ["--html", str(page)],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    removed_to_kept = {row["file"]: row["kept_file"] for row in report if row["status"] == "removed"}
    assert len(removed_to_kept) == 6

    browser.get(page.resolve().as_uri())
    assert browser.execute_script("return document.scripts.length") == 0
    groups = browser.execute_script(
        """return [...document.querySelectorAll('.group')].map(g => [
             g.querySelector('.kept .name').textContent,
             [...g.querySelectorAll('.removed')].map(r => [r.querySelector('.name').textContent, r.querySelector('figcaption').textContent])])"""
    )
    page_removed = {name: kept for kept, copies in groups for name, _ in copies}
    assert page_removed == removed_to_kept
    captions = {name: caption for _, copies in groups for name, caption in copies}
    assert "+36.0s" in captions["2026-01-05_10-00-36_chart.png"] and "+1.6m (95.0s)" in captions["2026-01-05_10-01-35_chart.png"]
    assert "gap unknown" in captions["undated_b.png"]
    assert browser.find_element(By.CSS_SELECTOR, f'.kept img[alt="{HOSTILE_NAME.replace(chr(34), chr(92) + chr(34))}"]')

    printed = _printed_statistics(result.stdout)
    shown = dict(
        browser.execute_script(
            "return [...document.querySelectorAll('.statistics tr')].map(r => [r.cells[0] ? r.querySelector('th').textContent : '', r.querySelector('td').textContent])"
        )
    )
    assert len(printed) == len(STAT_LABELS) and shown == printed
    summary = dict(
        browser.execute_script(
            "return [...document.querySelectorAll('.summary tr')].map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"
        )
    )
    printed_summary = _printed_summary(result.stdout)
    assert len(summary) == 8 and all(printed_summary.get(label) == value for label, value in summary.items())
    assert list(summary)[:4] == ["Total images scanned", "Would copy (unique)", "Duplicates skipped", "Duplicate groups found"]

    bars = browser.execute_script("return [...document.querySelectorAll('svg.histogram rect.bar')].map(r => +r.dataset.count)")
    assert sum(bars) == int(printed["Total pairs calculated"]) and len(bars) == 24
    assert browser.find_element(By.ID, "p95") and f"95th percentile {printed['95th percentile']}" in browser.page_source

    printed_outliers = re.findall(r"^  (\S.*?)  (\S.*)  \(duplicate of (.*)\)$", result.stdout, re.MULTILINE)
    shown_outliers = browser.execute_script(
        "return [...document.querySelectorAll('.outliers tr')].slice(1).map(r => [...r.cells].map(c => c.textContent))"
    )
    assert printed_outliers and [list(row) for row in printed_outliers] == shown_outliers

    for group in browser.find_elements(By.CSS_SELECTOR, ".group"):  # lazy images load as each group comes into view
        browser.execute_script("arguments[0].scrollIntoView()", group)
        WebDriverWait(browser, 10).until(lambda d: (lambda seen, loaded: seen >= 2 and seen == loaded)(*visible_images_loaded(d)))
    assert browser.execute_script("return window.__pwned === undefined && document.querySelectorAll('img[src=x]').length === 0")
    assert console_errors(browser) == []


def test_demo_channel_review_and_gallery_of_the_clean_folder(browser: WebDriver, server: FakeDiscord, tmp_path: Path) -> None:
    build_sample_channel(server, datetime.now(timezone.utc), count=40)
    downloaded = run_main(
        ["--channel", CHANNEL_ID, "--days", "14", "--output", "out"], program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path
    )
    assert downloaded.returncode == 0, downloaded.stderr
    result = _dedup(["--source", "out", "--output", "clean", "--html", "review.html"], tmp_path)
    assert result.returncode == 0, result.stderr
    browser.get((tmp_path / "review.html").as_uri())
    summary = dict(
        browser.execute_script(
            "return [...document.querySelectorAll('.summary tr')].map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"
        )
    )
    printed_summary = _printed_summary(result.stdout)
    assert all(printed_summary.get(label) == value for label, value in summary.items()) and summary["Duplicates skipped"] == "0"
    assert "No dated duplicates found" in browser.find_element(By.TAG_NAME, "body").text
    assert browser.find_elements(By.CSS_SELECTOR, ".group") == [] and console_errors(browser) == []

    # The clean folder has no index.csv: its gallery shows the files, dated by their names.
    rebuilt = run_main(["--gallery", "clean"], program_env(server), tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    browser.get((tmp_path / "clean" / "index.html").as_uri())
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return performance.getEntriesByName('gallery-painted').length"))
    kept = sorted(p.name for p in (tmp_path / "clean").iterdir() if p.is_file() and not p.name.startswith("index."))
    assert browser.find_element(By.ID, "status").text == f"{len(kept)} pictures"
    WebDriverWait(browser, 10).until(lambda d: (lambda seen, loaded: seen > 0 and seen == loaded)(*visible_images_loaded(d)))
    first = browser.execute_script("return document.querySelector('.card time').dateTime")
    assert first.startswith(max(kept)[:10])  # newest first, on the day its name says
    assert console_errors(browser) == []
