"""deduplicate_images.py: pure grouping and statistics, then end-to-end runs on Pillow pictures."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy
import pytest
from PIL import Image, ImageDraw

from picextract.dedup.groups import ImageFile, candidate_buckets, decide, group_bucket, keeper_order
from picextract.dedup.report import Counts, DuplicatePair, format_duration, statistics_text, summary_text, time_statistics
from picextract.pictures.filenames import parse_name_time
from tests.conftest import ROOT


def _img(name: str, size: int = 100) -> ImageFile:
    return ImageFile(name, size, parse_name_time(name))


# --- pure ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "moment"),
    [
        ("2026-01-05_09-30-00_chart.png", datetime(2026, 1, 5, 9, 30)),
        ("2026-13-05_09-30-00_chart.png", None),
        ("chart.png", None),
        ("2026-01-05_9-30-00_x.png", None),
    ],
)
def test_parse_name_time(name: str, moment: datetime | None) -> None:
    assert parse_name_time(name) == moment


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (36, "36.0s"),
        (59.94, "59.9s"),
        (60, "1.0m (60.0s)"),
        (63.2, "1.1m (63.2s)"),
        (186, "3.1m (186.0s)"),
        (4320, "1.2h (4320.0s)"),
        (0, "0.0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_statistics_follow_numpy_conventions() -> None:
    values = [36.0, 59.0, 60.0, 60.0, 61.0, 62.0, 75.0, 91.0, 186.0]
    stats = time_statistics(values)
    assert stats is not None
    assert stats.std == pytest.approx(numpy.std(values))  # population
    assert stats.p25 == pytest.approx(numpy.percentile(values, 25))
    assert stats.p95 == pytest.approx(numpy.percentile(values, 95, method="linear"))
    assert (stats.count, stats.minimum, stats.maximum, stats.median) == (9, 36.0, 186.0, 61.0)
    assert time_statistics([]) is None


def test_statistics_text_format_and_outliers() -> None:
    pairs = [DuplicatePair(f"r{n}.png", f"k{n}.png", float(v)) for n, v in enumerate([36, 59, 60, 60, 61, 62, 75, 91, 186, 120])]
    text = statistics_text(pairs)
    lines = text.splitlines()
    assert lines[0] == "=" * 70 and lines[1] == "Timestamp Difference Statistics (Removed vs Kept Duplicates)"
    assert "Total pairs calculated:     10" in lines
    assert "Mean difference:            1.4m (81.0s)" in lines
    assert "Minimum difference:         36.0s" in lines
    assert all(line.index(line.split(":")[1].strip()) == 28 for line in lines[3:13])  # one column of values
    p95 = numpy.percentile([36, 59, 60, 60, 61, 62, 75, 91, 186, 120], 95)
    assert f"Files with timestamp difference above 95th percentile ({format_duration(p95)}):" in text
    assert "Total: 1 files" in text
    assert lines[-1] == "  r8.png  3.1m (186.0s)  (duplicate of k8.png)"


def test_statistics_text_without_duplicates() -> None:
    assert "No dated duplicates found" in statistics_text([])


SEED_SUMMARY = [  # the seed's block (deduplicate_images.py of the first release), word for word
    "=" * 60,
    "Deduplication Summary:",
    "  Total images scanned: 3937",
    "  Unique images copied: 2375",
    "  Duplicates skipped: 1562",
    "  Duplicate groups found: 1512",
]


def test_summary_starts_with_the_seeds_block() -> None:
    """Scripts and people read the seed's lines; the lines added since come after them."""
    counts = Counts(scanned=3937, others=0, unreadable=0, not_examined=0, links=0, kept=2375, removed=1562, groups=1512)
    assert summary_text(counts).splitlines()[: len(SEED_SUMMARY)] == SEED_SUMMARY


def test_summary_text_accounts_for_every_file() -> None:
    counts = Counts(scanned=3937, others=12, unreadable=2, not_examined=1, links=2, kept=2375, removed=1562, groups=1512)
    assert summary_text(counts).splitlines() == [
        *SEED_SUMMARY,
        "  Files found: 3952",
        "  Not pictures (ignored): 12",
        "  Could not be read: 3 (kept, never removed)",
        "  Links not followed: 2",
        "=" * 60,
    ]


