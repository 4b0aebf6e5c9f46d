"""The prompts typed into a pseudo-terminal (pexpect), and the screen they leave behind."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pexpect
import pytest

from picextract.fake.sample import BOT_TOKEN, CHANNEL_ID, GUILD_ID, GUILD_NAME, USER_TOKEN, make_picture, setup_server
from picextract.fake.server import FakeDiscord
from tests.conftest import ROOT, program_env

UTC = timezone.utc
TOKEN_PROMPT = "Enter your Discord token (bot or user; typing is hidden):"
CHANNEL_PROMPT = "Enter channel link, ID or #name (? lists your channels):"
DAYS_PROMPT = "Enter number of days to look back (default: 14):"
OUTPUT_PROMPT = "Enter output directory (press Enter for default: spx-realtime-aws):"
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n")
_BAR = re.compile(r"^Scanning")
_WHOLE_BAR = re.compile(r"^Scanning:? *\d+ ?msg(?: \[[^\]]*\])?")  # tqdm's line: `Scanning: 12 msg [00:01, 9.1 msg/s, …]`


def _spawn(server: FakeDiscord, cwd: Path, args: list[str], **env_extra: str) -> pexpect.spawn:
    env = program_env(server, **env_extra)
    return pexpect.spawn(
        sys.executable, [str(ROOT / "main.py"), *args], env=env, cwd=str(cwd), encoding="utf-8", timeout=60, dimensions=(50, 160)
    )


def _finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    return child.before or ""


class Screen:
    """A small terminal: carriage returns, new lines and cursor moves, each cell remembering who wrote it.

    It records the two faults a shared screen shows: text written over other text that was not cleared
    first, and one line holding both the progress bar and other output (glued).
    """

    def __init__(self) -> None:
        self.lines: list[list[tuple[str, str]]] = [[]]
        self.row = 0
        self.column = 0
        self.overwrites: list[str] = []

    def feed(self, text: str) -> Screen:
        position = 0
        for control in _CONTROL.finditer(text):
            self._write(text[position : control.start()])
            self._control(control.group())
            position = control.end()
        self._write(text[position:])
        return self

    def _control(self, code: str) -> None:
        if code == "\r":
            self.column = 0
        elif code == "\n":
            self.row += 1
            self.column = 0
            while len(self.lines) <= self.row:
                self.lines.append([])
        elif code.endswith("A"):
            self.row = max(0, self.row - int(code[2:-1] or 1))

    def _write(self, segment: str) -> None:
        bar = _WHOLE_BAR.match(segment)
        if bar and bar.end() < len(segment):  # the bar and, right after it, something else: two writers
            self._put(segment[: bar.end()], "bar")
            self._put(segment[bar.end() :], "text")
        elif segment:
            self._put(segment, "blank" if not segment.strip() else ("bar" if bar else "text"))

    def _put(self, segment: str, owner: str) -> None:
        line = self.lines[self.row]
        overwritten = False
        for character in segment:
            while len(line) <= self.column:
                line.append((" ", "blank"))
            old_character, old_owner = line[self.column]
            if owner != "blank" and old_character != " " and (old_owner == "text" or owner == "text") and character != " ":
                overwritten = True  # visible text replaced by other text without clearing the line first
            line[self.column] = (character, owner)
            self.column += 1
        if overwritten:
            self.overwrites.append(self.text(self.row))

    def text(self, row: int) -> str:
        return "".join(character for character, _ in self.lines[row]).rstrip()

    def glued(self) -> list[str]:
        """Lines that show the bar and other text at once."""
        return [
            self.text(row)
            for row, line in enumerate(self.lines)
            if {"bar", "text"} <= {owner for character, owner in line if character != " "}
        ]

    def shown(self) -> list[str]:
        return [self.text(row) for row in range(len(self.lines))]


@pytest.mark.parametrize(
    ("stream", "overwrites", "glued"),
    [
        ("Header\nScanning: 1 msg\r" + " " * 15 + "\rfailed: x\nScanning: 2 msg\r" + " " * 15 + "\rSummary\n", 0, 0),
        ("Scanning: 0 msg [00:00]Pictures from #c\n", 0, 1),  # the glued header of the issue
        ("Scanning: 0 msg\r=========\n", 1, 1),  # a summary written over the bar, not after clearing it
        ("typed answer\rother text\n", 1, 0),
    ],
)
def test_the_screen_model_catches_overwritten_and_glued_lines(stream: str, overwrites: int, glued: int) -> None:
    screen = Screen().feed(stream)
    assert (len(screen.overwrites), len(screen.glued())) == (overwrites, glued)


def _messages(server: FakeDiscord, count: int) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC) - timedelta(hours=count + 1)
    for number in range(count):
        factory.message(posted + timedelta(hours=number), "", [factory.attachment(f"p{number}.png", make_picture(number))])


def test_wrong_token_then_bot_token_then_list_pick_and_quoted_path(server: FakeDiscord, tmp_path: Path) -> None:
    """The whole first run of a newcomer, and a screen where nothing overwrites anything."""
    _messages(server, 30)
    server.add_channel("1100000000000000077", "private", GUILD_ID, readable=False)
    server.state.bytes_per_second = 400_000  # slow enough for the bar to be drawn and redrawn
    server.fail_next("p3.png", *["truncate"] * 8)
    child = _spawn(server, tmp_path, [])
    child.expect_exact(TOKEN_PROMPT)
    child.sendline("not-a-real-token")
    child.expect_exact("Discord refused this token (401 Unauthorized)")
    child.expect_exact("(2 tries left)")
    child.expect_exact(TOKEN_PROMPT)
    child.sendline(BOT_TOKEN)  # a bot token, pasted without "Bot "
    child.expect_exact("recognised as a bot token")
    child.expect_exact(CHANNEL_PROMPT)
    child.sendline("3")
    child.expect_exact("type ? to see the numbered list first")
    child.expect_exact(CHANNEL_PROMPT)
    child.sendline("?")
    child.expect_exact(f"{GUILD_NAME} (server {GUILD_ID})")
    child.expect(r"1\. #spx-realtime-aws +1100000000000000002  text +readable")
    child.expect(r"2\. #private +1100000000000000077  text +no access")
    child.expect_exact(CHANNEL_PROMPT)
    child.sendline("2")
    child.expect_exact("this token cannot read #private")
    child.expect_exact(CHANNEL_PROMPT)
    child.sendline("1")
    child.expect_exact(DAYS_PROMPT)
    child.sendline("")
    child.expect_exact(OUTPUT_PROMPT)
    (tmp_path / "a-file").write_text("x")
    child.sendline("a-file")
    child.expect_exact("a-file is a file, not a folder. Please try again.")
    child.expect_exact(OUTPUT_PROMPT)
    child.sendline("'my pictures'   ")  # as a shell would need it, with trailing spaces
    transcript = child.before + child.after + _finish(child)
    assert child.exitstatus == 1, transcript  # p3.png keeps failing
    saved = sorted(path.name.split("_", 2)[2] for path in (tmp_path / "my pictures").glob("*.png"))
    assert saved == sorted(f"p{n}.png" for n in range(30) if n != 3)
    assert not (tmp_path / "'my pictures'").exists()
    assert {r.authorization for r in server.api_requests("/messages")} == {f"Bot {BOT_TOKEN}"}
    assert BOT_TOKEN not in transcript
    bar_drawn = transcript.index("Scanning")
    assert bar_drawn > transcript.rindex("'my pictures'")  # no clock runs while a question waits
    assert "Scanning: 0 msg [00:00" in transcript[bar_drawn : bar_drawn + 40]
    assert "%" not in transcript  # the total is unknown: no percentage
    screen = Screen().feed(transcript)
    assert screen.overwrites == [] and screen.glued() == [], "\n".join(screen.shown())
    shown = screen.shown()
    assert f"Server:   {GUILD_NAME} (id {GUILD_ID})" in shown
    assert "#spx-realtime-aws in 数学家炒美股: 29 new pictures saved" in shown
    assert any(line.startswith("failed: ") and "p3.png" in line for line in shown)
    assert not any(_BAR.match(line) for line in shown)  # the bar is gone before the summary


def test_a_pasted_message_link_sets_channel_and_server_and_home_is_expanded(server: FakeDiscord, tmp_path: Path) -> None:
    _messages(server, 2)
    child = _spawn(server, tmp_path, ["--days", "3"], DISCORD_USER_TOKEN=USER_TOKEN, HOME=str(tmp_path))
    child.expect_exact(CHANNEL_PROMPT)
    child.sendline(f"https://canary.discord.com/channels/{GUILD_ID}/1199999999999999999")
    child.expect_exact("Unknown Channel")
    child.expect_exact(CHANNEL_PROMPT)
    child.sendline(f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/1199999999999999990")
    child.expect_exact(OUTPUT_PROMPT)
    child.sendline('"~/pics"')
    transcript = _finish(child)
    assert child.exitstatus == 0, transcript
    assert len(list((tmp_path / "pics").glob("*.png"))) == 2
    assert f"Channel:  #spx-realtime-aws (id {CHANNEL_ID})" in transcript


def test_a_channel_name_asks_for_the_server_and_rechecks_it(server: FakeDiscord, tmp_path: Path) -> None:
    _messages(server, 1)
    child = _spawn(server, tmp_path, ["--days", "3", "--output", "o"], DISCORD_USER_TOKEN=USER_TOKEN)
    child.expect_exact(CHANNEL_PROMPT)
    child.sendline("#spx-realtime-aws")
    child.expect_exact("Enter server name or ID:")
    child.sendline("Nowhere")
    child.expect_exact("no server named 'Nowhere'; your servers: 数学家炒美股. Please try again.")
    child.sendline(GUILD_ID)
    transcript = _finish(child)
    assert child.exitstatus == 0, transcript
    assert len(list((tmp_path / "o").glob("*.png"))) == 1


@pytest.mark.parametrize(
    ("answers", "key"),
    [
        ([], "\x04"),  # Ctrl-D at the token prompt
        ([USER_TOKEN], "\x04"),  # at the channel prompt
        ([USER_TOKEN, CHANNEL_ID], "\x03"),  # Ctrl-C at the days prompt
    ],
)
def test_ctrl_d_or_ctrl_c_at_a_prompt_cancels_quietly(server: FakeDiscord, tmp_path: Path, answers: list[str], key: str) -> None:
    _messages(server, 1)
    child = _spawn(server, tmp_path, [])
    prompts = [TOKEN_PROMPT, CHANNEL_PROMPT, DAYS_PROMPT]
    for prompt, answer in zip(prompts, answers):
        child.expect_exact(prompt)
        child.sendline(answer)
    child.expect_exact(prompts[len(answers)])
    child.send(key)
    transcript = _finish(child)
    assert child.exitstatus == 130, transcript
    assert transcript.strip().endswith("Cancelled.") and "Traceback" not in transcript
    assert not (tmp_path / "spx-realtime-aws").exists()


def test_three_refused_tokens_end_the_run(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    child = _spawn(server, tmp_path, [])
    for _ in range(3):
        child.expect_exact(TOKEN_PROMPT)
        child.sendline("wrong")
    transcript = _finish(child)
    assert child.exitstatus == 3
    assert "error: Discord refused this token (401 Unauthorized)" in transcript
    assert len(server.api_requests("/users/@me")) == 6  # as is, then as a bot token, per answer


def test_a_token_from_env_file_is_checked_before_any_question(server: FakeDiscord, tmp_path: Path) -> None:
    setup_server(server)
    (tmp_path / ".env").write_text("DISCORD_USER_TOKEN=revoked\n")
    child = _spawn(server, tmp_path, [])
    transcript = _finish(child)
    assert child.exitstatus == 3
    assert f"error: Discord rejected the token from DISCORD_USER_TOKEN in {tmp_path / '.env'} (401 Unauthorized)" in transcript
    assert "Enter" not in transcript
