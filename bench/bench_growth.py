"""Benchmark: what a run, a rerun and a watch poll cost as the archive grows to 100,000 pictures.

    python bench/bench_growth.py [--sizes 200,1000,10000,100000] [--quick] [--runs 3] [--polls 10]
                                 [--interval 1] [--timeout 30]

For each size a fresh fake Discord server (no latency, a bot token, its usual 50 requests/s per
route) holds a one-year channel of that many small pictures, one per message (32x24 PNGs: 64
distinct contents under distinct names), and main.py runs as a subprocess into a fresh folder:
  1. the first run: wall time and peak memory;
  2. a rerun with nothing new: time (median of --runs), and the bytes it wrote outside the state
     file (every file under the folder that is new or whose size, times or inode changed);
  3. a rerun after 20 new pictures were posted (median of --runs; 20 more before each);
  4. `--watch 1`: the CPU time of one quiet poll (user + system time of the watching process over
     --polls polls, which the server's request log counts) and the API requests of a poll;
  5. one picture posted during that watch: seconds until it is saved and until its name is in the
     gallery (index.html or any file under the gallery folder), or never (within --timeout).
Prints a Markdown table and issue 19's goals (10,000 against 200; 100,000 on its own).
`--quick`: 200, 1,000 and 10,000 pictures, one rerun of each kind, 5 polls (about 2 minutes)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.growth_report import (  # noqa: E402
    NEW_PICTURES,
    SizeResult,
    WatchResult,
    print_goals,
    print_row,
    print_table_header,
    print_written,
)
from bench.harness import timed, tool_env  # noqa: E402
from picextract.fake.sample import BOT_TOKEN, CHANNEL_ID, MessageFactory, make_picture, setup_server, stamp  # noqa: E402
from picextract.fake.server import FakeDiscord  # noqa: E402
from picextract.store.layout import ASSETS_DIR, GALLERY_FILE_NAME, INDEX_FILE_NAME, STATE_FILE_NAME  # noqa: E402

SIZES = (200, 1000, 10_000, 100_000)
QUICK_SIZES = (200, 1000, 10_000)
YEAR = timedelta(days=365)
DISTINCT_PICTURES = 64
PICTURE_SIZE = (32, 24)  # pixels: small pictures keep a 100,000-picture folder to a few hundred MB
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif")
FileKey = tuple[int, int, int, int]  # size, mtime, ctime (a utime or rename changes it), inode (os.replace changes it)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Channel:
    """The benchmark's channel on the fake server; `post` adds a message with one picture, newest last."""

    factory: MessageFactory
    pictures: list[bytes]
    posted: int = 0

    def post(self, when: datetime, stem: str) -> str:
        """One message with one picture; returns the file name the tool saves it under (UTC, the default template)."""
        number = self.posted
        self.posted += 1
        name = f"{stem}_{number:06d}.png"
        attachment = self.factory.attachment(name, self.pictures[number % len(self.pictures)])
        self.factory.message(when, f"signal {number}", [attachment])
        return f"{stamp(when)}_{name}"

    def post_now(self, count: int, stem: str) -> list[str]:
        """`count` pictures posted in the last `count` milliseconds (newer than everything before)."""
        now = datetime.now(timezone.utc)
        return [self.post(now - timedelta(milliseconds=count - number), stem) for number in range(count)]


def build_channel(server: FakeDiscord, pictures: int) -> Channel:
    """`pictures` messages evenly over the year that ended an hour ago, each with one small picture."""
    channel = Channel(setup_server(server), [make_picture(seed, size=PICTURE_SIZE) for seed in range(DISTINCT_PICTURES)])
    start = datetime.now(timezone.utc) - YEAR
    step = (YEAR - timedelta(hours=1)) / pictures
    for number in range(pictures):
        channel.post(start + step * number, "chart")
    return channel


@dataclass(frozen=True)
class Archive:
    """The folder given as --output, and the channel's folder in it (the same folder for one channel, today)."""

    output: Path
    channel: Path

    @classmethod
    def found_in(cls, output: Path) -> Archive:
        """After the first run: the channel's folder is the output folder or the one folder in it that holds index.csv."""
        with os.scandir(output) as entries:
            folders = [Path(entry.path) for entry in entries if entry.is_dir() and not entry.name.startswith(".")]
        for folder in [output, *folders]:
            if (folder / INDEX_FILE_NAME).is_file():
                return cls(output, folder)
        raise SystemExit(f"the first run wrote no {INDEX_FILE_NAME} in {output} or a folder in it")

    def saved_pictures(self) -> int:
        not_pictures = (INDEX_FILE_NAME, GALLERY_FILE_NAME)
        return sum(1 for name in os.listdir(self.channel) if not name.startswith(".") and name not in not_pictures)


