"""Issue 10 parts 5, 11 and 13: malformed API data, tokens as people paste them, real payload shapes."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.discord.tokens import clean_authorization
from picextract.download.options import RunOptions
from picextract.download.results import Summary
from picextract.errors import UsageError
from picextract.fake.sample import (
    BOT_TOKEN,
    CHANNEL_ID,
    CHANNEL_NAME,
    GUILD_ID,
    USER_TOKEN,
    make_picture,
    setup_server,
    snowflake_at,
)
from picextract.fake.server import FakeDiscord
from picextract.pictures.refs import DEFAULT_KINDS, KIND_RULES, MalformedMessage, extract_pictures
from tests.conftest import NOT_PICTURES, program_env, run_main

UTC = timezone.utc
CHANNEL = ChannelInfo(CHANNEL_ID, CHANNEL_NAME)
HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200)


def run(settings: Settings, out: Path, token: str = USER_TOKEN, kinds: frozenset[str] = DEFAULT_KINDS) -> Summary:
    client = DiscordClient(token, settings)
    try:
        return DiscordDownloader(client, out, RunOptions(UTC, workers=3, kinds=kinds)).run(
            CHANNEL, HOUR_AGO - timedelta(minutes=5)
        )
    finally:
        client.close()


def saved(out: Path) -> dict[str, bytes]:
    return {
        p.name.split("_", 2)[2]: p.read_bytes()
        for p in out.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name not in NOT_PICTURES
    }


class Disguised(dict):  # type: ignore[type-arg]
    """A message whose JSON `id` is missing or not a number; the fake server still sorts it by `real_id`."""

    def __init__(self, real_id: str, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.real_id = real_id

    def __getitem__(self, key: str) -> Any:
        return self.real_id if key == "id" else super().__getitem__(key)


# --- part 5: malformed messages -------------------------------------------------------------------


def post_malformed(server: FakeDiscord) -> dict[str, bytes]:
    factory = setup_server(server)
    good = {name: make_picture(seed) for seed, name in enumerate(["first.png", "typed.png", "year9999.png", "last.png"])}
    factory.message(HOUR_AGO, "", [factory.attachment("first.png", good["first.png"])])
    typed = factory.attachment("typed.png", good["typed.png"])
    typed.update(size="big", width="wide", height=None, filename="typed.png")
    factory.message(
        HOUR_AGO + timedelta(seconds=1),
        5,  # content: a number
        [typed, {"id": "1", "url": 7}, "not an attachment", None],
        [{"type": "image", "thumbnail": "x"}, {"type": "poll_result", "fields": []}, {"type": None}, 3],
        author=7,
        components=[{"type": 99, "components": "x"}, {"type": 12, "items": [None, {"media": None}, {"media": {}}]}],
        sticker_items="none",
        message_snapshots=[{"message": None}],
        brand_new_field={"x": 1},
    )
    factory.message(
        HOUR_AGO + timedelta(seconds=2),
        "",
        [factory.attachment("year9999.png", good["year9999.png"])],
        timestamp="9999-12-31T23:59:59+00:00",
    )
    for seconds, shown_id in ((3, None), (4, "abc"), (5, "99999999999999999999999999"), (5, "¹"), (5, "١٢٣")):
        real_id = snowflake_at(HOUR_AGO + timedelta(seconds=seconds), server.next_id())
        fields = {
            "type": 0,
            "channel_id": CHANNEL_ID,
            "content": "",
            "attachments": [factory.attachment("lost.png", make_picture(9))],
        }
        if shown_id is not None:
            fields["id"] = shown_id
        server.add_message(Disguised(real_id, fields))
    factory.message(HOUR_AGO + timedelta(seconds=6), "", [factory.attachment("last.png", good["last.png"])])
    return good


@pytest.mark.parametrize("token", [USER_TOKEN, f"Bot {BOT_TOKEN}"])  # a bot pages parts of the window at once
def test_malformed_messages_are_skipped_and_counted(
    server: FakeDiscord, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture, token: str
) -> None:
    good = post_malformed(server)
    with caplog.at_level(logging.DEBUG, logger="picextract"):
        summary = run(settings, tmp_path, token)
    assert saved(tmp_path) == good
    assert (summary.malformed, summary.failed) == (5, 0)
    assert "skipped a malformed message" in caplog.text
    # Items that are no JSON objects are parts that cannot be read: counted, the rest of the message saved.
    parts = ["attachment 3", "attachment 4", "component 2 item 1", "embed 4", "forward 1"]
    assert [part.name for part in summary.unreadable] == parts
    year = [name for name in (p.name for p in tmp_path.iterdir()) if name.endswith("year9999.png")][0]
    assert year.startswith(f"{HOUR_AGO + timedelta(seconds=2):%Y-%m-%d_%H-%M-%S}")  # the id's time, not year 9999
    again = run(settings, tmp_path, token)  # progress was saved: nothing is paged twice, nothing crashes
    assert (again.messages_scanned, again.failed) == (0, 0)


def test_malformed_messages_end_to_end(server: FakeDiscord, tmp_path: Path) -> None:
    post_malformed(server)
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)
    args = ["--channel", CHANNEL_ID, "--output", "o", "--no-input", "--days", "1"]
    result = run_main(args, env, tmp_path)
    assert result.returncode == 1, result.stderr  # the unreadable parts might have been pictures
    assert "Malformed:         5 messages skipped" in result.stdout and "debug:" not in result.stderr
    assert "Unreadable:        5 message parts skipped" in result.stdout
    (tmp_path / "o" / ".discordpicextract.sqlite3").unlink()
    debug = run_main([*args, "--debug"], env, tmp_path)
    assert debug.returncode == 1 and "debug: skipped a malformed message" in debug.stderr
    assert "Traceback" not in debug.stderr and USER_TOKEN not in debug.stderr


def test_lone_surrogates_in_the_json_become_replacement_characters(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    """`"\\ud83d"` without its pair is valid JSON but has no UTF-8 form: names, the index and the state file need one."""
    factory = setup_server(server)
    picture = make_picture(1)
    attachment = factory.attachment("shot.png", picture)
    attachment["filename"] = "shot \ud83d.png"
    author = {"id": "80351110224678912", "username": "u\udc00", "global_name": "\ud800", "discriminator": "0"}
    factory.message(HOUR_AGO, "text \ud83d", [attachment], author=author)
    summary = run(settings, tmp_path)
    assert (summary.downloaded, summary.failed, saved(tmp_path)) == (1, 0, {"shot \ufffd.png": picture})
    index = (tmp_path / "index.csv").read_text(encoding="utf-8")
    assert "text \ufffd" in index and "\ufffd" in summary.authors_seen["80351110224678912"].global_name


_FIELDS = [
    *("id", "url", "proxy_url", "filename", "content_type", "size", "width", "height", "type", "items", "media", "file"),
    *("components", "accessory", "thumbnail", "image", "video", "attachment_id", "format_type", "name", "message"),
    *("timestamp", "channel_id", "content", "attachments", "embeds", "sticker_items", "message_snapshots", "author"),
]


def _junk(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, nested a little, with the field names messages use."""
    values: list[Any] = [
        None,
        True,
        0,
        -1,
        1.5,
        float("nan"),
        "",
        "x",
        "https://x.test/a.png",
        "attachment://a",
        "9" * 30,
        [],
        {},
    ]
    if depth < 3:
        values.append([_junk(rng, depth + 1) for _ in range(rng.randrange(3))])
        values.append({key: _junk(rng, depth + 1) for key in rng.sample(_FIELDS, rng.randrange(4))})
    return rng.choice(values)


