"""Make the README's screenshots of the gallery and the dedup review page in headless Chromium.

    python docs/make_screenshots.py

Builds a small folder of chart pictures with an index.csv (as the downloader writes it), writes its
gallery with `main.py --gallery`, runs `deduplicate_images.py --html` on a small benchmark-style
folder (bench/bench_dedup.py's generator), and saves docs/gallery.png, docs/gallery-lightbox.png
and docs/dedup-review.png.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_dedup import draw_chart, generate  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

from picextract.store.index import INDEX_COLUMNS  # noqa: E402

AUTHORS = ["Signals", "mika", "quant_lee", "Ana Ruiz"]
TEXTS = [
    "SPX 5m: rejection at 5950, watching 5930",
    "ES overnight range",
    "",
    "NQ breakout, volume confirms",
    "levels for tomorrow",
]


def chart_folder(folder: Path) -> None:
    """30 charts over four days with an index.csv."""
    rng = random.Random(3)
    folder.mkdir()
    now = datetime(2026, 11, 28, 21, tzinfo=timezone.utc)
    with open(folder / "index.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(INDEX_COLUMNS)
        for number in range(30):
            when = now - timedelta(hours=number * 3.1)
            name = f"{when:%Y-%m-%d_%H-%M-%S}_chart_{number}.png"
            draw_chart(rng, (800, 450)).save(folder / name)
            os.utime(folder / name, (when.timestamp(), when.timestamp()))
            kind = "attachment" if number % 4 else "embed"
            row = [name, when.isoformat(), str(1_572_000_000_000_000_000 + number), "#spx-realtime-aws"]
            writer.writerow(
                row + [AUTHORS[number % 4], TEXTS[number % 5], "", 800, 450, "1100000000000000001", "1100000000000000002", kind]
            )


def start_chromium(width: int, height: int) -> webdriver.Chrome:
    """Debian's headless Chromium through the system chromedriver."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))


def main() -> None:
    """Build both pages and save the screenshots."""
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as scratch:
        gallery = Path(scratch) / "spx-realtime-aws"
        chart_folder(gallery)
        subprocess.run([sys.executable, str(ROOT / "main.py"), "--gallery", str(gallery)], check=True)
        source = Path(scratch) / "bench"
        generate(source, 60, "PNG", (640, 360), seed=5)
        page = Path(scratch) / "review.html"
        dedup = [sys.executable, str(ROOT / "deduplicate_images.py"), "--source", str(source), "--dry-run", "--html", str(page)]
        subprocess.run(dedup, check=True, capture_output=True)
        driver = start_chromium(1280, 860)
        try:
            driver.get((gallery / "index.html").as_uri())
            time.sleep(1.5)  # a screenshot script, not a test: let the lazy thumbnails arrive
            driver.save_screenshot(str(docs / "gallery.png"))
            driver.execute_script("document.querySelectorAll('.card .thumb')[1].click()")
            time.sleep(1)
            driver.save_screenshot(str(docs / "gallery-lightbox.png"))
            driver.set_window_size(1280, 1400)
            driver.get(page.as_uri())
            time.sleep(1.5)
            driver.save_screenshot(str(docs / "dedup-review.png"))
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
