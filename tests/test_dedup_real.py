"""The dedup against the media table and against real-world files nobody here made (Pillow's own test images)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from picextract.dedup.hashing import picture_phash
from picextract.pictures.imaging import Image
from picextract.pictures.media import PICTURE_TYPES, extension_from_magic
from tests.test_dedup import chart
from tests.test_dedup_cases import _dedup, _snapshot

PILLOW_SDIST = "pillow==13.0.0"  # pinned: the same 1,060 files on every machine
PILLOW_IMAGES = "pillow-13.0.0/Tests/images/"
# Pillow's encoder name for each picture type of the media table.
ENCODERS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".gif": "GIF",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tiff": "TIFF",
    ".avif": "AVIF",
    ".heic": "HEIF",  # written and read through pillow-heif (picextract/pictures/imaging.py)
}


def test_every_picture_type_of_the_media_table_is_detected_and_deduplicated(tmp_path: Path) -> None:
    assert {media.extension for media in PICTURE_TYPES} == set(ENCODERS)  # a new type needs a row here
    source = tmp_path / "src"
    source.mkdir()
    for seed, media in enumerate(PICTURE_TYPES):
        for spelling, extension in enumerate(media.extensions):  # every spelling (.jpg and .jpeg) is a picture for the dedup
            picture = Image.open(io.BytesIO(chart(10 * seed + spelling, (96, 64)))).convert("RGB")
            buffer = io.BytesIO()
            picture.save(buffer, format=ENCODERS[media.extension])
            content = buffer.getvalue()
            assert extension_from_magic(content[:16]) == media.extension  # the downloader's detection
            (source / f"2026-03-01_10-00-00_pic{extension}").write_bytes(content)
            (source / f"2026-03-01_10-00-45_pic{extension}").write_bytes(content)  # a re-post
    report = tmp_path / "r.csv"
    result = _dedup(["--source", str(source), "--output", str(tmp_path / "out"), "--report", str(report)], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    spellings = sum(len(media.extensions) for media in PICTURE_TYPES)
    assert len(rows) == 2 * spellings and all(row["phash"] for row in rows)  # each file was scanned and hashed
    assert sorted(row["file"] for row in rows if row["status"] == "removed") == sorted(
        f"2026-03-01_10-00-45_pic{extension}" for media in PICTURE_TYPES for extension in media.extensions
    )
    assert len(list((tmp_path / "out").iterdir())) == spellings


def _test_cache() -> Path:
    return Path(os.environ.get("PICEXTRACT_TEST_CACHE", Path.home() / ".cache" / "discordpicextract-tests"))


@pytest.fixture(scope="session")
def pillow_images() -> Iterator[Path]:
    """Pillow's test images from its pinned sdist, downloaded with pip once into the test cache."""
    cache = _test_cache()
    folder = cache / "pillow-13.0.0-images"
    if not folder.is_dir():
        downloads = cache / "downloads"
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps", PILLOW_SDIST]
        subprocess.run([*command, "-d", str(downloads)], check=True, timeout=600)
        partial = cache / "pillow-images.partial"
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(downloads / "pillow-13.0.0.tar.gz") as archive:
            members = [member for member in archive.getmembers() if member.name.startswith(PILLOW_IMAGES)]
            archive.extractall(partial, members=members, filter="data")
        os.replace(partial / PILLOW_IMAGES, folder)
        shutil.rmtree(partial, ignore_errors=True)
    yield folder


def test_real_world_files_are_all_accounted_for_and_never_removed_unread(pillow_images: Path, tmp_path: Path) -> None:
    before = _snapshot(pillow_images)
    files = sum(1 for path in pillow_images.rglob("*") if path.is_file() and not path.name.startswith("."))
    report = tmp_path / "r.csv"
    result = _dedup(["--source", str(pillow_images), "--output", str(tmp_path / "out"), "--report", str(report)], tmp_path)
    assert result.returncode == 1  # some files are broken on purpose: the user should look
    assert _snapshot(pillow_images) == before  # read, never changed
    assert f"  Files found: {files}\n" in result.stdout
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert len(rows) == files  # every file has its row
    statuses = {row["status"] for row in rows}
    assert statuses == {"kept", "removed", "unreadable", "not a picture"}
    unreadable = {row["file"] for row in rows if row["status"] == "unreadable"}
    assert f"  Could not be read: {len(unreadable)} (kept, never removed)" in result.stdout
    for row in rows:
        if row["status"] == "removed":  # a duplicate only when both it and its keeper hashed alike
            assert row["phash"] and row["kept_file"] not in unreadable
    assert {row["file"] for row in rows if row["status"] in ("kept", "unreadable")} == {
        str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*") if path.is_file()
    } - {"index.csv"}
    assert len(result.stderr.splitlines()) <= 2  # one warning line naming the first few, one count of hidden warnings
    assert "warnings from the image libraries were hidden" in result.stderr


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("hopper.Lab.tif", "LAB"),
        ("lab.tif", "LAB"),
        ("16bit.cropped.tif", "I;16"),
        ("16bit.MM.deflate.tif", "I;16B"),
        ("pil_sample_cmyk.jpg", "CMYK"),
        ("p_trns_single.png", "P"),
        ("l_trns.png", "L"),
        ("i_trns.png", "I;16"),
    ],
)
def test_real_world_odd_modes_hash(pillow_images: Path, name: str, mode: str) -> None:
    with Image.open(pillow_images / name) as image:
        assert image.mode == mode
    assert picture_phash(pillow_images / name).phash is not None