def test_any_json_shape_is_read_or_refused_as_malformed() -> None:
    rng = random.Random(10)
    for _ in range(800):
        message = {key: _junk(rng) for key in rng.sample(_FIELDS, rng.randrange(1, 12))}
        for key in ("attachments", "embeds", "components", "sticker_items", "message_snapshots"):
            if rng.random() < 0.5:  # lists of objects whose fields hold anything
                message[key] = [{name: _junk(rng, 1) for name in rng.sample(_FIELDS, 6)} for _ in range(rng.randrange(1, 4))]
        if rng.random() < 0.7:
            message["id"] = rng.choice(["1157854642810654821", 1157854642810654821, "abc", None, -5, "0"])
        try:
            extract_pictures(message, frozenset(KIND_RULES))
        except MalformedMessage:
            pass


# --- part 11: tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pasted", "header"),
    [
        ("abc.def-ghi", "abc.def-ghi"),
        ('  "abc.def"  \n', "abc.def"),
        ("'abc.def'\r\n", "abc.def"),
        ("\u201cabc.def\u201d", "abc.def"),
        ("Bot abc.def", "Bot abc.def"),
        ("Bot Bot abc.def", "Bot abc.def"),
        ('Bot "abc.def"', "Bot abc.def"),
        ('"Bot abc.def"', "Bot abc.def"),
    ],
)
def test_tokens_are_cleaned_where_safe(pasted: str, header: str) -> None:
    assert clean_authorization(pasted) == header