def snapshot(folder: Path) -> dict[str, FileKey]:
    """Every file under `folder` (relative path) with what changes when it is written."""
    found: dict[str, FileKey] = {}
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                    continue
                info = entry.stat(follow_symlinks=False)
                found[os.path.relpath(entry.path, folder)] = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    return found


def written_files(before: dict[str, FileKey], after: dict[str, FileKey]) -> dict[str, int]:
    """Files new or changed between two snapshots, outside the state file (and its journal), with their sizes."""
    return {
        path: key[0] for path, key in after.items() if before.get(path) != key and not Path(path).name.startswith(STATE_FILE_NAME)
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (and its waited-for children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the name: field 3 (state) is fields[0], so utime, stime, cutime, cstime (14-17) are fields[11:15].
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def wait_until(done: Callable[[], bool], process: subprocess.Popen[bytes], deadline: float, step: float) -> float | None:
    """The moment (perf_counter) `done()` held, or None at the deadline; the watch ending first ends the benchmark."""
    while time.perf_counter() < deadline:
        if done():
            return time.perf_counter()
        if process.poll() is not None:
            raise SystemExit(f"the watch ended with status {process.returncode}")
        time.sleep(step)
    return None


class GallerySearch:
    """Looks for a name in the gallery's files (index.html, everything under the gallery folder but pictures).

    Wherever the gallery keeps its data (one data.js, monthly shards, the page itself), the name of
    a picture it shows is in one of them. Only files changed since the last look are read again.
    """

    def __init__(self, folder: Path, name: str) -> None:
        self.page, self.assets, self.needle = folder / GALLERY_FILE_NAME, folder / ASSETS_DIR, name.encode()
        self.read: dict[Path, tuple[int, int, int]] = {}

    def files(self) -> Iterator[Path]:
        yield self.page
        for directory, _, names in os.walk(self.assets):
            yield from (Path(directory, name) for name in names if not name.lower().endswith(PICTURE_SUFFIXES))

    def found(self) -> bool:
        for path in self.files():
            try:
                info = path.stat()
                key = (info.st_size, info.st_mtime_ns, info.st_ino)
                if self.read.get(path) != key:
                    self.read[path] = key
                    if self.needle in path.read_bytes():
                        return True
            except OSError:  # not there (yet), or replaced while we looked
                continue
        return False


def page_requests(server: FakeDiscord) -> list[float]:
    """When the channel's messages were asked for: a quiet poll asks once (a poll that finds something, more often)."""
    return [request.at for request in server.api_requests(f"/channels/{CHANNEL_ID}/messages")]


def polls_begun(server: FakeDiscord, count: int) -> Callable[[], bool]:
    return lambda: len(page_requests(server)) >= count


def quiet_polls(server: FakeDiscord, process: subprocess.Popen[bytes], args: argparse.Namespace) -> tuple[float, float]:
    """CPU seconds and API requests per poll, from the start of the second poll to the start of the `polls`-th after it."""
    # The first pass may differ from a poll (start-up, imports): measure from the start of the second.
    if wait_until(polls_begun(server, 2), process, time.perf_counter() + 2 * args.timeout, 0.002) is None:
        raise SystemExit(f"the watch did not poll twice within {2 * args.timeout:g} s")
    cpu_before = cpu_seconds(process.pid)
    for poll in range(args.polls):
        if wait_until(polls_begun(server, 3 + poll), process, time.perf_counter() + args.timeout, 0.002) is None:
            raise SystemExit(f"no poll within {args.timeout:g} s")
    cpu = cpu_seconds(process.pid) - cpu_before
    # A poll's requests go out together, the page and the thread listings in either order: count those from half an
    # interval before the first measured poll's page to half an interval before the page of the poll after the last.
    starts = page_requests(server)
    begin, end = starts[1] - args.interval / 2, starts[1 + args.polls] - args.interval / 2
    requests = sum(begin <= request.at < end for request in server.api_requests())
    return cpu / args.polls, requests / args.polls


def live_picture(
    channel: Channel, folder: Path, process: subprocess.Popen[bytes], timeout: float
) -> tuple[float | None, float | None]:
    """Post one picture while the watch runs: seconds until its file is saved, and until the gallery names it."""
    name = channel.post_now(1, "live")[0]
    posted = time.perf_counter()
    saved = wait_until((folder / name).exists, process, posted + timeout, 0.005)
    if saved is None:
        return None, None
    shown = wait_until(GallerySearch(folder, name).found, process, posted + timeout, 0.1)
    return saved - posted, None if shown is None else shown - posted


def measure_watch(archive: Archive, env: dict[str, str], channel: Channel, args: argparse.Namespace) -> WatchResult:
    """`--watch INTERVAL` on the grown folder: quiet polls, then a picture posted during the watch."""
    server = channel.factory.server
    server.state.requests.clear()
    watch = [*tool_command(archive.output), "--watch", f"{args.interval:g}"]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(watch, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            cpu, requests = quiet_polls(server, process, args)
            saved, shown = live_picture(channel, archive.channel, process, args.timeout)
        finally:
            stop(process, errors)
    return WatchResult(cpu, requests, saved, shown)


def stop(process: subprocess.Popen[bytes], errors: IO[bytes]) -> None:
    """SIGTERM, as a service manager stops a watch; it must end cleanly (status 0)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        status = process.wait()
    if status != 0:
        errors.seek(0)
        log(f"the watch ended with status {status}: {errors.read().decode(errors='replace')[-1000:]}")


def tool_command(folder: Path) -> list[str]:
    """main.py over the whole year into `folder`, never prompting (a bot token from the environment)."""
    return [
        sys.executable,
        str(ROOT / "main.py"),
        "--channel",
        CHANNEL_ID,
        "--days",
        "366",
        "--no-input",
        "--output",
        str(folder),
    ]


def reruns(result: SizeResult, archive: Archive, env: dict[str, str], channel: Channel, runs: int) -> None:
    """Reruns with nothing new (the first one's written files kept), then reruns each after 20 new pictures."""
    command = tool_command(archive.output)
    quiet = []
    for run in range(runs):
        before = snapshot(archive.output)
        quiet.append(timed(command, env).seconds)
        if run == 0:
            result.quiet_written = written_files(before, snapshot(archive.output))
    with_new = []
    for _ in range(runs):
        names = channel.post_now(NEW_PICTURES, "new")
        with_new.append(timed(command, env).seconds)
        missing = [name for name in names if not (archive.channel / name).exists()]
        if missing:
            raise SystemExit(f"the rerun did not save {len(missing)} of the {NEW_PICTURES} new pictures, e.g. {missing[0]}")
    result.quiet_seconds, result.new_seconds = statistics.median(quiet), statistics.median(with_new)


def measure(pictures: int, scratch: Path, args: argparse.Namespace) -> SizeResult:
    """All measures on a fresh server and folder holding `pictures` pictures."""
    result = SizeResult(pictures, os.getloadavg()[0])
    output = scratch / f"channel-{pictures}"
    with FakeDiscord() as server:
        started = time.perf_counter()
        channel = build_channel(server, pictures)
        log(f"{pictures:,} pictures: channel built in {time.perf_counter() - started:.1f} s; first run ...")
        env = tool_env(server.api_base, BOT_TOKEN)
        first = timed(tool_command(output), env)
        result.first_seconds, result.first_peak_mb = first.seconds, first.peak_mb
        archive = Archive.found_in(output)
        if archive.saved_pictures() != pictures:
            raise SystemExit(f"the first run saved {archive.saved_pictures()} of {pictures} pictures")
        log(f"  first run {first.seconds:.1f} s; reruns ...")
        reruns(result, archive, env, channel, args.runs)
        log(f"  reruns {result.quiet_seconds:.2f} s and {result.new_seconds:.2f} s; --watch {args.interval:g} ...")
        result.watch = measure_watch(archive, env, channel, args)
    shutil.rmtree(output, ignore_errors=True)
    return result


def print_header(args: argparse.Namespace) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(
        f"One-year channel, one {PICTURE_SIZE[0]}x{PICTURE_SIZE[1]} PNG per message; fake server without latency, bot token; main.py at {commit or '?'}, "
        f"{os.cpu_count()} cores. Reruns: median of {args.runs}; quiet poll: mean of {args.polls} polls of "
        f"`--watch {args.interval:g}`; a picture posted during that watch is looked for {args.timeout:g} s."
    )
    print()
    print_table_header(args.interval)


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise SystemExit(f"--sizes takes whole numbers separated by commas, not {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise SystemExit("--sizes: at least one size, each 1 or more")
    return sizes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", help=f"comma-separated numbers of pictures (default {','.join(map(str, SIZES))})")
    parser.add_argument(
        "--quick", action="store_true", help=f"sizes {','.join(map(str, QUICK_SIZES))}, one rerun of each kind, 5 polls"
    )
    parser.add_argument("--runs", type=int, help="reruns of each kind, for their median (default 3; 1 with --quick)")
    parser.add_argument("--polls", type=int, help="quiet watch polls measured (default 10; 5 with --quick)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between the watch's polls (default 1)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a poll or a picture (default 30)")
    args = parser.parse_args()
    args.sizes = parse_sizes(args.sizes) if args.sizes else QUICK_SIZES if args.quick else SIZES
    args.runs = args.runs or (1 if args.quick else 3)
    args.polls = args.polls or (5 if args.quick else 10)
    return args


def main() -> None:
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    results = []
    print_header(args)
    try:
        for pictures in args.sizes:
            results.append(measure(pictures, scratch, args))
            print_row(results[-1], args.timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_written(results)
    print_goals(results, args.interval)


if __name__ == "__main__":
    main()
