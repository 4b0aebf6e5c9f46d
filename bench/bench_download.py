"""Benchmark: main.py against a plain sequential client and the fake server's lower bound.

    python bench/bench_download.py [--runs 3] [--workers 8,16,32] [--messages 2950] [--pictures 300] [--gallery]

Starts the fake Discord server with 40 ms per request on API and CDN and 4 MB/s per
connection, a channel of about 3,000 messages in the window with 300 pictures of 80-150 KB,
then times, alternating in the same run, main.py with a bot token (once per worker count; by
default the tool's own default for bots) and bench/sequential_client.py, and computes the lower
bound: page round trips (latency + JSON at the bandwidth), or picture bytes / (bandwidth x
workers) + latency, whichever is larger. With --gallery it also runs main.py with its gallery on
(thumbnails made while downloading), alternating with the --no-gallery run, and compares the two.
Prints medians, ratios, peak memory and the rate-limit violations the server counted.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import timed, tool_env  # noqa: E402
from config import Settings  # noqa: E402
from picextract.fake.sample import BOT_TOKEN, CHANNEL_ID, setup_server  # noqa: E402
from picextract.fake.server import FakeDiscord  # noqa: E402


def noise_png(rng: random.Random, target_bytes: int) -> bytes:
    """A real PNG of about `target_bytes` (noise does not compress)."""
    side = int(math.sqrt(target_bytes / 3))
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def build_channel(server: FakeDiscord, messages: int, pictures: int, seed: int = 3) -> int:
    """`messages` messages over the last 13.9 days, `pictures` of them with a picture; returns bytes."""
    factory = setup_server(server)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    with_picture = set(rng.sample(range(messages), pictures))
    total = 0
    for number in range(messages):
        when = now - timedelta(days=13.9) + timedelta(days=13.8) * number / messages
        attachments = []
        if number in with_picture:
            data = noise_png(rng, rng.randrange(80_000, 150_000))
            total += len(data)
            attachments.append(factory.attachment(f"chart_{number}.png", data))
        factory.message(when, f"signal update {number}", attachments)
    return total


def served_page_bytes(server: FakeDiscord) -> int:
    """The JSON bytes of every page of the channel as the server sends them (paged like the tool, no delays)."""
    latency, bandwidth = server.state.latency_seconds, server.state.bytes_per_second
    server.state.latency_seconds, server.state.bytes_per_second = 0.0, None
    total, after = 0, "0"
    try:
        with requests.Session() as session:
            while True:
                answer = session.get(
                    f"{server.api_base}/channels/{CHANNEL_ID}/messages",
                    params={"after": after, "limit": 100},
                    headers={"Authorization": f"Bot {BOT_TOKEN}"},
                    timeout=30,
                )
                total += len(answer.content)
                page = answer.json()
                if len(page) < 100:
                    return total
                after = max(page, key=lambda message: int(message["id"]))["id"]
    finally:
        server.state.latency_seconds, server.state.bytes_per_second = latency, bandwidth


def lower_bound(messages: int, page_bytes: int, total_bytes: int, workers: int, latency: float, bandwidth: float) -> float:
    """What the server allows: the page round trips one after another (latency + JSON at the
    bandwidth), or the picture bytes over `workers` connections plus one latency, whichever is larger."""
    paging_seconds = math.ceil(messages / 100) * latency + page_bytes / bandwidth
    return max(paging_seconds, total_bytes / (bandwidth * workers) + latency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers",
        default="",
        help="comma-separated worker counts to compare, e.g. 8,16,32 (default: the tool's own default for bot tokens)",
    )
    parser.add_argument("--messages", type=int, default=2950)
    parser.add_argument("--pictures", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.040, help="seconds added to every request")
    parser.add_argument("--bandwidth", type=float, default=4_000_000, help="bytes per second per connection")
    parser.add_argument("--gallery", action="store_true", help="also run main.py with its gallery on (the default of main.py)")
    args = parser.parse_args()
    worker_counts = [int(part) for part in args.workers.split(",") if part.strip()] or [Settings().BOT_MAX_WORKERS]

    server = FakeDiscord(
        latency_seconds=args.latency, bytes_per_second=args.bandwidth, bucket_limit=50, bucket_window_seconds=1.0
    ).start()
    total_bytes = build_channel(server, args.messages, args.pictures)
    env = tool_env(server.api_base, BOT_TOKEN)
    scratch = Path(tempfile.mkdtemp(prefix="bench-download-"))
    # --no-gallery: the offline gallery's thumbnails are not part of downloading (the sequential client makes none).
    tool = [sys.executable, str(ROOT / "main.py"), "--channel", CHANNEL_ID, "--days", "14", "--no-input"]
    commands = {f"tool:{workers}": [*tool, "--no-gallery", "--workers", str(workers)] for workers in worker_counts}
    if args.gallery:
        commands |= {f"gallery:{workers}": [*tool, "--workers", str(workers)] for workers in worker_counts}
    commands["sequential"] = [
        sys.executable,
        str(ROOT / "bench" / "sequential_client.py"),
        "--channel",
        CHANNEL_ID,
        "--days",
        "14",
    ]
    times: dict[str, list[float]] = {which: [] for which in commands}
    memory: dict[str, list[int]] = {which: [] for which in commands}
    try:
        for _ in range(args.runs):
            for which, command in commands.items():
                out = scratch / which.replace(":", "-")
                shutil.rmtree(out, ignore_errors=True)
                run = timed([*command, "--output", str(out)], env)
                saved = [name for name in os.listdir(out) if not name.startswith(".") and name not in ("index.csv", "index.html")]
                if len(saved) != args.pictures:
                    raise SystemExit(f"{which} saved {len(saved)} of {args.pictures} pictures")
                times[which].append(run.seconds)
                memory[which].append(run.peak_mb)
        page_bytes = served_page_bytes(server)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        server.stop()
    sequential = statistics.median(times["sequential"])
    print(
        f"{args.messages} messages, {args.pictures} pictures, {total_bytes / 1e6:.1f} MB; {args.latency * 1000:.0f} ms per request, "
        f"{args.bandwidth / 1e6:.0f} MB/s per connection; bot token; medians of {args.runs} alternating runs"
    )
    print()
    print("| run | seconds (median) | lower bound (s) | / bound | / sequential | peak MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for workers in worker_counts:
        seconds = statistics.median(times[f"tool:{workers}"])
        bound = lower_bound(args.messages, page_bytes, total_bytes, workers, args.latency, args.bandwidth)
        print(
            f"| main.py, {workers} workers | {seconds:.2f} | {bound:.2f} | {seconds / bound:.2f} | {seconds / sequential:.2f} "
            f"| {max(memory[f'tool:{workers}'])} |"
        )
        if args.gallery:
            with_gallery = statistics.median(times[f"gallery:{workers}"])
            print(
                f"| main.py, {workers} workers, gallery on ({with_gallery / seconds:.2f}x --no-gallery) | {with_gallery:.2f} "
                f"| {bound:.2f} | {with_gallery / bound:.2f} | {with_gallery / sequential:.2f} | {max(memory[f'gallery:{workers}'])} |"
            )
    print(f"| sequential client | {sequential:.2f} | | | 1.00 | {max(memory['sequential'])} |")
    print()
    print(
        f"lower bound = max({math.ceil(args.messages / 100)} page round trips ({args.latency * 1000:.0f} ms + "
        f"{page_bytes / 1e6:.1f} MB JSON at the bandwidth), {total_bytes / 1e6:.1f} MB / (workers x bandwidth) + latency)"
    )
    print(f"rate-limit violations counted by the server: {server.state.violations}")


if __name__ == "__main__":
    main()
