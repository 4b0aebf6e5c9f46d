"""`--dedup`'s clean folder, end to end: one documented place for a one-shot run and `--watch`, one channel
or several, and never inside a folder that a later run or dedup reads as source."""

from __future__ import annotations

import re
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from picextract.fake.sample import CHANNEL_ID, CHANNEL_NAME, GUILD_ID, USER_TOKEN, MessageFactory, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from tests.conftest import program_env, run_main
from tests.test_watch_main import Program

OTHER_ID, OTHER_NAME = "1100000000000000060", "options-flow"
BOTH = f"{CHANNEL_ID},{OTHER_ID}"


def _two_channels(server: FakeDiscord) -> None:
    """Channel one: a picture and its re-post a minute later; channel two: one picture (3 downloaded, 2 unique)."""
    factory = setup_server(server)
    server.add_channel(OTHER_ID, OTHER_NAME, GUILD_ID)
    other = MessageFactory(server, OTHER_ID)
    noon = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    factory.message(noon, "", [factory.attachment("first.png", make_picture(1, size=(40, 30)))])
    factory.message(noon + timedelta(minutes=1), "", [factory.attachment("repost.png", make_picture(1, size=(40, 30)))])
    other.message(noon + timedelta(minutes=2), "", [other.attachment("two.png", make_picture(2, size=(40, 30)))])


def _tree(folder: Path) -> list[str]:
    """Every file below the folder, relative, without hidden ones."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def _clean_folders(below: Path) -> list[str]:
    return sorted(path.relative_to(below).as_posix() for path in below.rglob("*-clean") if path.is_dir())


def _pictures_read(stdout: str) -> list[int]:
    """The `Pictures` line of each dedup summary the run printed."""
    return [int(count) for count in re.findall(r"^  Pictures:\s+(\d+)$", stdout, re.MULTILINE)]


def _wait_for_clean_pictures(below: Path, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for clean in below.rglob("*-clean") for path in clean.rglob("*.png")) < count:
        assert time.monotonic() < deadline, f"timed out; clean folders: {_clean_folders(below)}"
        time.sleep(0.05)


def test_watch_and_one_shot_dedup_of_two_channels_share_one_clean_folder(server: FakeDiscord, tmp_path: Path) -> None:
    _two_channels(server)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, XDG_CACHE_HOME=str(tmp_path / ".cache"))
    once = run_main(["--channel", BOTH, "--output", "once", "--dedup"], env, tmp_path)
    assert once.returncode == 0, once.stderr
    program = Program(["--channel", BOTH, "--output", "watched", "--watch", "0.2", "--dedup"], env, tmp_path)
    _wait_for_clean_pictures(tmp_path, 4)  # two from the one-shot run, two from the watch
    program.process.send_signal(signal.SIGTERM)
    code, _stdout, stderr = program.finish()
    assert code == 0, stderr
    # The documented place: `<output>-clean`, with each channel's sub-folder below it.
    assert _clean_folders(tmp_path) == ["once-clean", "watched-clean"]
    expected = sorted([f"{CHANNEL_NAME}/index.csv", f"{OTHER_NAME}/index.csv"])
    for run in ("once", "watched"):
        tree = _tree(tmp_path / f"{run}-clean")
        assert [name for name in tree if name.endswith("index.csv")] == expected
        assert sorted(name.rsplit("_", 1)[-1] for name in tree if name.endswith(".png")) == ["first.png", "two.png"]
        assert sorted(name.split("/")[0] for name in tree) == sorted([CHANNEL_NAME, OTHER_NAME] * 2)
    assert _tree(tmp_path / "once-clean") == _tree(tmp_path / "watched-clean")


def test_a_later_dedup_never_reads_a_clean_folder_as_source(server: FakeDiscord, tmp_path: Path) -> None:
    _two_channels(server)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, XDG_CACHE_HOME=str(tmp_path / ".cache"))
    program = Program(["--channel", BOTH, "--output", "o", "--watch", "0.2", "--dedup"], env, tmp_path)
    _wait_for_clean_pictures(tmp_path, 2)
    program.process.send_signal(signal.SIGTERM)
    assert program.finish()[0] == 0
    clean_before = _tree(tmp_path / "o-clean")
    for _ in range(2):  # a one-shot dedup over the same output, twice: it reads the 3 downloaded pictures only
        again = run_main(["--channel", BOTH, "--output", "o", "--dedup"], env, tmp_path)
        assert again.returncode == 0, again.stderr
        assert _pictures_read(again.stdout) == [3]
        assert _clean_folders(tmp_path) == ["o-clean"]
        assert _tree(tmp_path / "o-clean") == clean_before


def test_placeholder_output_one_channel_then_two_keeps_the_clean_folder_out_of_the_source(
    server: FakeDiscord, tmp_path: Path
) -> None:
    _two_channels(server)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, XDG_CACHE_HOME=str(tmp_path / ".cache"))
    one = run_main(["--channel", CHANNEL_ID, "--output", "t/{guild}/{channel}", "--dedup"], env, tmp_path)
    assert one.returncode == 0, one.stderr
    assert _pictures_read(one.stdout) == [2]
    both = run_main(["--channel", BOTH, "--output", "t/{guild}/{channel}", "--dedup"], env, tmp_path)
    assert both.returncode == 0, both.stderr
    assert _pictures_read(both.stdout) == [3]  # the first run's clean copies are not read as source
    assert _clean_folders(tmp_path) == ["t-clean"]
    guild = next(path.name for path in (tmp_path / "t").iterdir())
    assert sorted(path.name for path in (tmp_path / "t-clean" / guild).iterdir()) == [OTHER_NAME, CHANNEL_NAME]
