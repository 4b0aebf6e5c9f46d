"""Benchmark: deduplicate_images.py against the plain reference, same run, alternating.

    python bench/bench_dedup.py [--runs 3] [--files 4000]

Generates (once, cached in bench/.cache/) chart-like pictures over 10 dates with ~40%
byte-identical re-posts 36-190 s later, and a worst case where every file shares its size with
another (uncompressed BMP), then times both tools as subprocesses, checks they print the same
summary and statistics and keep the same files, and prints medians, the ratio and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"


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


def generate(folder: Path, files: int, fmt: str, size: tuple[int, int], seed: int) -> None:
    """~60% originals, ~40% byte-identical re-posts 36-190 s after their original, over 10 dates."""
    if folder.is_dir() and len(os.listdir(folder)) >= files:
        return
    shutil.rmtree(folder, ignore_errors=True)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    rng = random.Random(seed)
    start = datetime(2026, 11, 2)
    originals = int(files * 0.6)
    written = 0
    ext = "png" if fmt == "PNG" else "bmp"
    posts: list[tuple[datetime, str, bytes]] = []
    for number in range(originals):
        day = start + timedelta(days=number % 10)
        when = day + timedelta(seconds=rng.uniform(8 * 3600, 22 * 3600))
        path = partial / f"{when:%Y-%m-%d_%H-%M-%S}_chart_{number}.{ext}"
        draw_chart(rng, size).save(path, format=fmt)
        posts.append((when, path.name, path.read_bytes()))
        written += 1
    while written < files:
        when, name, data = rng.choice(posts)
        later = when + timedelta(seconds=rng.uniform(36, 190))
        repost = partial / f"{later:%Y-%m-%d_%H-%M-%S}_{name.split('_', 2)[2]}"
        if repost.exists():
            continue
        repost.write_bytes(data)
        written += 1
    partial.rename(folder)


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB and stdout of one child process."""
    peak_file = Path(tempfile.mkstemp(prefix="peak-")[1])
    command = [command[0], str(ROOT / "tests" / "peak_rss.py"), str(peak_file), *command[1:]]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    stdout = process.stdout.read() if process.stdout else ""
    status = process.wait()
    elapsed = time.perf_counter() - started
    peak_mb = int(peak_file.read_text() or 0) // 1024
    peak_file.unlink()
    if status != 0:
        raise SystemExit(f"{command[3]} failed with status {status}")
    return elapsed, peak_mb, stdout


def report_part(stdout: str) -> str:
    """The summary and statistics, without notes about copying."""
    return stdout.split("\nNote:", 1)[0].strip()


def kept_names(scratch: Path, which: str, copy: bool) -> list[str]:
    """The kept files: the output folder after a copying run, else the tool's report / reference's list."""
    if copy:
        return sorted(os.listdir(scratch / "out"))
    if which == "tool":
        return sorted(row["file"] for row in json.loads((scratch / "report.json").read_text()) if row["status"] == "kept")
    return (scratch / "kept.txt").read_text().split()


def compare(source: Path, runs: int, label: str, copy: bool) -> dict[str, float]:
    """Alternate tool and reference runs into fresh folders; check equal results; medians."""
    scratch = CACHE / "scratch"
    times: dict[str, list[float]] = {"tool": [], "reference": []}
    memory: dict[str, list[int]] = {"tool": [], "reference": []}
    results: dict[str, tuple[list[str], str]] = {}
    for _ in range(runs):
        for which in ("tool", "reference"):
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            command = [
                sys.executable,
                str(ROOT / "deduplicate_images.py"),
                "--source",
                str(source),
                "--output",
                str(scratch / "out"),
            ]
            if which == "tool" and not copy:
                command += ["--dry-run", "--report", str(scratch / "report.json")]
            if which == "reference":
                command = [sys.executable, str(ROOT / "bench" / "reference_dedup.py"), *command[2:]]
                command += [] if copy else ["--dry-run", "--kept-list", str(scratch / "kept.txt")]
            elapsed, memory_mb, stdout = timed(command)
            times[which].append(elapsed)
            memory[which].append(memory_mb)
            results[which] = (kept_names(scratch, which, copy), report_part(stdout))
        if results["tool"] != results["reference"]:
            raise SystemExit(f"{label}: the tool and the reference disagree")
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "files": len(os.listdir(source)),
        "tool": statistics.median(times["tool"]),
        "reference": statistics.median(times["reference"]),
        "tool_mb": max(memory["tool"]),
        "reference_mb": max(memory["reference"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=4000)
    args = parser.parse_args()
    common = (CACHE / f"dedup_common_{args.files}", args.files, "PNG", (1280, 720))
    worst = (CACHE / f"dedup_worst_{args.files // 4}", args.files // 4, "BMP", (480, 270))
    cases = {
        "common: PNG charts, 40% re-posts (hash + group)": (common, False),
        "common, copying the kept files too": (common, True),
        "worst: BMP, every size shared (hash + group)": (worst, False),
    }
    print(f"Generating (cached in {CACHE}) ...", file=sys.stderr)
    for seed, (folder, files, fmt, size) in enumerate((common, worst)):
        generate(folder, files, fmt, size, seed)
    print("| case | files | reference (s) | deduplicate_images.py (s) | speed-up | peak MB tool / reference |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, ((folder, *_rest), copy) in cases.items():
        result = compare(folder, args.runs, label, copy)
        print(
            f"| {label} | {result['files']:.0f} | {result['reference']:.2f} | {result['tool']:.2f} | "
            f"{result['reference'] / result['tool']:.1f}x | {result['tool_mb']:.0f} / {result['reference_mb']:.0f} |",
            flush=True,
        )
    print(
        f"\nmedians of {args.runs} alternating runs each; both printed the same report and kept the same files", file=sys.stderr
    )


if __name__ == "__main__":
    main()