@pytest.mark.parametrize("pasted", ["", "  ", '""', "abc def", "abc\x00def", "abc\ndef", "tökén"])
def test_tokens_that_cannot_be_sent_are_refused_without_showing_them(pasted: str) -> None:
    with pytest.raises(UsageError) as refused:
        clean_authorization(pasted)
    assert "\n" not in str(refused.value)
    if pasted.strip():
        assert pasted.strip() not in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("DISCORD_USER_TOKEN", f' "{USER_TOKEN}"\n', 0),
        ("DISCORD_USER_TOKEN", f"Bot {BOT_TOKEN}", 0),
        ("DISCORD_BOT_TOKEN", f"Bot '{BOT_TOKEN}'", 0),
        ("DISCORD_USER_TOKEN", f"{USER_TOKEN}\u00e9", 2),
    ],
)
def test_pasted_tokens_end_to_end(server: FakeDiscord, tmp_path: Path, variable: str, value: str, code: int) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("a.png", make_picture(1))])
    result = run_main(
        ["--channel", CHANNEL_ID, "--output", "o", "--no-input"], program_env(server, **{variable: value}), tmp_path
    )
    assert result.returncode == code, result.stderr
    assert USER_TOKEN not in result.stderr + result.stdout and BOT_TOKEN not in result.stderr + result.stdout
    if code:
        assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
            "error: the token has a character that cannot be sent (a space, control or non-ASCII character at position 36); copy it again"
        ]
    for request in server.api_requests():
        assert request.authorization in (USER_TOKEN, f"Bot {BOT_TOKEN}")


# --- part 13: real payload shapes ----------------------------------------------------------------------


def _message(**fields: Any) -> dict[str, Any]:
    return {"id": "1157854642810654821", "channel_id": "1", "content": "", "attachments": [], "embeds": [], **fields}


