"""Tables for the pure parts behind the prompts: channel specs, tokens, paths, .env discovery, the screen's text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from picextract.cli.answers import parse_output_path, token_candidates
from picextract.cli.listing import format_reachable
from picextract.cli.progress import format_header, format_summary
from picextract.config import ConfigError, env_file_places, find_env_file, source_of, user_config_dir
from picextract.discord.channel_spec import ChannelSpec, guild_of, parse_channel_list, parse_channel_spec
from picextract.discord.channels import ChannelInfo, Reachable
from picextract.download.results import SaveResult, SaveStatus, Summary
from picextract.pictures.filenames import MAX_PATH_CHARS, build_filename, max_name_chars, name_candidates, path_chars, with_suffix
from picextract.pictures.refs import PictureRef

G, C, M = "1100000000000000001", "1100000000000000002", "1199999999999999990"
UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (C, ChannelSpec(channel_id=C)),
        (f"  <#{C}> ", ChannelSpec(channel_id=C)),
        ("#charts", ChannelSpec(name="charts")),
        ("spx-realtime-aws", ChannelSpec(name="spx-realtime-aws")),
        (f"https://discord.com/channels/{G}/{C}", ChannelSpec(channel_id=C, guild_id=G)),
        (f"https://discord.com/channels/{G}/{C}/{M}", ChannelSpec(channel_id=C, guild_id=G)),  # a message link: its channel
        (f"https://ptb.discord.com/channels/{G}/{C}/", ChannelSpec(channel_id=C, guild_id=G)),
        (f"https://canary.discord.com/channels/{G}/{C}?x=1", ChannelSpec(channel_id=C, guild_id=G)),
        (f"https://discordapp.com/channels/{G}/{C}", ChannelSpec(channel_id=C, guild_id=G)),
        (f"discord.com/channels/{G}/{C}", ChannelSpec(channel_id=C, guild_id=G)),
        (f"<https://discord.com/channels/{G}/{C}>", ChannelSpec(channel_id=C, guild_id=G)),
        (f"https://discord.com/channels/@me/{C}", ChannelSpec(channel_id=C)),
    ],
)
def test_channel_specs(text: str, expected: ChannelSpec) -> None:
    assert parse_channel_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no channel given"),
        ("#", "a channel name is needed"),
        (f"https://discord.com/channels/{G}", "is a server link"),
        ("https://example.com/channels/1/2", "is not a Discord channel link"),
        ("https://discord.com/invite/abc", "is not a Discord channel link"),
    ],
)
def test_channel_specs_that_are_not(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_channel_spec(text)


def test_a_list_of_channels_and_the_server_its_links_name() -> None:
    specs = parse_channel_list(f"#charts, https://discord.com/channels/{G}/{C}, <#{M}>")
    assert specs == [ChannelSpec(name="charts"), ChannelSpec(channel_id=C, guild_id=G), ChannelSpec(channel_id=M)]
    assert guild_of(specs) == G
    assert guild_of(parse_channel_list("a,b")) is None


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("abc.def.ghi", ["abc.def.ghi", "Bot abc.def.ghi"]),
        ("  'abc.def'  ", ["abc.def", "Bot abc.def"]),
        ("Bot abc.def", ["Bot abc.def"]),
        ('"bot  abc.def"', ["Bot abc.def"]),
    ],
)
def test_token_candidates(text: str, candidates: list[str]) -> None:
    assert token_candidates(text) == candidates


def test_a_token_with_spaces_inside_is_explained() -> None:
    with pytest.raises(ValueError, match="one word"):
        token_candidates("abc def")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'my pictures'", Path("my pictures")),
        ('"/data/spx"   ', Path("/data/spx")),
        ("pics  ", Path("pics")),
        ("~/pics", Path.home() / "pics"),
        ("'~/pics'", Path.home() / "pics"),
    ],
)
def test_typed_paths(text: str, expected: Path) -> None:
    assert parse_output_path(text) == expected


def test_env_file_discovery(tmp_path: Path) -> None:
    """`.env` in the working directory, else in the user's config folder; `--env-file` wins and must exist."""
    cwd, config = tmp_path / "cwd", tmp_path / "config" / "discordpicextract"
    cwd.mkdir(), config.mkdir(parents=True)
    places = env_file_places(cwd, {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert places == (cwd / ".env", config / ".env")
    assert find_env_file(None, places) is None
    (config / ".env").write_text("")
    assert find_env_file(None, places) == config / ".env"
    (cwd / ".env").write_text("")
    assert find_env_file(None, places) == cwd / ".env"
    assert find_env_file(config / ".env", places) == config / ".env"
    with pytest.raises(ConfigError, match="no such file"):
        find_env_file(tmp_path / "missing.env", places)
    assert source_of("X", cwd / ".env", {}) == f"X in {cwd / '.env'}"
    assert source_of("X", cwd / ".env", {"X": "1"}) == "X in the environment"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"XDG_CONFIG_HOME": "/srv/conf"}, Path("/srv/conf/discordpicextract")),
        ({"XDG_CONFIG_HOME": "/srv/conf", "APPDATA": "/w/Roaming"}, Path("/srv/conf/discordpicextract")),
        ({"APPDATA": "/w/Roaming"}, Path("/w/Roaming/discordpicextract")),
        ({}, Path.home() / ".config" / "discordpicextract"),
        ({"XDG_CONFIG_HOME": ""}, Path.home() / ".config" / "discordpicextract"),
        ({"XDG_CONFIG_HOME": "relative/conf"}, Path.home() / ".config" / "discordpicextract"),  # the XDG spec ignores it
    ],
    ids=["xdg", "xdg-before-appdata", "windows", "default", "empty-xdg", "relative-xdg"],
)
def test_user_config_folder(environ: dict[str, str], expected: Path) -> None:
    assert user_config_dir(environ) == expected


