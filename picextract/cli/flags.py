"""The downloader's flags, in groups; each prompt has one (main.py parses them)."""

from __future__ import annotations

import argparse
from typing import NoReturn

from picextract.config import Settings
from picextract.errors import EXIT_CODES_HELP, ExitCode
from picextract.pictures.refs import KIND_RULES
from picextract.pictures.templates import DEFAULT_TEMPLATE, FIELDS
from picextract.version import package_version
from picextract.watch.session import DEFAULT_INTERVAL_SECONDS, parse_interval


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"error: {message} (see --help)\n")


def _channel_flags(group: argparse._ArgumentGroup, settings: Settings) -> None:
    """Flags: which channels."""
    group.add_argument(
        "--channel",
        help="channel link (https://discord.com/channels/…), ID, <#id>, name or #name (a name needs --guild); "
        "comma-separated for several",
    )
    group.add_argument("--guild", help="server (guild) name or ID: for a channel name, --all-channels and --list")
    group.add_argument("--list", action="store_true", help="list the servers and channels the token can reach, then exit")
    group.add_argument(
        "--all-channels", action="store_true", help="with --guild: every text, announcement and forum channel you can read"
    )
    group.add_argument("--no-threads", action="store_true", help="skip the pictures posted in the channel's threads")
    group.add_argument(
        "--include",
        help=f"also save these kinds (comma-separated): {', '.join(k for k, (on, _) in KIND_RULES.items() if not on)}",
    )
    group.add_argument("--only", help="save only these kinds (comma-separated), e.g. attachments")


def _window_flags(group: argparse._ArgumentGroup, settings: Settings) -> None:
    """Flags: which window."""
    group.add_argument("--days", help=f"how many days to look back (default {settings.DEFAULT_DAYS:g}; fractions allowed)")
    group.add_argument("--since", help="start of the window: a date or date-time (instead of --days)")
    group.add_argument("--until", help="end of the window, exclusive (a date means the end of that day); default now")
    group.add_argument("--timezone", help=f"clock used in file names: local, UTC or an IANA name (default {settings.TIMEZONE})")


def _filter_flags(group: argparse._ArgumentGroup, settings: Settings) -> None:
    """Flags: which messages, and file names."""
    group.add_argument(
        "--author",
        action="append",
        metavar="WHO",
        help="only messages by these users: ids, user or display names (comma list, repeatable)",
    )
    group.add_argument(
        "--from", dest="from_who", metavar="bots|people|all", help="only messages of bots (webhooks too) or of people"
    )
    group.add_argument(
        "--contains",
        metavar="TEXT",
        help="only messages whose text or embeds contain TEXT (ignoring case); re:PATTERN for a regex",
    )
    group.add_argument(
        "--name",
        metavar="TEMPLATE",
        help=f"file names, fields {', '.join('{' + f + '}' for f in FIELDS)} (default {DEFAULT_TEMPLATE})",
    )


def _run_flags(group: argparse._ArgumentGroup, settings: Settings) -> None:
    """Flags: how it runs."""
    group.add_argument("--output", help=f"output folder (default {settings.DEFAULT_OUTPUT_DIR})")
    group.add_argument(
        "--workers",
        type=int,
        help=f"parallel downloads (default {settings.MAX_WORKERS}; {settings.BOT_MAX_WORKERS} with a bot token)",
    )
    group.add_argument("--dry-run", action="store_true", help="print what would be saved; write nothing")
    group.add_argument(
        "--watch",
        nargs="?",
        type=parse_interval,
        const=DEFAULT_INTERVAL_SECONDS,
        metavar="SECONDS",
        help=f"keep going: poll for new pictures every SECONDS (default {DEFAULT_INTERVAL_SECONDS:g}) until Ctrl-C or SIGTERM",
    )
    group.add_argument("--verbose", action="store_true", help="with --watch: a line for every poll, also the quiet ones")
    group.add_argument("--dedup", action="store_true", help="then remove re-posts into <output>-clean (deduplicate_images.py)")
    group.add_argument("--no-gallery", action="store_true", help="do not write index.html (the offline gallery) after the run")
    group.add_argument("--gallery", metavar="DIR", help="only rebuild DIR/index.html from its index.csv and files (no network)")


class _VersionAction(argparse.Action):
    """`--version`: the version is looked up only when asked (reading the package metadata is not free)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: object, values: object, option_string: str | None = None
    ) -> None:
        print(f"DiscordPicExtract {package_version()}")  # to stdout, as argparse's own version action prints
        parser.exit()


def _setup_flags(group: argparse._ArgumentGroup, settings: Settings) -> None:
    """Flags: setup."""
    group.add_argument("--no-input", action="store_true", help="never prompt; a missing value is an error")
    group.add_argument(
        "--env-file",
        help="settings file to read instead of .env (default: ./.env, else ~/.config/discordpicextract/.env; $XDG_CONFIG_HOME moves it)",
    )
    group.add_argument("--debug", action="store_true", help="show tracebacks")
    group.add_argument("--demo", action="store_true", help="run against a built-in fake Discord server into demo-output/")
    group.add_argument("--version", action=_VersionAction)


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The command-line flags; each prompt has one."""
    parser = _Parser(
        description="Save every picture a Discord channel posted in the last N days.",
        epilog="The token comes from DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN (environment, .env or --env-file), "
        "or a hidden prompt. " + EXIT_CODES_HELP,
    )
    for title, add_flags in (
        ("which channels", _channel_flags),
        ("which window", _window_flags),
        ("which messages, and file names", _filter_flags),
        ("how it runs", _run_flags),
        ("setup", _setup_flags),
    ):
        add_flags(parser.add_argument_group(title), settings)
    return parser
