"""The one value of an invocation's choices: every flag read into it, the namespace never changed, answers as new values."""

from __future__ import annotations

import argparse
from dataclasses import FrozenInstanceError, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from picextract.cli.flags import build_parser
from picextract.cli.options import Choices, read_choices
from picextract.discord.channel_spec import ChannelSpec
from picextract.download.options import RunOptions
from picextract.errors import UsageError
from picextract.pictures.refs import DEFAULT_KINDS

SETTINGS = Settings(TIMEZONE="UTC")
# Read by main.py before the choices exist: they say where the settings come from (or that no run follows).
SETUP_FLAGS = {"gallery", "env_file", "demo", "debug"}


class _Sealed(argparse.Namespace):
    """A namespace that records what is read from it and, once sealed, refuses every change."""

    def seal(self) -> None:
        object.__setattr__(self, "_read", set())

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name in vars(self):
            read = vars(self).get("_read")
            if read is not None:
                read.add(name)
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_read" in vars(self):
            raise AssertionError(f"the namespace was changed: {name} = {value!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AssertionError(f"the namespace was changed: del {name}")


def _sealed(argv: list[str]) -> _Sealed:
    args = build_parser(SETTINGS).parse_args(argv, namespace=_Sealed())
    args.seal()
    return args


def _choices(*argv: str) -> Choices:
    return read_choices(_sealed(list(argv)), SETTINGS)


def test_every_flag_but_the_setup_ones_is_read_into_the_choices_and_none_is_changed() -> None:
    args = _sealed(["--channel", "#charts", "--dry-run", "--no-threads", "--dedup", "--verbose"])
    read_choices(args, SETTINGS)
    flags = {name for name in vars(args) if not name.startswith("_")}
    assert vars(args)["_read"] == flags - SETUP_FLAGS


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], Choices(RunOptions(timezone.utc, SETTINGS.MAX_WORKERS, DEFAULT_KINDS))),
        (["--no-threads"], Choices(RunOptions(timezone.utc, threads=False))),
        (["--dry-run"], Choices(RunOptions(timezone.utc, dry_run=True))),
        (["--workers", "3"], Choices(RunOptions(timezone.utc, workers=3), workers_given=True)),
        (["--no-gallery", "--dedup", "--no-input"], Choices(RunOptions(timezone.utc, gallery=False), dedup=True, may_ask=False)),
        (["--watch", "5", "--verbose"], Choices(RunOptions(timezone.utc), watch_seconds=5.0, verbose=True)),
        (["--days", "2.5"], Choices(RunOptions(timezone.utc), days=2.5)),
        (
            ["--since", "2026-01-02", "--until", "2026-01-03"],
            Choices(
                RunOptions(timezone.utc),
                since=datetime(2026, 1, 2, tzinfo=timezone.utc),
                until=datetime(2026, 1, 4, tzinfo=timezone.utc),  # a bare date ends at its midnight
            ),
        ),
        (
            ["--channel", "#charts, <#1100000000000000002>", "--guild", "Home"],
            Choices(RunOptions(timezone.utc), (ChannelSpec(name="charts"), ChannelSpec("1100000000000000002")), "Home"),
        ),
        (["--channel", "  "], Choices(RunOptions(timezone.utc))),  # an empty --channel is asked for, as before
        (["--guild", "Home", "--all-channels"], Choices(RunOptions(timezone.utc), guild="Home", all_channels=True)),
        (["--list"], Choices(RunOptions(timezone.utc), list_only=True)),
        (["--output", "'~/pics'"], Choices(RunOptions(timezone.utc), output=Path.home() / "pics")),
    ],
)
def test_flags_become_one_value(argv: list[str], expected: Choices) -> None:
    assert _choices(*argv) == expected


def test_what_every_downloader_shares_is_one_sub_value() -> None:
    choices = _choices("--only", "attachments", "--name", "{channel}-{message_id}.{ext}", "--from", "bots", "--timezone", "UTC")
    download = choices.download
    assert (download.kinds, download.name_template.text, download.message_filter.source) == (
        frozenset({"attachments"}),
        "{channel}-{message_id}.{ext}",
        "bots",
    )


def test_an_answer_is_a_new_value_and_the_old_one_stays() -> None:
    given = _choices("--workers", "3")
    chosen = _choices()
    with pytest.raises(FrozenInstanceError):
        chosen.days = 3.0  # type: ignore[misc]
    assert given.with_default_workers(32) is given  # --workers wins over the token's kind
    bot = chosen.with_default_workers(32)
    assert (bot.download.workers, chosen.download.workers) == (32, SETTINGS.MAX_WORKERS)
    assert replace(chosen, days=3.0).days == 3.0 and chosen.days is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--channel", "https://discord.com/channels/1100000000000000001"], "--channel: 'https://discord.com/channels/"),
        (["--channel", "#"], "--channel: a channel name is needed after '#'"),
        (["--channel", "#a", "--all-channels"], "give either --channel or --all-channels, not both"),
        (["--output", "''"], "--output: a folder name is needed"),
        (["--watch", "--until", "2026-01-01"], "--watch keeps going: leave out --until"),
        (["--watch", "--dry-run"], "--watch saves what it finds: leave out --dry-run"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--include", "embeds", "--only", "embeds"], "give either --include or --only"),
    ],
)
def test_a_bad_flag_is_one_usage_error_naming_it(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        _choices(*argv)
    assert str(raised.value).startswith(message)