def test_dry_run_summary_says_would_copy() -> None:
    text = summary_text(
        Counts(scanned=3, others=0, unreadable=0, not_examined=0, links=0, kept=2, removed=1, groups=1, dry_run=True)
    )
    assert "  Would copy (unique): 2" in text and "copied" not in text and "(dry run)" in text


def test_buckets_skip_files_that_share_no_date_and_size() -> None:
    images = [
        _img("2026-01-01_10-00-00_a.png", 100),
        _img("2026-01-01_10-01-00_b.png", 100),
        _img("2026-01-01_10-02-00_c.png", 200),  # alone: no hashing needed
        _img("2026-01-02_10-00-00_d.png", 100),  # other date: alone
        _img("x.png", 100),
        _img("y.png", 100),
    ]
    buckets = candidate_buckets(images, None, exact=True)
    assert sorted([image.name for image in bucket] for bucket in buckets) == [
        ["2026-01-01_10-00-00_a.png", "2026-01-01_10-01-00_b.png"],
        ["x.png", "y.png"],
    ]
    assert len(candidate_buckets(images, None, exact=False)) == 2  # near mode: any size, same date


def test_window_buckets_chain_across_midnight() -> None:
    images = [_img("2026-01-01_23-59-30_a.png"), _img("2026-01-02_00-00-40_b.png"), _img("2026-01-02_05-00-00_c.png", 200)]
    assert candidate_buckets(images, None, exact=True) == []
    assert [[image.name for image in bucket] for bucket in candidate_buckets(images, 120, exact=True)] == [
        ["2026-01-01_23-59-30_a.png", "2026-01-02_00-00-40_b.png"]
    ]


def test_keeper_is_earliest_then_name() -> None:
    group = [_img("2026-01-01_10-00-05_b.png"), _img("2026-01-01_10-00-05_a.png"), _img("2026-01-01_10-00-01_z.png")]
    assert [image.name for image in sorted(group, key=keeper_order)] == [
        "2026-01-01_10-00-01_z.png",
        "2026-01-01_10-00-05_a.png",
        "2026-01-01_10-00-05_b.png",
    ]


def test_decide_from_given_hashes() -> None:
    images = [
        _img("2026-01-01_10-00-00_a.png", 100),
        _img("2026-01-01_10-01-00_a.png", 100),  # same hash and size: duplicate of the first
        _img("2026-01-01_10-03-10_a.png", 100),  # again
        _img("2026-01-01_10-02-00_b.png", 100),  # same size, other hash
        _img("2026-01-01_11-00-00_solid.png", 100),
        _img("2026-01-01_11-00-01_solid.png", 300),  # same hash, other size
        _img("2026-01-01_12-00-00_broken.png", 100),  # unreadable
    ]
    hashes = {image.name: "aa" for image in images[:3]} | {
        images[3].name: "bb",
        images[4].name: "cc",
        images[5].name: "cc",
        images[6].name: None,
    }
    result = decide(images, hashes, None, 0)
    assert [image.name for image in result.kept] == [
        images[0].name,
        images[3].name,
        images[4].name,
        images[5].name,
        images[6].name,
    ]
    assert [(removed.name, kept.name) for removed, kept in result.removed] == [
        (images[1].name, images[0].name),
        (images[2].name, images[0].name),
    ]
    assert result.groups == 1
    assert [pair.difference_seconds for pair in result.pairs] == [60.0, 190.0]


def test_near_duplicates_by_hamming_distance() -> None:
    images = [
        _img("2026-01-01_10-00-00_a.png", 100),
        _img("2026-01-01_10-01-00_b.png", 150),
        _img("2026-01-01_10-02-00_c.png", 170),
    ]
    hashes = {images[0].name: "ff00", images[1].name: "ff01", images[2].name: "0f0f"}
    assert len(group_bucket(images, hashes, None, 0)) == 3
    assert [[image.name for image in group] for group in group_bucket(images, hashes, None, 2)] == [
        [images[0].name, images[1].name],
        [images[2].name],
    ]


