"""Benchmark: deduplicate_images.py against the plain imagehash loop, its own rerun, and huge pictures.

    python bench/bench_dedup.py [--files 4000] [--large-files 20000] [--runs 3]

Generates (once, cached in bench/.cache/) chart-like PNGs over 10 dates with ~40% byte-identical
re-posts 36-190 s later (4,000 drawn 1280x720 charts, as before; 20,000 640x360 variants of 50
drawn charts), then measures on each, as subprocesses in the same run:
  1. first run (empty hash cache) against bench/reference_dedup.py (imagehash on every file,
     one after another), checking both keep the same files;  target: at most 0.25x;
  2. the rerun over the unchanged folder (the cache filled by 1) against the first run;  target: 5 %;
  3. peak memory on a folder of very large pictures with the default workers;  target: < 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"

from bench.harness import timed  # noqa: E402

DEDUP_OK = (0, 1)  # 1: some files could not be read, which the dedup reports and goes on


def draw_chart(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A trading-chart-like picture: grid with price labels, candles, volume, two averages, a title."""
    width, height = size
    image = Image.new("RGB", size, (19, 23, 34))
    draw = ImageDraw.Draw(image)
    base = rng.uniform(4000, 6000)
    for y in range(0, height, 36):
        draw.line([(0, y), (width - 70, y)], fill=(42, 46, 57))
        draw.text((width - 64, y + 2), f"{base + (height / 2 - y) * 0.37:.2f}", fill=(160, 165, 175))
    for x in range(0, width - 70, 90):
        draw.line([(x, 0), (x, height)], fill=(42, 46, 57))
        draw.text((x + 3, height - 14), f"{rng.randrange(9, 16)}:{rng.randrange(60):02d}", fill=(160, 165, 175))
    price, averages = height / 2, ([], [])
    candle = rng.choice((5, 6, 7, 9))
    for x in range(10, width - 80, candle + 2):
        step = rng.gauss(0, 7)
        top, bottom = sorted((price, price + step))
        color = (38, 166, 154) if step < 0 else (239, 83, 80)
        draw.line([(x + candle // 2, top - rng.uniform(0, 9)), (x + candle // 2, bottom + rng.uniform(0, 9))], fill=color)
        draw.rectangle([x, top, x + candle, max(bottom, top + 1)], fill=color)
        volume = rng.uniform(5, 60)
        draw.rectangle([x, height - 20 - volume, x + candle, height - 20], fill=tuple(c // 2 for c in color))
        price = min(max(price + step, 40), height - 100)
        averages[0].append((x, price + rng.uniform(-3, 3)))
        averages[1].append((x, price + 12 + rng.uniform(-2, 2)))
    draw.line(averages[0], fill=(255, 193, 7), width=2)
    draw.line(averages[1], fill=(100, 149, 237), width=1)
    draw.text(
        (12, 10),
        f"SPX 0DTE signal #{rng.randrange(10**6)}  entry {base:.2f}  stop {base - rng.uniform(5, 30):.2f}",
        fill=(230, 230, 230),
    )
    return image


def variant(base: Image.Image, rng: random.Random, number: int) -> Image.Image:
    """A new chart from a drawn one: another price line and signal title over it (drawing each from scratch is slow)."""
    picture = base.copy()
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    points = [(x, rng.uniform(40, height - 100)) for x in range(0, width - 80, 24)]
    draw.line(points, fill=(rng.randrange(256), rng.randrange(256), 255), width=3)
    draw.rectangle([8, 8, 330, 24], fill=(19, 23, 34))
    draw.text((12, 10), f"SPX 0DTE signal #{number}  entry {rng.uniform(4000, 6000):.2f}", fill=(230, 230, 230))
    return picture


def generate(folder: Path, files: int, size: tuple[int, int], seed: int, draw_each: bool = True) -> None:
    """~60% originals, ~40% byte-identical re-posts 36-190 s after their original, over 10 dates.

    `draw_each` False draws 50 charts and makes the originals as variants of them (much faster;
    their file sizes cluster, so many more originals share a size with another on their date).
    """
    if folder.is_dir() and len(os.listdir(folder)) >= files:
        return
    shutil.rmtree(folder, ignore_errors=True)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    rng = random.Random(seed)
    bases = [] if draw_each else [draw_chart(rng, size) for _ in range(50)]
    start = datetime(2026, 11, 2)
    originals = int(files * 0.6)
    written = 0
    posts: list[tuple[datetime, Path]] = []
    for number in range(originals):
        day = start + timedelta(days=number % 10)
        when = day + timedelta(seconds=rng.uniform(8 * 3600, 22 * 3600))
        path = partial / f"{when:%Y-%m-%d_%H-%M-%S}_chart_{number}.png"
        picture = draw_chart(rng, size) if draw_each else variant(bases[number % len(bases)], rng, number)
        picture.save(path, format="PNG")
        posts.append((when, path))
        written += 1
    while written < files:
        when, original = rng.choice(posts)
        later = when + timedelta(seconds=rng.uniform(36, 190))
        repost = partial / f"{later:%Y-%m-%d_%H-%M-%S}_{original.name.split('_', 2)[2]}"
        if repost.exists():
            continue
        shutil.copyfile(original, repost)
        written += 1
    partial.rename(folder)


def generate_huge(folder: Path) -> None:
    """Two 13000x13000 gray scans and two 8000x8000 colour charts, each posted twice (a re-post 60 s later)."""
    if folder.is_dir() and len(os.listdir(folder)) == 8:
        return
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    rng = random.Random(7)
    for number, (mode, side) in enumerate([("L", 13000), ("L", 13000), ("RGB", 8000), ("RGB", 8000)]):
        picture = draw_chart(rng, (side // 8, side // 8)).convert(mode).resize((side, side), Image.Resampling.NEAREST)
        first = partial / f"2026-11-20_10-0{number}-00_huge_{number}.png"
        picture.save(first, format="PNG", compress_level=1)
        del picture
        shutil.copyfile(first, partial / f"2026-11-20_10-0{number}-59_huge_{number}.png")
    partial.rename(folder)


def tool_command(source: Path, scratch: Path, cache: Path) -> list[str]:
    """deduplicate_images.py in dry-run mode with a JSON report (the kept files) and the given cache."""
    return [sys.executable, str(ROOT / "deduplicate_images.py"), "--source", str(source), "--output", str(scratch / "out")] + [
        "--dry-run",
        "--report",
        str(scratch / "report.json"),
        "--cache",
        str(cache),
    ]


def tool_kept(scratch: Path) -> list[str]:
    return sorted(
        row["file"] for row in json.loads((scratch / "report.json").read_text()) if row["status"] in ("kept", "unreadable")
    )


def first_and_rerun(source: Path, runs: int) -> dict[str, float]:
    """Medians: reference, tool first run (fresh cache), tool rerun (warm cache); checks equal kept files."""
    scratch = CACHE / "scratch"
    times: dict[str, list[float]] = {"reference": [], "first": [], "rerun": []}
    for number in range(runs):
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        cache = scratch / "hashes.sqlite3"
        if number == 0 or runs > 1:
            reference = [sys.executable, str(ROOT / "bench" / "reference_dedup.py"), "--source", str(source)]
            run = timed(
                [*reference, "--output", str(scratch / "ref"), "--dry-run", "--kept-list", str(scratch / "kept.txt")],
                ok_codes=DEDUP_OK,
            )
            times["reference"].append(run.seconds)
        for which in ("first", "rerun"):
            times[which].append(timed(tool_command(source, scratch, cache), ok_codes=DEDUP_OK).seconds)
            if tool_kept(scratch) != (scratch / "kept.txt").read_text().split():
                raise SystemExit(f"{which}: the tool and the reference keep different files")
    shutil.rmtree(scratch, ignore_errors=True)
    return {which: statistics.median(values) for which, values in times.items()}


def huge_memory(folder: Path) -> dict[str, tuple[int, float]]:
    """Peak MB and seconds: the tool (default workers, empty cache) by the rule and with every picture hashed, the reference."""
    scratch = CACHE / "scratch"
    peaks = {}
    for label, extra in (("rule", []), ("all hashed", ["--max-distance", "1"])):
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        run = timed(tool_command(folder, scratch, scratch / "hashes.sqlite3") + extra, ok_codes=DEDUP_OK)
        peaks[label] = (run.peak_mb, run.seconds)
    run = timed(
        [sys.executable, str(ROOT / "bench" / "reference_dedup.py"), "--source", str(folder), "--output", str(scratch / "ref")]
        + ["--dry-run", "--kept-list", str(scratch / "kept.txt")],
        ok_codes=DEDUP_OK,
    )
    peaks["reference"] = (run.peak_mb, run.seconds)
    shutil.rmtree(scratch, ignore_errors=True)
    return peaks


def print_ratios(label: str, files: int, result: dict[str, float]) -> None:
    """One table: the reference, the first run and the rerun, with their ratios."""
    print(f"\n{label}\n")
    print(f"| {files:,} files | seconds | ratio | target |")
    print("| --- | --- | --- | --- |")
    print(f"| plain imagehash loop (bench/reference_dedup.py) | {result['reference']:.2f} | 1.00 | |")
    print(f"| first run, empty hash cache | {result['first']:.2f} | {result['first'] / result['reference']:.3f}x | <= 0.25x |")
    print(
        f"| rerun, unchanged folder | {result['rerun']:.2f} | {result['rerun'] / result['first']:.1%} of the first run | <= 5 % |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat and take medians (the reference is slow)")
    parser.add_argument("--files", type=int, default=4000, help="pictures in the common case (drawn 1280x720 charts)")
    parser.add_argument("--large-files", type=int, default=20000, help="pictures in the large case (640x360 variants)")
    args = parser.parse_args()
    common = CACHE / f"dedup_common_{args.files}"
    large = CACHE / f"dedup_large_{args.large_files}"
    huge = CACHE / "dedup_huge"
    print(f"Generating (cached in {CACHE}) ...", file=sys.stderr)
    generate(common, args.files, (1280, 720), 0)
    generate(large, args.large_files, (640, 360), 0, draw_each=False)
    generate_huge(huge)
    print_ratios("common: drawn 1280x720 PNG charts, 40% re-posts", args.files, first_and_rerun(common, args.runs))
    print_ratios(
        "large: 640x360 PNG variants, 40% re-posts, sizes clustered", args.large_files, first_and_rerun(large, args.runs)
    )
    peaks = huge_memory(huge)
    print(f"\nhuge: 2 x 13000x13000 gray and 2 x 8000x8000 colour PNGs, each posted twice; default workers ({os.cpu_count()})\n")
    print("| run | peak MB | seconds | target |")
    print("| --- | --- | --- | --- |")
    print(
        f"| deduplicate_images.py, the rule (byte-identical pairs: decoded) | {peaks['rule'][0]} | {peaks['rule'][1]:.1f} | < 500 |"
    )
    print(
        f"| deduplicate_images.py --max-distance 1 (all 8 hashed) | {peaks['all hashed'][0]} | {peaks['all hashed'][1]:.1f} | < 500 |"
    )
    print(f"| plain imagehash loop | {peaks['reference'][0]} | {peaks['reference'][1]:.1f} | |")
    print("\nboth kept the same files in every case", file=sys.stderr)


if __name__ == "__main__":
    main()