def _channel(channel_id: str = C, name: str = "spx", guild_name: str | None = "Traders") -> ChannelInfo:
    return ChannelInfo(channel_id, name, G, guild_name)


def test_the_listing_numbers_channels_under_their_server() -> None:
    rows = [Reachable(_channel(), True), Reachable(ChannelInfo("7", "private", G, "Traders", 15), False)]
    lines = format_reachable(rows, numbered=True).splitlines()
    assert lines[0] == f"Traders (server {G})"
    assert [line.split() for line in lines[1:]] == [
        ["1.", "#spx", C, "text", "readable"],
        ["2.", "#private", "7", "forum", "no", "access"],
    ]
    assert len({line.index("text") if "text" in line else line.index("forum") for line in lines[1:]}) == 1  # columns line up
    assert "No text" in format_reachable([])


def _ref(kind: str = "attachment") -> PictureRef:
    return PictureRef("attachment:1", "u", None, "a.png", "image/png", 1, 1, C, datetime(2026, 1, 1, tzinfo=UTC), kind)


def test_a_rerun_with_nothing_new_says_up_to_date() -> None:
    summary = Summary(messages_scanned=0, skipped=0, elapsed_seconds=0.4)
    text = format_summary(summary, _channel(), Path("o"))
    assert "#spx in Traders: Folder up to date" in text
    assert "Time taken:        0.4 s" in text


def test_the_summary_names_the_first_failures_and_counts_by_kind() -> None:
    summary = Summary(downloaded=2, bytes_downloaded=2_000_000, elapsed_seconds=2)
    for number in range(5):
        summary.add(SaveResult(_ref(), f"f{number}.png", SaveStatus.FAILED, error="HTTP 500"))
    text = format_summary(summary, _channel(), Path("o"), by_kind={"attachment": 1, "embed": 1})
    assert "#spx in Traders: 2 new pictures saved" in text
    assert "  Saved:             2 (2.0 MB)" in text and "  Failed:            5" in text
    assert "    f0.png: HTTP 500\n    f1.png: HTTP 500\n    f2.png: HTTP 500\n    … and 2 more" in text
    assert "  By kind:           1 attachment, 1 embed" in text


@pytest.mark.parametrize(
    ("tz", "window"),
    [
        (UTC, "2026-01-01 00:00 to 2026-01-15 00:00, UTC"),
        (ZoneInfo("Asia/Tokyo"), "2026-01-01 09:00 to 2026-01-15 09:00, Asia/Tokyo"),
    ],
)
def test_the_header_shows_the_window_in_the_file_name_clock(tz: timezone | ZoneInfo, window: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    header = format_header(_channel(), Path("/data/o"), start, start + timedelta(days=14), tz).splitlines()
    assert header == [f"Server:   Traders (id {G})", f"Channel:  #spx (id {C})", f"Window:   {window}", "Folder:   /data/o"]


@pytest.mark.parametrize("folder_chars", [3, 120, 200, 240])
@pytest.mark.parametrize("original", ["chart.png", "x" * 170 + ".jpeg", "😀" * 40 + ".webp", "no-extension"])
def test_full_paths_stay_under_250_characters(folder_chars: int, original: str) -> None:
    posted = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    fit = max_name_chars(folder_chars)
    for name in (
        build_filename(posted, original, UTC, fit),
        with_suffix(build_filename(posted, original, UTC, fit), "1234_5678", fit),
    ):
        assert name.startswith("2026-01-02_03-04-05_")
        assert name.rpartition(".")[2] == original.rpartition(".")[2] or "." not in original
        if folder_chars < 200:  # a folder this deep leaves room for at least one character of the name
            assert folder_chars + 1 + path_chars(name) < MAX_PATH_CHARS, name
    assert build_filename(posted, "chart.png", UTC, max_name_chars(3)) == "2026-01-02_03-04-05_chart.png"
    assert with_suffix("2026-01-02_03-04-05_" + "a" * 300 + ".png", "77", 60).endswith("aaa_77.png")


@pytest.mark.parametrize("stem", ["ࠀ" * 80, "a" * 240, "😀" * 60])
def test_suffixed_names_and_their_part_files_stay_under_255_bytes(stem: str) -> None:
    """A `--name` template gives up to 240 bytes; the suffix of a taken name and the download's `.<8 hex>.part` come on top."""
    base = stem + ".png"
    for name in name_candidates(
        base,
        PictureRef(
            "attachment:1157854642810654821",
            "",
            None,
            "",
            None,
            None,
            1157854642810654822,
            "",
            datetime(2026, 1, 2, tzinfo=UTC),
            "attachment",
        ),
        247,
    ):
        assert len(f"{name}.0123abcd.part".encode()) <= 255, name
        assert name.endswith(".png") and name.startswith(stem[:10])