# --- end to end ------------------------------------------------------------------------------


def chart(seed: int, size: tuple[int, int] = (160, 100), fmt: str = "PNG", quality: int = 90) -> bytes:
    """A chart-like picture: a random walk line on a grid."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 20):
        draw.line([(x, 0), (x, size[1])], fill=(220, 220, 220))
    y = size[1] / 2
    points = []
    for x in range(0, size[0], 4):
        y = min(max(y + rng.uniform(-8, 8), 5), size[1] - 5)
        points.append((x, y))
    draw.line(points, fill=(rng.randrange(200), 80, 160), width=2)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def solid(color: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _dedup(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run deduplicate_images.py; its hash cache goes to `cwd`/.cache (XDG_CACHE_HOME), never the user's."""
    env = os.environ | {"XDG_CACHE_HOME": str(cwd / ".cache")}
    return subprocess.run(
        [sys.executable, str(ROOT / "deduplicate_images.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    files = {
        "2026-01-05_09-30-00_chart.png": chart(1),
        "2026-01-05_09-31-02_chart.png": chart(1),  # byte-identical re-post 62 s later
        "2026-01-05_09-33-06_chart.png": chart(1),  # and another, 186 s after the first
        "2026-01-05_10-00-00_reencoded.jpg": chart(2, fmt="JPEG", quality=95),
        "2026-01-05_10-00-36_reencoded.jpg": chart(2, fmt="JPEG", quality=60),  # same picture, other size
        "2026-01-05_23-59-30_midnight.png": chart(3),
        "2026-01-06_00-00-40_midnight.png": chart(3),  # re-post across midnight
        "2026-01-06_12-00-00_solid.png": solid((10, 20, 30), (50, 50)),
        "2026-01-06_12-00-01_solid.png": solid((200, 20, 30), (80, 60)),  # same pHash, other size
        "undated_a.png": chart(4),
        "undated_b.png": chart(4),
        "2026-01-06_13-00-00_corrupt.png": b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
        "2026-01-06_13-00-01_corrupt.png": b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
        "notes.txt": b"not a picture",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_end_to_end_exact_rule(source: Path, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in source.iterdir()}
    result = _dedup(
        ["--source", str(source), "--output", str(tmp_path / "clean"), "--report", str(tmp_path / "r.json")], tmp_path
    )
    assert result.returncode == 1, result.stderr  # two unreadable files: the user should look
    kept = sorted(p.name for p in (tmp_path / "clean").iterdir())
    assert kept == sorted(
        [
            "2026-01-05_09-30-00_chart.png",
            "2026-01-05_10-00-00_reencoded.jpg",
            "2026-01-05_10-00-36_reencoded.jpg",
            "2026-01-05_23-59-30_midnight.png",
            "2026-01-06_00-00-40_midnight.png",
            "2026-01-06_12-00-00_solid.png",
            "2026-01-06_12-00-01_solid.png",
            "undated_a.png",
            "2026-01-06_13-00-00_corrupt.png",
            "2026-01-06_13-00-01_corrupt.png",
        ]
    )
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before  # source untouched
    out = result.stdout
    # Total images scanned: the 13 pictures looked at, the 2 that could not be read among them (kept, never removed).
    seed_block = "  Total images scanned: 13\n  Unique images copied: 10\n  Duplicates skipped: 3\n  Duplicate groups found: 2\n"
    new_lines = (
        "  Files found: 14\n  Not pictures (ignored): 1\n  Could not be read: 2 (kept, never removed)\n  Links not followed: 0\n"
    )
    assert f"Deduplication Summary:\n{seed_block}{new_lines}" in out
    assert "Total pairs calculated:     2" in out  # the undated pair is left out of the statistics
    assert "Maximum difference:         3.1m (186.0s)" in out
    assert "Note: 10 copied now, 0 already in" in out
    assert "warning: 2 could not be read, kept as unique: 2026-01-06_13-00-00_corrupt.png (cannot decode:" in result.stderr
    rows = {row["file"]: row for row in json.loads((tmp_path / "r.json").read_text())}
    assert rows["2026-01-05_09-31-02_chart.png"]["status"] == "removed"
    assert rows["2026-01-05_09-31-02_chart.png"]["kept_file"] == "2026-01-05_09-30-00_chart.png"
    assert rows["2026-01-05_09-31-02_chart.png"]["difference_seconds"] == 62.0
    # Only copies of itself shared its date and size: removed by byte identity, which the report says.
    assert rows["2026-01-05_09-31-02_chart.png"]["reason"] == "byte-identical to the kept file (which decodes)"
    assert rows["2026-01-05_09-31-02_chart.png"]["phash"] == "not computed: only byte-identical copies compete"
    assert rows["undated_b.png"]["kept_file"] == "undated_a.png"
    # Idempotent: the second run copies nothing new.
    again = _dedup(["--source", str(source), "--output", str(tmp_path / "clean")], tmp_path)
    assert f"Note: 0 copied now, 10 already in {tmp_path / 'clean'}." in again.stdout


def test_window_catches_midnight_repost_and_csv_report(source: Path, tmp_path: Path) -> None:
    result = _dedup(
        ["--source", str(source), "--output", str(tmp_path / "clean"), "--window", "300", "--report", str(tmp_path / "r.csv")],
        tmp_path,
    )
    assert result.returncode == 1, result.stderr
    assert not (tmp_path / "clean" / "2026-01-06_00-00-40_midnight.png").exists()
    assert "  Duplicates skipped: 4" in result.stdout
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == 14 and {row["status"] for row in rows} == {"kept", "removed", "unreadable", "not a picture"}


def test_near_duplicates_catch_reencoded_copy(source: Path, tmp_path: Path) -> None:
    result = _dedup(["--source", str(source), "--output", str(tmp_path / "clean"), "--max-distance", "6"], tmp_path)
    assert result.returncode == 1, result.stderr
    assert not (tmp_path / "clean" / "2026-01-05_10-00-36_reencoded.jpg").exists()


def test_dry_run_and_link(source: Path, tmp_path: Path) -> None:
    dry = _dedup(["--source", str(source), "--output", str(tmp_path / "dry"), "--dry-run"], tmp_path)
    assert dry.returncode == 1 and not (tmp_path / "dry").exists()
    assert f"Note: dry run: would copy 10 pictures to {tmp_path / 'dry'}; nothing was copied." in dry.stdout
    assert "copied now" not in dry.stdout and "  Would copy (unique): 10" in dry.stdout
    linked = _dedup(["--source", str(source), "--output", str(tmp_path / "linked"), "--link"], tmp_path)
    assert linked.returncode == 1
    kept = tmp_path / "linked" / "2026-01-05_09-30-00_chart.png"
    assert kept.stat().st_ino == (source / kept.name).stat().st_ino


def test_no_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "2026-01-01_00-00-00_a.png").write_bytes(chart(1))
    result = _dedup(["--source", str(folder), "--output", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0 and "No dated duplicates found" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "src", "--output", "src"], "--output must not be the source folder or inside it"),
        (["--source", "src", "--output", "src/clean"], "--output must not be the source folder or inside it"),
        (["--source", "missing", "--output", "out"], "source folder missing does not exist"),
        (["--source", "src/notes.txt", "--output", "out"], "source src/notes.txt is a file, not a folder"),
        (["--source", "src", "--output", "src/notes.txt"], "--output src/notes.txt is a file, not a folder"),
        (["--source", "src", "--output", "out", "--cache", "src/c.sqlite3"], "--cache must not be inside the source folder"),
        (["--source", "src", "--output", "out", "--report", "src/r.csv"], "--report must not be inside the source folder"),
        (["--source", "src", "--output", "out", "--report", "r.txt"], "--report must end in .json or .csv"),
        (["--source", "src", "--output", "out", "--window", "x"], "invalid float value"),
    ],
)
def test_bad_arguments(source: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = _dedup(args, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (source / "clean").exists()
