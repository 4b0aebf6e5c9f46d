"""The dedup on the folders people keep: odd modes, broken and unreadable files, links, huge pictures, ties, index.csv."""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import imagehash
import numpy
import pytest
from PIL import Image

from picextract.dedup.groups import ImageFile, keeper_order
from picextract.dedup.hashing import MemoryBudget, picture_phash
from picextract.pictures.filenames import parse_name_time
from tests.conftest import ROOT
from tests.test_dedup import chart

DAY = "2026-02-03"


def _dedup(args: list[str], cwd: Path, drop_read_rights: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """deduplicate_images.py as a user runs it; with `drop_read_rights`, root loses its power to read any file."""
    env = os.environ | {"XDG_CACHE_HOME": str(cwd / ".cache")}
    return subprocess.run(
        [sys.executable, str(ROOT / "deduplicate_images.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        preexec_fn=_drop_read_override if drop_read_rights and os.geteuid() == 0 else None,
    )


def _drop_read_override() -> None:
    """Remove CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set (prctl PR_CAPBSET_DROP) before exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _gradient(mode: str, seed: int, size: tuple[int, int] = (48, 32)) -> Image.Image:
    """A picture with structure in `mode` (pHash of a flat picture says nothing)."""
    rgb = Image.open(io.BytesIO(chart(seed, size))).convert("RGB")
    if mode == "LAB":
        from PIL import ImageCms

        transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB")
        return ImageCms.applyTransform(rgb, transform)  # type: ignore[return-value]
    if mode == "I;16":
        values = numpy.asarray(rgb.convert("L"), dtype=numpy.uint16) * 200 + 1000  # beyond 255: plain convert("L") clips
        return Image.frombytes("I;16", rgb.size, values.astype("<u2").tobytes())
    if mode == "P":
        paletted = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        paletted.info["transparency"] = 0
        return paletted
    return rgb.convert(mode)


def _write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path): (path.lstat().st_size, path.lstat().st_mtime_ns) for path in folder.rglob("*")}


# --- modes -----------------------------------------------------------------------------------

MODES = [("LAB", "TIFF"), ("CMYK", "TIFF"), ("I;16", "PNG"), ("P", "PNG"), ("LA", "PNG"), ("RGBA", "PNG"), ("1", "BMP")]


@pytest.mark.parametrize(("mode", "fmt"), MODES)
def test_unusual_modes_hash_and_pairs_deduplicate(tmp_path: Path, mode: str, fmt: str) -> None:
    one, other = _save(_gradient(mode, 1), fmt), _save(_gradient(mode, 2), fmt)
    extension = fmt.lower()
    (tmp_path / f"a.{extension}").write_bytes(one)
    assert Image.open(tmp_path / f"a.{extension}").mode == mode
    assert picture_phash(tmp_path / f"a.{extension}").phash is not None
    source = tmp_path / "src"
    _write(
        source,
        {
            f"{DAY}_10-00-00_pic.{extension}": one,
            f"{DAY}_10-01-00_pic.{extension}": one,  # a byte-identical re-post: hashed, so removed
            f"{DAY}_10-02-00_other.{extension}": other,
        },
    )
    result = _dedup(["--source", str(source), "--output", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        f"{DAY}_10-00-00_pic.{extension}",
        f"{DAY}_10-02-00_other.{extension}",
    ]


def test_phash_equals_imagehash_where_the_plain_rule_works(tmp_path: Path) -> None:
    for mode in ("RGB", "RGBA", "L", "P", "CMYK", "1", "LA"):
        path = tmp_path / f"{mode}.tiff"
        _gradient(mode, 3).save(path)
        with Image.open(path) as image:
            assert picture_phash(path).phash == str(imagehash.phash(image)), mode


def test_sixteen_bit_pictures_are_stretched_not_clipped(tmp_path: Path) -> None:
    # Plain convert("L") clips 16-bit values at 255: two different pictures turn white and hash alike.
    paths = [tmp_path / f"{seed}.png" for seed in (1, 2)]
    for seed, path in zip((1, 2), paths):
        _gradient("I;16", seed).save(path)
    plain = {str(imagehash.phash(Image.open(path))) for path in paths}
    ours = {picture_phash(path).phash for path in paths}
    assert len(plain) == 1 and len(ours) == 2


def test_byte_identity_rule_only_where_no_other_content_competes() -> None:
    from picextract.dedup.reading import _byte_identical_only

    images = {name: ImageFile(name, 1, None) for name in ("a1", "a2", "b1", "b2", "c1")}
    digests = {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "c1": "C"}
    buckets = [[images["a1"], images["a2"]], [images["b1"], images["c1"]], [images["b2"]]]
    assert _byte_identical_only(buckets, digests) == {"A"}  # B meets C once: B needs its pHash


def test_lab_tiff_pair_of_different_pictures_is_not_merged(tmp_path: Path) -> None:
    source = tmp_path / "src"
    first, second = _save(_gradient("LAB", 5), "TIFF"), _save(_gradient("LAB", 6), "TIFF")
    assert len(first) == len(second)  # uncompressed: same size, so only the pHash tells them apart
    _write(source, {f"{DAY}_09-00-00_lab.tiff": first, f"{DAY}_09-00-30_lab.tiff": second})
    result = _dedup(["--source", str(source), "--output", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0 and "  Duplicates skipped: 0" in result.stdout


def test_byte_identical_files_that_do_not_decode_are_both_kept(tmp_path: Path) -> None:
    truncated = chart(7, (400, 300))[:700]  # the header reads, the pixels do not
    source = tmp_path / "src"
    _write(source, {f"{DAY}_11-00-00_cut.png": truncated, f"{DAY}_11-00-40_cut.png": truncated})
    result = _dedup(["--source", str(source), "--output", str(tmp_path / "out"), "--report", str(tmp_path / "r.json")], tmp_path)
    assert result.returncode == 1
    assert len(list((tmp_path / "out").iterdir())) == 2
    rows = json.loads((tmp_path / "r.json").read_text())
    assert [row["status"] for row in rows] == ["unreadable", "unreadable"]
    assert all("kept, never removed" in row["reason"] for row in rows)


def test_library_warnings_are_counted_and_shown_with_debug(tmp_path: Path) -> None:
    picture = Image.new("P", (40, 30))
    picture.putpalette([value % 256 for value in range(768)])
    picture.info["transparency"] = bytes(range(256))  # Pillow warns when converting this
    content = _save(picture, "PNG")
    source = tmp_path / "src"
    _write(source, {f"{DAY}_12-00-00_t.png": content, f"{DAY}_12-00-09_t.png": content, f"{DAY}_12-00-30_c.png": chart(1)})
    near = ["--max-distance", "2"]  # every file of the date is hashed
    quiet = _dedup(["--source", str(source), "--output", str(tmp_path / "out"), "--no-cache", *near], tmp_path)
    assert quiet.returncode == 0
    assert quiet.stderr == "note: 1 warnings from the image libraries were hidden (--debug shows them)\n"
    loud = _dedup(["--source", str(source), "--output", str(tmp_path / "out2"), "--no-cache", "--debug", *near], tmp_path)
    assert "UserWarning: Palette images with Transparency" in loud.stderr


# --- links, unreadable files and folders -------------------------------------------------------


def test_links_are_not_followed_and_loops_cannot_hang(tmp_path: Path) -> None:
    source, outside = tmp_path / "src", tmp_path / "outside"
    _write(source, {f"{DAY}_08-00-00_a.png": chart(1)})
    _write(outside, {f"{DAY}_08-00-01_secret.png": chart(9)})
    (source / "sub").mkdir()
    (source / "sub" / f"{DAY}_08-00-02_b.png").write_bytes(chart(2))
    (source / "passwd.png").symlink_to("/etc/passwd")
    (source / "secret.png").symlink_to(outside / f"{DAY}_08-00-01_secret.png")
    (source / "loop").symlink_to(source)
    (source / "sub" / "again").symlink_to("..")
    (source / "inside.png").symlink_to(source / "sub" / f"{DAY}_08-00-02_b.png")
    before = _snapshot(source)
    plain = _dedup(["--source", str(source), "--output", str(tmp_path / "out"), "--report", str(tmp_path / "r.csv")], tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png")) == [
        f"{DAY}_08-00-00_a.png",
        f"sub/{DAY}_08-00-02_b.png",
    ]
    assert "  Links not followed: 5" in plain.stdout
    rows = {row["file"]: row for row in csv.DictReader((tmp_path / "r.csv").open())}
    assert rows["passwd.png"]["status"] == "link" and rows["loop"]["reason"] == "not followed"
    followed = _dedup(["--source", str(source), "--output", str(tmp_path / "out2"), "--follow-links"], tmp_path, timeout=20)
    assert followed.returncode == 0, followed.stderr
    copied = sorted(str(p.relative_to(tmp_path / "out2")) for p in (tmp_path / "out2").rglob("*.png"))
    assert copied == [f"{DAY}_08-00-00_a.png", "inside.png", f"sub/{DAY}_08-00-02_b.png"]  # the outside targets stay out
    assert "  Links not followed: 4" in followed.stdout  # passwd, secret, and the two ways back into src
    assert _snapshot(source) == before


def test_unreadable_file_and_folder_are_reported_and_the_run_finishes(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _write(source, {f"{DAY}_07-00-00_a.png": chart(1), f"{DAY}_07-00-05_a.png": chart(1), "locked.png": chart(3)})
    _write(source / "private", {"hidden.png": chart(4)})
    (source / "locked.png").chmod(0)
    (source / "private").chmod(0)
    try:
        result = _dedup(
            ["--source", str(source), "--output", str(tmp_path / "out"), "--report", str(tmp_path / "r.csv")],
            tmp_path,
            drop_read_rights=True,
        )
    finally:
        (source / "locked.png").chmod(0o644)
        (source / "private").chmod(0o755)
    assert result.returncode == 1
    assert "  Could not be read: 2 (kept, never removed)" in result.stdout
    assert "  Duplicates skipped: 1" in result.stdout
    assert "locked.png (cannot read: Permission denied)" in result.stderr
    assert "private/ (cannot open folder: Permission denied)" in result.stderr
    rows = {row["file"]: row["status"] for row in csv.DictReader((tmp_path / "r.csv").open())}
    assert rows["locked.png"] == rows["private/"] == "unreadable"
    # The refusal is not cached: once readable, the file is read.
    again = _dedup(["--source", str(source), "--output", str(tmp_path / "out")], tmp_path, drop_read_rights=True)
    assert again.returncode == 0, again.stdout


# --- huge pictures ---------------------------------------------------------------------------


def test_memory_budget_runs_large_jobs_alone() -> None:
    budget = MemoryBudget(100)
    with budget.reserve(60):
        assert budget._in_flight == 60
    with budget.reserve(500):  # larger than the budget: admitted when nothing else runs
        assert budget._in_flight == 500
    assert budget._in_flight == 0


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` x `height` pixels."""
    small = bytearray(_save(Image.new("1", (8, 8)), "PNG"))
    header = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes(small[24:29])
    small[12:29] = header
    small[29:33] = zlib.crc32(header).to_bytes(4, "big")
    return bytes(small)


def test_huge_pictures_are_hashed_one_at_a_time_and_bombs_skipped(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for number in range(2):
        huge = Image.new("L", (12_000, 12_000), 40)  # 144 MB decoded each, a few hundred KB on disk
        huge.paste(255, (6000 * number, 0, 6000 * number + 6000, 12_000))  # a bright half, another one each
        huge.save(source / f"{DAY}_06-00-0{number}_huge.png", compress_level=1)
        del huge
    (source / f"{DAY}_06-10-00_bomb.png").write_bytes(_png_claiming(20_000, 20_000))  # 400 million pixels
    peak_file = tmp_path / "peak"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "peak_rss.py"), str(peak_file), str(ROOT / "deduplicate_images.py")]
        + ["--source", str(source), "--output", str(tmp_path / "out"), "--workers", "8", "--max-distance", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"XDG_CACHE_HOME": str(tmp_path / ".cache")},
    )
    assert result.returncode == 1, result.stderr
    assert f"{DAY}_06-10-00_bomb.png (decompression bomb, skipped" in result.stderr
    assert "  Total images scanned: 3" in result.stdout and "  Duplicates skipped: 0" in result.stdout
    assert "warnings from the image libraries were hidden" in result.stderr  # DecompressionBombWarning, counted
    peak_mb = int(peak_file.read_text()) / 1024
    assert peak_mb < 280, peak_mb  # one at a time: about 200 MB; two at once would pass 340 MB


# --- ties, index.csv, names that are not UTF-8 ------------------------------------------------


@pytest.mark.parametrize(
    ("names", "keeper"),
    [
        (["screenshot (1).png", "screenshot.png"], "screenshot.png"),
        (["2026-01-01_10-00-00_image_1234567890123456789.png", "2026-01-01_10-00-00_image.png"], "2026-01-01_10-00-00_image.png"),
        (["2026-01-01_10-00-00_b - Copy.png", "2026-01-01_10-00-00_b.png"], "2026-01-01_10-00-00_b.png"),
        (["2026-01-01_10-00-00_b (2).png", "2026-01-01_10-00-01_a.png"], "2026-01-01_10-00-00_b (2).png"),  # time first
        (["2026-01-01_10-00-00_z.png", "2026-01-01_10-00-00_a.png"], "2026-01-01_10-00-00_a.png"),  # then name order
    ],
)
def test_tie_keeps_the_original_name(names: list[str], keeper: str) -> None:
    images = [ImageFile(name, 1, parse_name_time(name)) for name in names]
    assert min(images, key=keeper_order).name == keeper


def test_tie_end_to_end_and_index_csv(tmp_path: Path) -> None:
    source = tmp_path / "src"
    copy_name, original = f"{DAY}_10-00-00_image_1412345678901234567.png", f"{DAY}_10-00-00_image.png"
    repost, other = f"{DAY}_10-01-30_image.png", f"{DAY}_11-00-00_other.png"
    _write(source, {copy_name: chart(1), original: chart(1), repost: chart(1), other: chart(2)})
    with open(source / "index.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "posted_at_utc", "message_id", "channel", "author", "text", "source_url", "width", "height"])
        for number, name in enumerate([copy_name, original, repost, other]):
            writer.writerow([name, f"{DAY}T10:00:00+00:00", str(100 + number), "charts", "bot", f"signal {number}", "", "", ""])
    result = _dedup(["--source", str(source), "--output", str(tmp_path / "out"), "--report", str(tmp_path / "r.csv")], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "out" / "index.csv").open(encoding="utf-8")))
    assert [(row["file"], row["text"], row["copies_removed"]) for row in rows] == [
        (original, "signal 1", "2"),
        (other, "signal 3", "0"),
    ]
    assert rows[0]["removed_copies"] == f"{copy_name} | {repost}"
    report = {row["file"]: row for row in csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8"))}
    assert report[repost]["kept_file"] == original and report[repost]["difference_seconds"] == "90.0"
    assert report[copy_name]["kept_file"] == original and report[copy_name]["difference_seconds"] == "0.0"


def test_names_that_are_not_utf8_reach_both_reports(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    names = [f"{DAY}_10-00-{second}_caf".encode() + b"\xe9.png" for second in ("00", "20", "55")]
    for name in names:
        Path(os.fsdecode(os.fsencode(source) + b"/" + name)).write_bytes(chart(1))
    for report in ("r.csv", "r.json"):
        result = _dedup(
            ["--source", str(source), "--output", str(tmp_path / "out"), "--report", str(tmp_path / report)], tmp_path
        )
        assert result.returncode == 0, result.stderr
        text = (tmp_path / report).read_text(encoding="utf-8")
        assert f"{DAY}_10-00-55_caf\\xe9.png" in text.replace("\\\\", "\\")
        assert f"  {DAY}_10-00-55_caf\\xe9.png  55.0s  (duplicate of {DAY}_10-00-00_caf\\xe9.png)" in result.stdout
    assert os.listdir(os.fsencode(tmp_path / "out")) == [names[0]]  # the copy keeps the real bytes of its name


# --- the hash cache --------------------------------------------------------------------------


def test_rerun_reads_no_unchanged_file_and_the_cache_lives_outside_the_source(tmp_path: Path) -> None:
    source = tmp_path / "src"
    first, repost = f"{DAY}_10-00-00_a.png", f"{DAY}_10-02-00_a.png"
    _write(source, {first: chart(1), repost: chart(1)})
    before = {path.name for path in source.iterdir()}
    assert _dedup(["--source", str(source), "--output", str(tmp_path / "out")], tmp_path).returncode == 0
    assert (tmp_path / ".cache" / "discordpicextract" / "dedup-hashes.sqlite3").is_file()
    assert {path.name for path in source.iterdir()} == before
    # Garble the re-post but keep its size and time: a rerun trusts the cache and does not read it...
    stat = (source / repost).stat()
    (source / repost).write_bytes(b"\0" * stat.st_size)
    os.utime(source / repost, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    cached = _dedup(["--source", str(source), "--output", str(tmp_path / "out2")], tmp_path)
    assert cached.returncode == 0 and "  Duplicates skipped: 1" in cached.stdout
    # ...while a changed time, or --no-cache, reads it again.
    uncached = _dedup(["--source", str(source), "--output", str(tmp_path / "out3"), "--no-cache"], tmp_path)
    assert uncached.returncode == 1 and "  Could not be read: 1" in uncached.stdout
    os.utime(source / repost, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    changed = _dedup(["--source", str(source), "--output", str(tmp_path / "out4")], tmp_path)
    assert changed.returncode == 1 and "  Could not be read: 1" in changed.stdout


def test_damaged_cache_is_one_line_and_exit_4(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _write(source, {f"{DAY}_10-00-00_a.png": chart(1)})
    (tmp_path / "cache.sqlite3").write_bytes(b"not a database" * 100)
    result = _dedup(
        ["--source", str(source), "--output", str(tmp_path / "out"), "--cache", str(tmp_path / "cache.sqlite3")], tmp_path
    )
    assert result.returncode == 4
    assert result.stderr == (
        f"error: the hash cache {tmp_path / 'cache.sqlite3'} cannot be used (file is not a database); delete it or pass --no-cache\n"
    )
    assert not (tmp_path / "out").exists()
