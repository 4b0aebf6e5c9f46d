"""Issue 22 parts 1 and 2: every try of a picture (a retry, the signed-link refresh, the `proxy_url`
fallback) keeps the limits of its first try, and compressed bodies in several members are decoded
whole, within the limits, on the API and on the CDN. The program runs as a user runs it, with a
timeout, so a hang or a spinning decoder shows as a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from picextract.discord.transfer import CHUNK_BYTES, BodyError, _Decoder
from picextract.fake.members import JUNK, as_members, compress
from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, MessageFactory, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from tests.conftest import ROOT, program_env, saved_pictures

HOUR_AGO = datetime.now(timezone.utc) - timedelta(hours=1)
RUN_TIMEOUT = 30.0  # each run below ends in a few seconds; a hang or a spin ends here, as a failure


class PartWatcher:
    """Notes the largest size every `.part` file in a folder ever reached, looking every millisecond."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.largest: dict[str, int] = defaultdict(int)  # by picture file name, without `.<hash>.part`
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PartWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                entries = list(os.scandir(self.folder))
            except FileNotFoundError:
                entries = []
            for entry in entries:
                if entry.name.endswith(".part"):
                    name = entry.name.rsplit(".", 2)[0]
                    try:
                        self.largest[name] = max(self.largest[name], entry.stat().st_size)
                    except FileNotFoundError:
                        pass
            time.sleep(0.001)

    def largest_of(self, picture: str) -> int:
        """The largest `.part` size seen for the picture whose name ends with `picture`."""
        return max((size for name, size in self.largest.items() if name.endswith(picture)), default=0)


@dataclass
class Watched:
    """One run of main.py: what it printed, its peak memory, and the largest `.part` files it wrote."""

    result: subprocess.CompletedProcess[str]
    parts: PartWatcher
    peak_mb: float
    folder: Path

    def failure_line(self, picture: str) -> str:
        """The line naming a picture that failed ("" when there is none)."""
        lines = (self.result.stderr + self.result.stdout).splitlines()
        return next((line for line in lines if f"_{picture}: " in line), "")

    def saved(self) -> list[str]:
        return sorted(name.split("_", 2)[2] for name in saved_pictures(self.folder))


