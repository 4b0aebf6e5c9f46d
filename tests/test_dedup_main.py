"""`python main.py --dedup`: the download, then the same dedup into `<output>-clean`, exit code the worse of the two."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from picextract.fake.sample import CHANNEL_ID, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from tests.conftest import ROOT, program_env, run_main


def test_download_then_dedup_into_clean_folder(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    chart, other = make_picture(1), make_picture(2)
    factory.message(posted, "entry", [factory.attachment("chart.png", chart)])
    factory.message(posted + timedelta(seconds=70), "again", [factory.attachment("chart.png", chart)])  # a re-post
    factory.message(posted + timedelta(seconds=90), "exit", [factory.attachment("other.png", other)])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, XDG_CACHE_HOME=str(tmp_path / ".cache"))
    result = run_main(["--channel", CHANNEL_ID, "--output", "pics", "--timezone", "UTC", "--dedup"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  Duplicates skipped: 1" in result.stdout
    clean = tmp_path / "pics-clean"
    pictures = sorted(path.name for path in clean.iterdir() if path.name != "index.csv")
    assert [name.split("_", 2)[2] for name in pictures] == ["chart.png", "other.png"]
    rows = list(csv.DictReader((clean / "index.csv").open(encoding="utf-8")))
    assert sorted((row["text"], row["copies_removed"]) for row in rows) == [("entry", "1"), ("exit", "0")]  # in download order


def test_dedup_exit_code_is_the_worse_of_the_two(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(timezone.utc) - timedelta(hours=1)
    factory.message(posted, "", [factory.attachment("good.png", make_picture(2))])
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "2020-01-01_00-00-00_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")  # kept from before
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN, XDG_CACHE_HOME=str(tmp_path / ".cache"))
    result = run_main(["--channel", CHANNEL_ID, "--output", "pics", "--dedup"], env, tmp_path)
    assert "Failed:            0" in result.stdout  # the download alone would exit 0
    assert result.returncode == 1 and "2020-01-01_00-00-00_broken.png (cannot decode" in result.stderr


def test_dedup_help_works_whatever_env_holds_but_a_real_run_stops(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MAX_RETRIES=three\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    command = [sys.executable, str(ROOT / "deduplicate_images.py")]
    shown = subprocess.run([*command, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "--source" in shown.stdout
    real = subprocess.run(
        [*command, "--source", "src", "--output", "out"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert real.returncode == 2 and real.stderr.strip() == "error: MAX_RETRIES='three' is not a int number"
    assert not (tmp_path / "out").exists()
