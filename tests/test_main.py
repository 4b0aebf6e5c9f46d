"""`python main.py` end to end, as a subprocess, against the fake server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pexpect
import pytest

from picextract.discord.pace import RISK_ADVICE
from picextract.fake.sample import (
    BOT_TOKEN,
    CHANNEL_ID,
    GUILD_NAME,
    USER_TOKEN,
    MessageFactory,
    build_sample_channel,
    make_picture,
    setup_server,
)
from picextract.fake.server import FakeDiscord
from picextract.version import package_version
from tests.conftest import ROOT, program_env, run_main

UTC = timezone.utc


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith((".", "index."))} if folder.exists() else {}


def _assert_token_absent(result: subprocess.CompletedProcess[str], *folders: Path) -> None:
    for token in (USER_TOKEN, BOT_TOKEN):
        assert token not in result.stdout and token not in result.stderr
        for folder in folders:
            for path in folder.rglob("*"):
                if path.is_file():
                    assert token.encode() not in path.read_bytes(), path


def test_by_guild_and_name_unattended(server: FakeDiscord, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    expected = build_sample_channel(server, now, count=250)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main(
        [
            "--channel",
            "#spx-realtime-aws",
            "--guild",
            GUILD_NAME,
            "--days",
            "14",
            "--output",
            "pics",
            "--timezone",
            "UTC",
            "--no-input",
        ],
        env,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert _files(tmp_path / "pics") == {p.filename: p.data for p in expected}
    assert f"Saved:             {len(expected)} " in result.stdout
    assert "Failed:            0" in result.stdout
    assert result.stderr == ""  # no progress bar without a terminal
    _assert_token_absent(result, tmp_path)
    cdn_before = len(server.cdn_requests())
    again = run_main(["--channel", CHANNEL_ID, "--output", "pics", "--timezone", "UTC"], env, tmp_path)
    assert again.returncode == 0
    assert "#spx-realtime-aws: Folder up to date" in again.stdout and "Failed:            0" in again.stdout
    assert len(server.cdn_requests()) == cdn_before
    assert server.state.violations == 0


def test_bot_token_is_sent_with_bot_prefix_and_env_file_is_read(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    (tmp_path / ".env").write_text(f"DISCORD_BOT_TOKEN={BOT_TOKEN}\nDEFAULT_OUTPUT_DIR=from-dotenv\n")
    result = run_main(["--channel", CHANNEL_ID], program_env(server), tmp_path)
    assert result.returncode == 0, result.stderr
    assert {r.authorization for r in server.api_requests()} == {f"Bot {BOT_TOKEN}"}
    assert (tmp_path / "from-dotenv").is_dir()
    _assert_token_absent(result, tmp_path / "from-dotenv")


@pytest.mark.parametrize(
    ("args", "env_extra", "code", "message"),
    [
        (["--channel", CHANNEL_ID], {"DISCORD_USER_TOKEN": "bad-token"}, 3, "rejected the token"),
        (["--channel", "1199999999999999999"], {}, 3, "Unknown Channel"),
        (["--channel", "1100000000000000077"], {}, 3, "Missing Access"),
        (["--channel", "nope", "--guild", GUILD_NAME], {}, 3, "no channel named 'nope'"),
        (["--channel", "x", "--guild", "No Such Server"], {}, 3, "your servers: 数学家炒美股"),
        (["--channel", CHANNEL_ID, "--days", "-3"], {}, 2, "--days: number of days must be a positive number"),
        (["--channel", CHANNEL_ID, "--days", "abc"], {}, 2, "is not a number of days"),
        (["--channel", CHANNEL_ID, "--days", "3", "--since", "2026-01-01"], {}, 2, "either --days or --since"),
        (["--channel", CHANNEL_ID, "--timezone", "Mars/Base"], {}, 2, "unknown time zone"),
        (["--channel", CHANNEL_ID, "--bogus"], {}, 2, "unrecognized arguments"),
        ([], {}, 2, "missing value: pass --channel"),
        (["--channel", "general"], {}, 2, "missing value: pass --guild"),
        (["--channel", CHANNEL_ID], {"DISCORD_USER_TOKEN": ""}, 2, "no token: set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN"),
        (["--channel", CHANNEL_ID], {"MAX_RETRIES": "many"}, 2, "MAX_RETRIES='many' is not a int number"),
    ],
)
def test_exit_codes_and_one_line_errors(
    server: FakeDiscord, tmp_path: Path, args: list[str], env_extra: dict[str, str], code: int, message: str
) -> None:
    setup_server(server)
    server.add_channel("1100000000000000077", "private", "1100000000000000001", readable=False)
    env = program_env(server, **{"DISCORD_USER_TOKEN": USER_TOKEN, **env_extra})
    result = run_main([*args, "--no-input"], env, tmp_path)
    assert result.returncode == code
    assert message in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    _assert_token_absent(result, tmp_path)


def test_some_pictures_failing_gives_exit_1_and_no_partial_file(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=1)
    factory.message(posted, "", [factory.attachment("bad.png", make_picture(1)), factory.attachment("good.png", make_picture(2))])
    server.fail_next("bad.png", *["truncate"] * 8)
    result = run_main(["--channel", CHANNEL_ID, "--output", "out"], program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Failed:            1\n    " in result.stdout and "bad.png: truncated body (72 of 144 bytes)" in result.stdout
    assert "bad.png: truncated body (72 of 144 bytes)" in result.stderr
    assert [name.split("_", 2)[2] for name in _files(tmp_path / "out")] == ["good.png"]
    assert not list((tmp_path / "out").glob("*.part"))


def test_since_until_window(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    for day in range(1, 6):
        factory.message(datetime(2026, 11, day, 12, tzinfo=UTC), "", [factory.attachment(f"d{day}.png", make_picture(day))])
    result = run_main(
        ["--channel", CHANNEL_ID, "--since", "2026-11-02", "--until", "2026-11-04", "--timezone", "UTC", "--output", "o"],
        program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(_files(tmp_path / "o")) == [
        "2026-11-02_12-00-00_d2.png",
        "2026-11-03_12-00-00_d3.png",
        "2026-11-04_12-00-00_d4.png",
    ]


def test_timezone_names_files_in_that_clock(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(
        datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0) - timedelta(days=1),
        "",
        [factory.attachment("c.png", make_picture(1))],
    )
    result = run_main(
        ["--channel", CHANNEL_ID, "--timezone", "Asia/Tokyo", "--output", "o"],
        program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        tmp_path,
    )
    assert result.returncode == 0
    (name,) = _files(tmp_path / "o")
    assert name[11:19] == "05-00-00"


def _spawn(server: FakeDiscord, tmp_path: Path, args: list[str], **env_extra: str) -> pexpect.spawn:
    env = program_env(server, **env_extra)
    return pexpect.spawn(sys.executable, [str(ROOT / "main.py"), *args], env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30)


def test_interactive_prompts_in_order_with_reasking(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(datetime.now(UTC) - timedelta(days=2), "", [factory.attachment("a.png", make_picture(1))])
    child = _spawn(server, tmp_path, [])
    child.expect_exact("Enter your Discord token (bot or user; typing is hidden):")
    child.sendline(USER_TOKEN)
    child.expect_exact("Token accepted: picfan, user account.")
    child.expect_exact("Enter channel link, ID or #name (? lists your channels):")
    child.sendline("spx-realtime-aws")
    child.expect_exact("Enter server name or ID:")
    child.sendline(GUILD_NAME)
    child.expect_exact("Enter number of days to look back (default: 14):")
    child.sendline("soon")
    child.expect_exact("is not a number of days")
    child.expect_exact("Enter number of days to look back (default: 14):")
    child.sendline("2.5")
    child.expect_exact("Enter output directory (press Enter for default: spx-realtime-aws):")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    transcript = child.before or ""
    assert child.exitstatus == 0, transcript
    assert USER_TOKEN not in transcript  # hidden input: never echoed
    assert [n.split("_", 2)[2] for n in _files(tmp_path / "spx-realtime-aws")] == ["a.png"]


def test_interactive_choice_between_matching_channels(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    server.add_channel("1100000000000000020", "Charts", "1100000000000000001")
    server.add_channel("1100000000000000021", "CHARTS", "1100000000000000001")
    child = _spawn(
        server,
        tmp_path,
        ["--channel", "charts", "--guild", GUILD_NAME, "--days", "1", "--output", "o"],
        DISCORD_USER_TOKEN=USER_TOKEN,
    )
    child.expect_exact("Choose a channel [1-2]:")
    child.sendline("¹")  # a digit to str.isdigit(), not to int()
    child.expect_exact("enter a number from 1 to 2")
    child.sendline("7")
    child.expect_exact("enter a number from 1 to 2")
    child.sendline("2")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert server.api_requests("/channels/1100000000000000021/messages")
    unattended = run_main(
        ["--channel", "charts", "--guild", GUILD_NAME, "--no-input"], program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path
    )
    assert unattended.returncode == 2 and "several channels match: #Charts" in unattended.stderr


def test_ctrl_c_keeps_finished_pictures_and_rerun_completes(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=5)
    for n in range(40):
        factory.message(posted + timedelta(seconds=n), "", [factory.attachment(f"p{n}.png", make_picture(n, size=(200, 200)))])
    server.state.bytes_per_second = 200_000  # slow enough to interrupt mid-body
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--channel", CHANNEL_ID, "--output", "o", "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 20
    while len(server.cdn_requests()) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    assert "#spx-realtime-aws: interrupted" in stdout and "Interrupted" in stderr
    out = tmp_path / "o"
    assert not list(out.glob("*.part"))
    first = _files(out)
    assert 0 < len(first) < 40
    server.state.bytes_per_second = None
    again = run_main(["--channel", CHANNEL_ID, "--output", "o"], env, tmp_path)
    assert again.returncode == 0
    assert len(_files(out)) == 40
    assert f"Already there:     {len(first)}" in again.stdout


def test_demo_runs_without_an_account(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert len(_files(tmp_path / "demo-output")) > 20
    assert "Failed:            0" in result.stdout


def test_an_output_folder_that_cannot_be_made_is_a_storage_error(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server).message(datetime.now(UTC) - timedelta(hours=1), "", [])
    (tmp_path / "a-file").write_text("not a folder")
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main(["--channel", CHANNEL_ID, "--days", "1", "--output", "a-file/pictures"], env, tmp_path)
    assert result.returncode == 4, result.stderr
    assert (
        result.stderr.strip().splitlines()[-1] == f"error: cannot make the folder {tmp_path / 'a-file/pictures'}: Not a directory"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "channel",
    [
        f"https://discord.com/channels/1100000000000000001/{CHANNEL_ID}",
        f"https://ptb.discordapp.com/channels/1100000000000000001/{CHANNEL_ID}/1199999999999999990",
        f"<#{CHANNEL_ID}>",
        "#spx-realtime-aws",
    ],
)
def test_channel_flag_takes_links_mentions_and_names(server: FakeDiscord, tmp_path: Path, channel: str) -> None:
    setup_server(server).message(datetime.now(UTC) - timedelta(hours=1), "", [])
    args = ["--channel", channel, "--output", "o", "--no-input"] + (
        ["--guild", "1100000000000000001"] if "#" in channel[:1] else []
    )
    result = run_main(args, program_env(server, DISCORD_USER_TOKEN=USER_TOKEN), tmp_path)
    assert result.returncode == 0, result.stderr
    assert server.api_requests(f"/channels/{CHANNEL_ID}/messages")
    assert f"Channel:  #spx-realtime-aws (id {CHANNEL_ID})" in result.stdout


def test_list_shows_servers_and_channels_with_access(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    server.add_channel("1100000000000000077", "private", "1100000000000000001", readable=False)
    server.add_channel("1100000000000000078", "lounge", "1100000000000000001", channel_type=2)  # voice: not listed
    server.add_channel("1100000000000000079", "ideas", "1100000000000000001", channel_type=15)
    server.add_guild("1300000000000000001", "Other Server")
    server.add_channel("1300000000000000002", "news", "1300000000000000001", channel_type=5)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main(["--list"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{GUILD_NAME} (server 1100000000000000001)"
    assert [line.split() for line in lines[1:4]] == [
        ["#spx-realtime-aws", CHANNEL_ID, "text", "readable"],
        ["#private", "1100000000000000077", "text", "no", "access"],
        ["#ideas", "1100000000000000079", "forum", "readable"],
    ]
    assert lines[4:] == ["Other Server (server 1300000000000000001)", lines[5]] and lines[5].split()[-2:] == [
        "announcement",
        "readable",
    ]
    narrowed = run_main(["--list", "--guild", "1300000000000000001"], env, tmp_path)
    assert narrowed.returncode == 0 and GUILD_NAME not in narrowed.stdout and "#news" in narrowed.stdout


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_work_whatever_env_holds(tmp_path: Path, flag: str) -> None:
    (tmp_path / ".env").write_text("MAX_RETRIES=many\nDISCORD_API_BASE=nope\n\x00\xff garbage\n", encoding="latin-1")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_")}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), flag], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (f"DiscordPicExtract {package_version()}" if flag == "--version" else "--env-file") in result.stdout


def test_env_file_is_found_in_the_user_config_folder_and_named_in_messages(server: FakeDiscord, tmp_path: Path) -> None:
    """A cron job or an installed command starts anywhere: `.env` in $XDG_CONFIG_HOME/discordpicextract/ is found."""
    setup_server(server).message(datetime.now(UTC) - timedelta(hours=1), "", [])
    config_home, elsewhere = tmp_path / "config", tmp_path / "cron-cwd"
    env_file = config_home / "discordpicextract" / ".env"
    env_file.parent.mkdir(parents=True)
    elsewhere.mkdir()
    env = program_env(server, XDG_CONFIG_HOME=str(config_home))
    args = ["--channel", CHANNEL_ID, "--output", "o", "--no-input"]
    env_file.write_text(f"DISCORD_USER_TOKEN={USER_TOKEN}\n")
    found = run_main(args, env, elsewhere)
    assert found.returncode == 0, found.stderr
    env_file.write_text("DISCORD_USER_TOKEN=revoked\nMAX_RETRIES=2\n")
    refused = run_main(args, env, elsewhere)
    assert refused.returncode == 3
    assert (
        refused.stderr
        == f"error: Discord rejected the token from DISCORD_USER_TOKEN in {env_file} (401 Unauthorized): check it, or get a new one; {RISK_ADVICE}\n"
    )
    env_file.write_text(f"DISCORD_USER_TOKEN={USER_TOKEN}\nMAX_RETRIES=many\n")
    broken = run_main(args, env, elsewhere)
    assert broken.returncode == 2
    assert f"MAX_RETRIES='many' is not a int number (MAX_RETRIES in {env_file})" in broken.stderr
    (elsewhere / ".env").write_text("DEFAULT_DAYS=1\n")  # the working directory's .env comes first: it has no token
    first = run_main(args, env, elsewhere)
    assert first.returncode == 2 and f"looked in {elsewhere / '.env'})" in first.stderr
    (elsewhere / ".env").unlink()
    env_file.unlink()
    missing = run_main(args, env, elsewhere)
    assert missing.returncode == 2
    assert missing.stderr == (
        "error: no token: set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN (environment or .env; "
        f"looked in {elsewhere / '.env'} and {env_file})\n"
    )


def test_env_file_flag_names_the_file_to_read(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    (tmp_path / "cwd.env").write_text(f"DISCORD_USER_TOKEN={USER_TOKEN}\nDEFAULT_OUTPUT_DIR=from-flag-file\n")
    (tmp_path / ".env").write_text("DISCORD_USER_TOKEN=wrong\n")
    env = program_env(server)
    result = run_main(["--env-file", "cwd.env", "--channel", CHANNEL_ID, "--no-input"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-flag-file").is_dir()
    absent = run_main(["--env-file", "nope.env", "--channel", CHANNEL_ID, "--no-input"], env, tmp_path)
    assert absent.returncode == 2 and absent.stderr == "error: --env-file nope.env: no such file\n"


def test_channels_whose_names_differ_in_case_get_their_own_folders(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    for channel_id, name in (("1100000000000000020", "Charts"), ("1100000000000000021", "charts")):
        server.add_channel(channel_id, name, "1100000000000000001")
        MessageFactory(server, channel_id).message(datetime.now(UTC) - timedelta(hours=1), "", [])
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    result = run_main(["--channel", "1100000000000000020,1100000000000000021", "--output", "o", "--no-input"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["Charts_1100000000000000020", "charts_1100000000000000021"]


def test_every_saved_path_stays_under_250_characters(server: FakeDiscord, tmp_path: Path) -> None:
    factory = setup_server(server)
    long_name = "very-long-chart-name-" * 8 + ".png"
    posted = datetime.now(UTC) - timedelta(hours=1)
    factory.message(posted, "", [factory.attachment(long_name, make_picture(1)), factory.attachment(long_name, make_picture(2))])
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    result = run_main(
        ["--channel", CHANNEL_ID, "--output", str(deep), "--days", "1"],
        program_env(server, DISCORD_USER_TOKEN=USER_TOKEN),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    saved = sorted(_files(deep))
    assert len(saved) == 2 and all(len(str(deep / name)) < 250 for name in saved), saved
    assert all(name.endswith(".png") and name[:20] == f"{posted:%Y-%m-%d_%H-%M-%S}_" for name in saved)