def run_watched(server: FakeDiscord, tmp_path: Path, name: str = "out", **settings: str) -> Watched:
    """main.py over the last day of the channel, as a subprocess with a timeout, its memory and `.part` files watched."""
    peak_file = tmp_path / f"{name}.peak"
    command = [sys.executable, str(ROOT / "tests" / "peak_rss.py"), str(peak_file), str(ROOT / "main.py")]
    args = ["--channel", CHANNEL_ID, "--output", name, "--no-input", "--days", "1"]
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, **{"DOWNLOAD_DEADLINE": "20", **settings})
    with PartWatcher(tmp_path / name) as parts:
        result = subprocess.run(
            [*command, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    return Watched(result, parts, int(peak_file.read_text()) / 1024, tmp_path / name)


# --- part 1: every try of a picture keeps its limits -------------------------------------------------

# What comes before the fault, for a picture reached on each path (the fault then answers every try).
PATHS = {
    "first.png": (),  # its own link answers the fault, then its proxy copy does
    "retry.png": ("500",),  # a 5xx first: the retry meets the fault
    "refresh.png": ("404",),  # its signed link expired: the fresh link meets the fault
    "proxy.png": ("404",),  # its link is gone: the `proxy_url` copy meets the fault
}


def _victims(server: FakeDiscord, fault: str) -> tuple[MessageFactory, dict[str, int]]:
    """One message per path, each picture's every try answered with `fault`; returns the announced sizes."""
    factory = setup_server(server)
    announced = {}
    for number, (picture, before) in enumerate(PATHS.items()):
        expires = {"expires_at": server.now() - 3600} if picture == "refresh.png" else {}
        attachment = factory.attachment(picture, make_picture(number, size=(60, 60)), **expires)
        announced[picture] = attachment["size"]
        factory.message(HOUR_AGO + timedelta(seconds=number), "", [attachment])
        server.fail_next(picture, *before, *[fault] * 8)
    return factory, announced


@pytest.mark.parametrize("fault", ["endless", "gzip_bomb", "member_bomb", "endless_members"])
def test_every_try_of_a_picture_keeps_the_announced_size(server: FakeDiscord, tmp_path: Path, fault: str) -> None:
    factory, announced = _victims(server, fault)
    good = make_picture(9)
    factory.message(HOUR_AGO + timedelta(minutes=1), "", [factory.attachment("good.png", good)])
    run = run_watched(server, tmp_path)  # MAX_DOWNLOAD_BYTES stays 200 MB: the announced size must stop each try
    assert run.result.returncode == 1, run.result.stderr
    assert "Traceback" not in run.result.stderr
    assert run.saved() == ["good.png"]
    assert not list(run.folder.glob("*.part"))
    reported = {picture: run.failure_line(picture) for picture in PATHS}
    assert all(f"larger than the {announced[p]:,} bytes Discord announced" in line for p, line in reported.items()), reported
    written = {picture: run.parts.largest_of(picture) for picture in PATHS}
    assert all(written[picture] <= announced[picture] for picture in PATHS), (written, announced)
    assert server.api_requests("/attachments/refresh-urls")  # the refresh path was taken


def test_one_deadline_covers_every_try_of_a_picture(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    for number, (picture, before) in enumerate(PATHS.items()):
        expires = {"expires_at": server.now() - 3600} if picture == "refresh.png" else {}
        slow = factory.attachment(picture, make_picture(number, size=(120, 120)), **expires)  # 3 KB/s: many seconds a try
        factory.message(HOUR_AGO + timedelta(seconds=number), "", [slow])
        server.fail_next(picture, *before, *["drip"] * 8)
    factory.message(HOUR_AGO + timedelta(minutes=1), "", [factory.attachment("good.png", make_picture(9))])
    deadline = 2.0
    run = run_watched(server, tmp_path, DOWNLOAD_DEADLINE=str(deadline))
    assert run.result.returncode == 1 and "Traceback" not in run.result.stderr
    assert run.saved() == ["good.png"]
    assert all("too slow" in run.failure_line(picture) for picture in PATHS), run.result.stdout
    for picture in PATHS:
        tries = [record.at for record in server.cdn_requests() if record.path.endswith(picture)]
        assert max(tries) - min(tries) < deadline, f"{picture}: a try began after the picture's deadline"


# --- part 2: compressed bodies in several members, on the CDN and on the API ------------------------


def test_compressed_pictures_in_members_are_decoded_whole_and_damaged_ones_refused(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    faults = {
        "gz.png": "members:gzip",
        "zl.png": "members:deflate",
        "raw.png": "members:raw_deflate",
        "junk.png": "gzip_junk",
        "cut.png": "gzip_truncated",
    }
    pictures = {picture: make_picture(number, size=(40, 40)) for number, picture in enumerate([*faults, "web.png", "short.png"])}
    attachments = [factory.attachment(picture, pictures[picture]) for picture in faults]
    link, short_link = (factory.external(f"web/{name}", pictures[name]) for name in ("web.png", "short.png"))
    factory.message(HOUR_AGO, f"{link} {short_link}", attachments)
    for picture, fault in {**faults, "web.png": "members:gzip", "short.png": "gzip_truncated"}.items():
        server.fail_next(picture, *[fault] * 8)  # every try, proxy copies included
    run = run_watched(server, tmp_path)
    assert run.result.returncode == 1 and "Traceback" not in run.result.stderr
    whole = ["gz.png", "zl.png", "raw.png", "web.png"]
    assert {name.split("_", 2)[2]: data for name, data in saved_pictures(run.folder).items()} == {p: pictures[p] for p in whole}
    assert "damaged gzip body" in run.failure_line("junk.png"), run.result.stdout
    assert "truncated gzip body" in run.failure_line("cut.png"), run.result.stdout
    assert "truncated gzip body" in run.failure_line("short.png"), run.result.stdout  # no announced size to catch it
    assert not list(run.folder.glob("*.part"))


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        (("members:gzip",), "saved"),
        (("members:deflate",), "saved"),
        (("members:raw_deflate",), "saved"),
        (("gzip_truncated",), "saved"),  # cut short once: the retry reads the page
        (("gzip_junk",) * 4, "damaged gzip body"),  # junk after the page on every try
        (("member_bomb",), "larger than 1,000,000 bytes (MAX_API_BYTES)"),
        (("endless_members",), "larger than 1,000,000 bytes (MAX_API_BYTES)"),
    ],
)
def test_compressed_api_pages_in_members(server: FakeDiscord, tmp_path: Path, faults: tuple[str, ...], outcome: str) -> None:
    factory = setup_server(server)
    pictures = [make_picture(number) for number in range(3)]
    for number, data in enumerate(pictures):
        factory.message(HOUR_AGO + timedelta(seconds=number), f"chart {number}", [factory.attachment(f"p{number}.png", data)])
    server.fail_next("/messages", *faults)
    run = run_watched(server, tmp_path, MAX_API_BYTES="1000000")
    assert "Traceback" not in run.result.stderr
    if outcome == "saved":
        assert run.result.returncode == 0, run.result.stderr
        assert sorted(saved_pictures(run.folder).values()) == sorted(pictures)
    else:
        assert run.result.returncode != 0 and outcome in run.result.stderr, run.result.stderr
        assert not saved_pictures(run.folder)


def test_memory_stays_bounded_under_bombs_in_members(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    for number in range(4):
        factory.message(HOUR_AGO + timedelta(seconds=number), "", [factory.attachment(f"b{number}.png", make_picture(number))])
    calm = run_watched(server, tmp_path, "calm").peak_mb
    server.fail_next("attachments/", *["member_bomb"] * 16)  # 64 MB behind every picture, its retries and its proxy copy
    bombed = run_watched(server, tmp_path, "bombed", MAX_DOWNLOAD_BYTES="10000000")
    assert bombed.result.returncode == 1 and not saved_pictures(bombed.folder)
    assert all(bombed.parts.largest_of(f"b{n}.png") <= len(make_picture(n)) for n in range(4))
    server.fail_next("/messages", "member_bomb")  # 64 MB of JSON whitespace behind 64 KB
    api = run_watched(server, tmp_path, "api")
    assert api.result.returncode != 0 and "MAX_API_BYTES" in api.result.stderr
    assert bombed.peak_mb - calm < 24 and api.peak_mb - calm < 24, (
        f"{calm:.0f} MB calm, {bombed.peak_mb:.0f} and {api.peak_mb:.0f} MB bombed"
    )


# --- the decoder on its own: every way a body can be cut into reads ---------------------------------

PLAIN = b"".join(b"%d " % number for number in range(300))


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_members_decode_whole_however_the_reads_split_them(encoding: str) -> None:
    body = as_members(PLAIN, encoding)
    for cut in range(len(body) + 1):
        decoder = _Decoder(encoding)
        assert b"".join([*decoder.feed(body[:cut]), *decoder.feed(body[cut:])]) == PLAIN, cut
        decoder.finish()
    decoder = _Decoder(encoding)
    assert b"".join(piece for byte in range(len(body)) for piece in decoder.feed(body[byte : byte + 1])) == PLAIN


def test_members_after_a_large_one_in_the_same_read_are_decoded() -> None:
    large = bytes(5 * CHUNK_BYTES)  # more than one step of the first member is left when the next begins
    decoder = _Decoder("gzip")
    pieces = list(decoder.feed(compress(large, "gzip") + compress(b"", "gzip") + compress(b"end", "gzip")))
    decoder.finish()
    assert b"".join(pieces) == large + b"end" and all(0 < len(piece) <= CHUNK_BYTES for piece in pieces)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (compress(PLAIN, "gzip") + JUNK, "bytes after member 1 start no member"),
        (compress(PLAIN, "gzip") + compress(PLAIN, "gzip")[:-4], "ends inside member 2"),
        (compress(PLAIN, "gzip")[:30], "ends inside member 1"),
        (compress(PLAIN, "gzip")[:1], "ends inside member 1"),
    ],
    ids=["junk", "second cut", "first cut", "one byte"],
)
def test_junk_and_cut_members_are_errors(body: bytes, error: str) -> None:
    for cut in range(len(body) + 1):
        decoder = _Decoder("gzip")
        with pytest.raises(BodyError, match=error):
            for _ in [*decoder.feed(body[:cut]), *decoder.feed(body[cut:])]:
                pass
            decoder.finish()
