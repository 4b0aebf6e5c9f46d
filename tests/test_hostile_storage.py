"""Issue 10 part 4: a damaged, foreign or unwritable state file, a read-only folder, a full disk, a dry run."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from picextract.store.index import INDEX_COLUMNS
from picextract.store.layout import INDEX_FILE_NAME, STATE_FILE_NAME
from tests.conftest import NOT_PICTURES, ROOT, program_env, run_main

UTC = timezone.utc
ARGS = ["--channel", CHANNEL_ID, "--output", "o", "--no-input"]


def post(server: FakeDiscord, numbers: range, size: tuple[int, int] = (6, 4)) -> dict[str, bytes]:
    factory = setup_server(server) if not server.state.channels else None
    from picextract.fake.sample import MessageFactory

    factory = factory or MessageFactory(server, CHANNEL_ID)
    posted = datetime.now(UTC) - timedelta(hours=2)
    pictures = {}
    for number in numbers:
        data = make_picture(number, size=size)
        factory.message(posted + timedelta(seconds=number), "", [factory.attachment(f"p{number}.png", data)])
        pictures[f"{posted + timedelta(seconds=number):%Y-%m-%d_%H-%M-%S}_p{number}.png"] = data
    return pictures


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}


def pictures_in(folder: Path) -> dict[str, bytes]:
    return {name: data for name, data in snapshot(folder).items() if not name.startswith(".") and name not in NOT_PICTURES}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def run_limited(server: FakeDiscord, cwd: Path, max_file_bytes: int) -> subprocess.CompletedProcess[str]:
    """main.py with a file-size limit: writes past it fail as they do on a full disk (EFBIG instead of ENOSPC)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *ARGS],
        env=program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Nobody may write `path`: chmod for a user; root ignores chmod, so `chattr +i` (immutable) for root."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        undo: Callable[[], object] = lambda: subprocess.run(["chattr", "-i", str(path)], check=True)  # noqa: E731
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        undo = lambda: path.chmod(mode)  # noqa: E731
    try:
        yield
    finally:
        undo()


def test_damaged_state_file(server: FakeDiscord, tmp_path: Path) -> None:
    saved = post(server, range(3))
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    assert run_main(ARGS, env, tmp_path).returncode == 0
    state = tmp_path / "o" / STATE_FILE_NAME
    state.write_bytes(b"this is not a database, it was overwritten by something" * 100)
    before = snapshot(tmp_path / "o")
    result = run_main(ARGS, env, tmp_path)
    assert result.returncode == 4
    line = one_error_line(result)
    assert str(state.name) in line and "not a database" in line and "move it away" in line
    assert pictures_in(tmp_path / "o") == saved
    assert {name: data for name, data in snapshot(tmp_path / "o").items() if name != ".discordpicextract.lock"} == {
        name: data for name, data in before.items() if name != ".discordpicextract.lock"
    }


def test_foreign_state_file_is_not_changed(server: FakeDiscord, tmp_path: Path) -> None:
    post(server, range(2))
    out = tmp_path / "o"
    out.mkdir()
    foreign = sqlite3.connect(out / STATE_FILE_NAME)
    foreign.execute("CREATE TABLE contacts (name TEXT)")
    foreign.commit()
    foreign.close()
    before = (out / STATE_FILE_NAME).read_bytes()
    result = run_main(ARGS, program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path)
    assert result.returncode == 4
    assert "not our state file" in one_error_line(result)
    assert (out / STATE_FILE_NAME).read_bytes() == before
    assert pictures_in(out) == {}


def test_unwritable_state_file(server: FakeDiscord, tmp_path: Path) -> None:
    post(server, range(2))
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    assert run_main(ARGS, env, tmp_path).returncode == 0
    post(server, range(10, 12))
    state = tmp_path / "o" / STATE_FILE_NAME
    with read_only(state):
        result = run_main(ARGS, env, tmp_path)
    assert result.returncode == 4
    line = one_error_line(result)
    assert str(state) in line and "readonly" in line
    assert not list((tmp_path / "o").glob("*.part"))


def test_read_only_folder(server: FakeDiscord, tmp_path: Path) -> None:
    post(server, range(2))
    out = tmp_path / "o"
    out.mkdir()
    with read_only(out):
        result = run_main(ARGS, program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path)
    assert result.returncode == 4
    line = one_error_line(result)
    assert str(out) in line and ("ermitted" in line or "ermission" in line or "ead-only" in line)
    assert snapshot(out) == {}