@pytest.mark.parametrize(
    ("message", "kinds", "expected"),
    [
        (_message(content="<:pepe:1> https://cdn.discordapp.com/emojis/123456.png?size=48"), DEFAULT_KINDS, []),
        (
            _message(content="https://cdn.discordapp.com/emojis/123456.png?size=48"),
            DEFAULT_KINDS | {"emojis"},
            [("emoji", "123456.png")],
        ),
        (
            _message(content="see https://en.wikipedia.org/wiki/File:X_(1).png and [chart](https://x.test/a_(2).png)."),
            DEFAULT_KINDS,
            [("link", "File:X_(1).png"), ("link", "a_(2).png")],
        ),
        (_message(content="(https://x.test/in_brackets.png)"), DEFAULT_KINDS, [("link", "in_brackets.png")]),
        (
            _message(
                content="https://x.test/图表.png",
                embeds=[
                    {
                        "type": "image",
                        "url": "https://x.test/%E5%9B%BE%E8%A1%A8.png",
                        "thumbnail": {"url": "https://x.test/%E5%9B%BE%E8%A1%A8.png"},
                    }
                ],
            ),
            DEFAULT_KINDS,
            [("embed", "图表.png")],  # one picture: the embed comes first in display order
        ),
        (
            _message(content="https://media.discordapp.net/attachments/1/2/chart.png?format=webp&width=400"),
            DEFAULT_KINDS,
            [("link", "chart.webp")],
        ),
        (
            _message(
                flags=1 << 15,
                components=[
                    {
                        "type": 17,
                        "components": [
                            {
                                "type": 13,
                                "file": {"url": "https://cdn.x/f.png", "content_type": "image/png", "attachment_id": "5"},
                            },
                            {"type": 13, "file": {"url": "https://cdn.x/r.pdf", "content_type": "application/pdf"}},
                            {
                                "type": 9,
                                "components": [{"type": 10, "content": "hi"}],
                                "accessory": {"type": 11, "media": {"url": "https://cdn.x/thumb.jpg"}},
                            },
                            {"type": 12, "items": [{"media": {"url": "", "loading_state": 1}}, {"media": {}}]},
                        ],
                    }
                ],
            ),
            DEFAULT_KINDS,
            [("component", "f.png"), ("component", "thumb.jpg")],
        ),
        (
            _message(
                attachments=[
                    {"id": "7", "filename": "IMG_1.HEIC", "content_type": "image/heic", "url": "https://cdn.x/IMG_1.HEIC"}
                ]
            ),
            DEFAULT_KINDS,
            [("attachment", "IMG_1.HEIC")],
        ),
    ],
)
def test_real_payload_shapes(message: dict[str, Any], kinds: frozenset[str], expected: list[tuple[str, str]]) -> None:
    assert [(ref.kind, ref.original_name) for ref in extract_pictures(message, kinds)] == expected


def test_heic_and_format_links_are_saved_with_the_extension_of_their_bytes(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    factory = setup_server(server)
    webp = make_picture(1, "WEBP")
    proxy = factory.external("media/chart.png", webp, "image/webp") + "?format=webp&width=400"
    emoji = factory.external("emojis/123.png", make_picture(2))  # an emoji link on the fake CDN host is only a link
    factory.message(
        HOUR_AGO,
        f"{proxy} <:x:123> https://cdn.discordapp.com/emojis/123.png",
        [factory.attachment("IMG_1.HEIC", HEIC, "image/heic")],
    )
    unicode_link = factory.external("pics/图表.png", make_picture(3))
    encoded = unicode_link.replace("图表", "%E5%9B%BE%E8%A1%A8")
    factory.message(
        HOUR_AGO + timedelta(seconds=1), unicode_link, embeds=[{"type": "image", "url": encoded, "thumbnail": {"url": encoded}}]
    )
    summary = run(settings, tmp_path)
    assert summary.failed == 0
    assert saved(tmp_path) == {"IMG_1.HEIC": HEIC, "chart.webp": webp, "图表.png": make_picture(3)}
    assert not emoji.startswith("https://cdn.discordapp.com")


def test_malformed_thread_objects_do_not_stop_the_run(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    factory.message(HOUR_AGO, "", [factory.attachment("channel.png", make_picture(1))])
    junk = {"guild_id": GUILD_ID, "parent_id": CHANNEL_ID, "thread_metadata": {"archived": False}, "type": "x"}
    server.state.channels["junk-1"] = {**junk, "id": None}
    server.state.channels["junk-2"] = {**junk, "id": "123", "last_message_id": "abc", "name": 5}
    server.state.channels["junk-3"] = {
        **junk,
        "id": "¹²",
        "last_message_id": "¹",
        "name": "x",
    }  # digits to isdigit(), not to int()
    client = DiscordClient(f"Bot {BOT_TOKEN}", settings)
    try:
        channel = ChannelInfo(CHANNEL_ID, CHANNEL_NAME, GUILD_ID)
        summary = DiscordDownloader(client, tmp_path, RunOptions(UTC)).run(channel, HOUR_AGO - timedelta(minutes=5))
    finally:
        client.close()
    assert summary.downloaded == 1 and not summary.has_errors
