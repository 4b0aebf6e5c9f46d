"""The README and docs/ as a reader meets them: every relative link leads somewhere, every flag is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from urllib.parse import unquote

import pytest

from config import Settings

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
FENCE = re.compile(r"^(```|~~~)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _prose_lines(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks (where `#` starts a comment, not a heading)."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a page's headings, a repeated heading numbered as GitHub does (`-1`, `-2`)."""
    names, seen = set(), dict[str, int]()
    for line in _prose_lines(path):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            names.add(f"{base}-{count}" if count else base)
            seen[base] = count + 1
    return names


def relative_links(path: Path) -> list[str]:
    """The page's link and image targets that are not web addresses or mail."""
    targets = [target for line in _prose_lines(path) for target in LINK.findall(line)]
    return [target for target in targets if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def broken_links(path: Path) -> list[str]:
    """The relative links of a page whose file, or heading, does not exist."""
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no such heading")
    return broken


@pytest.mark.parametrize("path", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == []


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("[a](usage.md)\n", []),
        ("[a](nowhere.md)\n", ["nowhere.md: no such file"]),
        ("![b](gallery.png)\n", []),
        ("[c](usage.md#the-state-file)\n", []),
        ("[c](usage.md#no-such-heading)\n", ["usage.md#no-such-heading: no such heading"]),
        ("## Looking at `index.html`: here\n[d](#looking-at-indexhtml-here)\n", []),
        ("```\n# not a heading\n```\n[e](#not-a-heading)\n", ["#not-a-heading: no such heading"]),
        ("[f](https://discord.com/nowhere)\n", []),
    ],
)
def test_the_link_check_itself(tmp_path: Path, text: str, missing: list[str]) -> None:
    """The checker finds what a reader would: a missing file, a missing heading, a heading inside code."""
    (tmp_path / "usage.md").write_text("# Usage\n\n## The state file\n", encoding="utf-8")
    (tmp_path / "gallery.png").write_bytes(b"")
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    assert broken_links(page) == missing


def _clean_env() -> dict[str, str]:
    """The environment without tokens or settings, so `--help` is what a new user sees."""
    settings_names = {field.name for field in fields(Settings)}
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_") and key not in settings_names}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="1000")  # one line per option: argparse breaks long words at hyphens
    return env


@pytest.mark.parametrize("program", ["main.py", "deduplicate_images.py"])
def test_every_flag_of_help_is_documented(program: str, tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, str(ROOT / program), "--help"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    flags = set(FLAG.findall(shown.stdout))
    assert "--help" in flags and len(flags) > 5
    docs = "\n".join(page.read_text(encoding="utf-8") for page in (ROOT / "docs").glob("*.md"))
    assert sorted(flag for flag in flags if not re.search(rf"{re.escape(flag)}(?![\w-])", docs)) == []


def test_the_readme_fits_on_a_page() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) < 220