def test_full_disk_during_a_picture(server: FakeDiscord, tmp_path: Path) -> None:
    small = post(server, range(4))
    big = post(server, range(4, 5), size=(300, 300))  # about 270 KB of noise
    # The state file's write-ahead log of 4 pictures (and the index, the gallery) fits; the big picture does not.
    result = run_limited(server, tmp_path, max_file_bytes=210_000)
    assert result.returncode == 4
    line = one_error_line(result)
    assert ".part" in line and "File too large" in line
    out = tmp_path / "o"
    assert not list(out.glob("*.part"))
    assert pictures_in(out) == small  # what was saved stays, nothing half-written
    again = run_main(ARGS, program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path)
    assert again.returncode == 0, again.stderr
    assert pictures_in(out) == small | big


def test_full_disk_during_the_state_write(server: FakeDiscord, tmp_path: Path) -> None:
    first = post(server, range(3))
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    assert run_main(ARGS, env, tmp_path).returncode == 0
    later = post(server, range(10, 13))
    result = run_limited(server, tmp_path, max_file_bytes=6_000)  # pictures fit, the state file's journal does not
    assert result.returncode == 4
    line = one_error_line(result)
    assert STATE_FILE_NAME in line
    out = tmp_path / "o"
    assert not list(out.glob("*.part"))
    assert first.items() <= pictures_in(out).items()
    again = run_main(ARGS, env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert pictures_in(out) == first | later
    rows = (out / INDEX_FILE_NAME).read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == sorted(first | later)


def test_dry_run_writes_nothing_at_all(server: FakeDiscord, tmp_path: Path) -> None:
    post(server, range(3))
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    assert run_main(ARGS, env, tmp_path).returncode == 0
    post(server, range(10, 12))
    out = tmp_path / "o"
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in out.iterdir()}
    result = run_main([*ARGS, "--dry-run"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Would download:    2" in result.stdout
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in out.iterdir()} == before
    fresh = run_main(["--channel", CHANNEL_ID, "--output", "new", "--no-input", "--dry-run"], env, tmp_path)
    assert fresh.returncode == 0 and not (tmp_path / "new").exists()


def test_an_older_state_file_keeps_its_index_rows_and_loses_duplicates(server: FakeDiscord, tmp_path: Path) -> None:
    saved = post(server, range(1))
    ((name, data),) = saved.items()
    out = tmp_path / "o"
    out.mkdir()
    (out / name).write_bytes(data)
    old = sqlite3.connect(out / STATE_FILE_NAME)  # the schema of the first release: no index rows kept
    old.executescript(
        "CREATE TABLE pictures (identity TEXT PRIMARY KEY, filename TEXT NOT NULL, size_bytes INTEGER NOT NULL,"
        " message_id TEXT NOT NULL, channel_id TEXT NOT NULL, saved_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);"
        "CREATE TABLE progress (source_id TEXT PRIMARY KEY, covered_after INTEGER NOT NULL, covered_to INTEGER NOT NULL);"
        "CREATE TABLE failures (identity TEXT PRIMARY KEY, message_id TEXT NOT NULL, source_id TEXT NOT NULL);"
    )
    attachment_id = server.state.messages[CHANNEL_ID][0]["attachments"][0]["id"]
    old.execute("INSERT INTO pictures VALUES (?, ?, ?, '5', ?, '')", (f"attachment:{attachment_id}", name, len(data), CHANNEL_ID))
    old.commit()
    old.close()
    header = "file,posted_at_utc,message_id,channel,author,text,source_url,width,height\n"
    row = f"{name},2026-01-01T00:00:00+00:00,5,#c,someone,the text beside it,https://x/a.png,6,4\n"
    (out / INDEX_FILE_NAME).write_text(header + row + row + "gone.png,,6,,,,,,\n" + row[:20], encoding="utf-8")
    result = run_main(ARGS, program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (out / INDEX_FILE_NAME).read_text(encoding="utf-8").splitlines()
    # Its text kept (the row padded to today's columns), the duplicate, the stray and the cut row gone.
    assert lines == [",".join(INDEX_COLUMNS), row.strip() + ",,,"]
    assert pictures_in(out) == saved
