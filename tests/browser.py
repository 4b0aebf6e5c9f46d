"""Headless Chromium for the page tests: Debian's `chromium` driven through its `chromedriver`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

INSTALL_HINT = "install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)"


def start_chromium(width: int = 1280, height: int = 900) -> WebDriver:
    """A headless Chromium using the system chromedriver (never Selenium Manager downloads)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    assert browser and Path(driver).is_file(), INSTALL_HINT
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    """The console's errors since the last call (reading the log empties it)."""
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def visible_images_loaded(driver: WebDriver) -> tuple[int, int]:
    """(visible images, of those fully loaded with naturalWidth > 0)."""
    return tuple(  # type: ignore[return-value]
        driver.execute_script(
            """
            const visible = [...document.images].filter(img => {
              const r = img.getBoundingClientRect();
              return r.width > 0 && r.bottom > 0 && r.top < innerHeight && getComputedStyle(img).visibility !== 'hidden';
            });
            return [visible.length, visible.filter(img => img.complete && img.naturalWidth > 0).length];
            """
        )
    )


def gallery_files(driver: WebDriver, page: Path) -> list[str]:
    """The file names of all cards a gallery page shows, sorted (scrolled to the end: cards are built as
    they come near the screen), after checking the page loaded without a console error."""
    driver.get(page.resolve().as_uri())
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return performance.getEntriesByName('gallery-painted').length"))
    assert console_errors(driver) == []
    count = "return document.querySelectorAll('.card').length"
    total = int("0" + "".join(ch for ch in driver.find_element("id", "status").text.split(" ")[0] if ch.isdigit()))

    def all_built(d: WebDriver) -> bool:
        d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        return d.execute_script(count) >= total

    WebDriverWait(driver, 10).until(all_built)
    return sorted(driver.execute_script("return [...document.querySelectorAll('.card .file span')].map(s => s.textContent)"))
