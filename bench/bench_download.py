"""Benchmark: main.py against a plain sequential client and the fake server's lower bound.

    python bench/bench_download.py [--runs 3] [--workers 16] [--messages 2950] [--pictures 300]

Starts the fake Discord server with 40 ms per request on API and CDN and 4 MB/s per
connection, a channel of about 3,000 messages in the window with 300 pictures of 80-150 KB,
then times, alternating, (a) main.py with RATE_LIMIT_DELAY=0, (b) bench/sequential_client.py,
and computes (c) the lower bound: page round trips (latency + JSON at the bandwidth), or
picture bytes / (bandwidth x workers), whichever is larger.
Prints medians, ratios, the tool's peak memory and the rate-limit violations the server counted.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, setup_server  # noqa: E402
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


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak memory (MB, measured by the child itself) of one child process."""
    peak_file = Path(tempfile.mkstemp(prefix="peak-")[1])
    command = [command[0], str(ROOT / "tests" / "peak_rss.py"), str(peak_file), *command[1:]]
    started = time.perf_counter()
    process = subprocess.run(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - started
    peak_mb = int(peak_file.read_text() or 0) // 1024
    peak_file.unlink()
    if process.returncode != 0:
        raise SystemExit(f"{command[3]} failed: {process.stderr.decode()[-500:]}")
    return elapsed, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16, help="download workers for the tool (its own default is 8)")
    parser.add_argument("--messages", type=int, default=2950)
    parser.add_argument("--pictures", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.040, help="seconds added to every request")
    parser.add_argument("--bandwidth", type=float, default=4_000_000, help="bytes per second per connection")
    args = parser.parse_args()

    server = FakeDiscord(
        latency_seconds=args.latency, bytes_per_second=args.bandwidth, bucket_limit=50, bucket_window_seconds=1.0
    ).start()
    total_bytes = build_channel(server, args.messages, args.pictures)
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_")}
    env.update(DISCORD_API_BASE=server.api_base, DISCORD_USER_TOKEN=USER_TOKEN, RATE_LIMIT_DELAY="0", PYTHONPATH=str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix="bench-download-"))
    commands = {
        "tool": [
            sys.executable,
            str(ROOT / "main.py"),
            "--channel",
            CHANNEL_ID,
            "--days",
            "14",
            "--no-input",
            "--workers",
            str(args.workers),
        ],
        "sequential": [sys.executable, str(ROOT / "bench" / "sequential_client.py"), "--channel", CHANNEL_ID, "--days", "14"],
    }
    times: dict[str, list[float]] = {"tool": [], "sequential": []}
    memory: list[int] = []
    try:
        for _ in range(args.runs):
            for which, command in commands.items():
                out = scratch / which
                shutil.rmtree(out, ignore_errors=True)
                elapsed, peak_mb = timed([*command, "--output", str(out)], env)
                saved = [name for name in os.listdir(out) if not name.startswith(".") and name != "index.csv"]
                if len(saved) != args.pictures:
                    raise SystemExit(f"{which} saved {len(saved)} of {args.pictures} pictures")
                times[which].append(elapsed)
                if which == "tool":
                    memory.append(peak_mb)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        server.stop()
    pages = math.ceil(args.messages / 100)
    # A page's round trip is the latency plus its JSON body at the per-connection bandwidth.
    page_bytes = sum(len(json.dumps(message)) + 2 for message in server.state.messages[CHANNEL_ID])
    paging_seconds = pages * args.latency + page_bytes / args.bandwidth
    bound = max(paging_seconds, total_bytes / (args.bandwidth * args.workers))
    tool, sequential = statistics.median(times["tool"]), statistics.median(times["sequential"])
    print(
        f"{args.messages} messages, {args.pictures} pictures, {total_bytes / 1e6:.1f} MB; {args.latency * 1000:.0f} ms per request, {args.bandwidth / 1e6:.0f} MB/s per connection; {args.workers} workers; medians of {args.runs} alternating runs"
    )
    print()
    print("| run | seconds (median) | tool / this |")
    print("| --- | --- | --- |")
    print(f"| (a) main.py, RATE_LIMIT_DELAY=0 | {tool:.2f} | 1.00 |")
    print(f"| (b) sequential client | {sequential:.2f} | {tool / sequential:.2f} |")
    print(
        f"| (c) lower bound: max({pages} page round trips ({args.latency * 1000:.0f} ms + {page_bytes / 1e6:.1f} MB JSON), "
        f"{total_bytes / 1e6:.1f} MB / ({args.workers} x bandwidth)) | {bound:.2f} | {tool / bound:.2f} |"
    )
    print()
    print(f"tool peak memory: {max(memory)} MB; rate-limit violations counted by the server: {server.state.violations}")


if __name__ == "__main__":
    main()
