"""DiscordPicExtract: save every picture a Discord channel posted in a time window."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

from config import Settings, load_settings, read_environment
from discord_downloader import DiscordDownloader
from picextract.cli.answers import authorization_from_env, parse_days, window
from picextract.cli.options import FlagValues, check_flags
from picextract.cli.progress import ProgressReporter, format_summary
from picextract.cli.prompts import Prompter
from picextract.discord.channels import output_folder
from picextract.discord.client import DiscordClient
from picextract.discord.pace import default_workers
from picextract.errors import EXIT_CODES_HELP, ExitCode, UsageError, error_boundary
from picextract.pictures.refs import KIND_RULES
from picextract.watch.loop import WatchReporter, WatchTarget
from picextract.watch.session import DEFAULT_INTERVAL_SECONDS, check_watch_flags, note_on_stderr, parse_interval, watch

DEMO_OUTPUT_DIR = "demo-output"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"error: {message} (see --help)\n")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The command-line flags; each prompt has one."""
    parser = _Parser(
        description="Save every picture a Discord channel posted in the last N days.",
        epilog="The token comes from DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN (environment or .env), "
        "or a hidden prompt. " + EXIT_CODES_HELP,
    )
    parser.add_argument("--channel", help="channel ID, or channel name together with --guild")
    parser.add_argument("--guild", help="server (guild) name, when --channel is a name")
    parser.add_argument("--days", help=f"how many days to look back (default {settings.DEFAULT_DAYS:g}; fractions allowed)")
    parser.add_argument("--since", help="start of the window: a date or date-time (instead of --days)")
    parser.add_argument("--until", help="end of the window, exclusive (a date means the end of that day); default now")
    parser.add_argument("--output", help=f"output folder (default {settings.DEFAULT_OUTPUT_DIR})")
    parser.add_argument("--timezone", help=f"clock used in file names: local, UTC or an IANA name (default {settings.TIMEZONE})")
    parser.add_argument(
        "--workers",
        type=int,
        help=f"parallel downloads (default {settings.MAX_WORKERS}; {settings.BOT_MAX_WORKERS} with a bot token)",
    )
    parser.add_argument(
        "--all-channels", action="store_true", help="with --guild: every text, announcement and forum channel you can read"
    )
    parser.add_argument("--no-threads", action="store_true", help="skip the pictures posted in the channel's threads")
    parser.add_argument(
        "--include",
        help=f"also save these kinds (comma-separated): {', '.join(k for k, (on, _) in KIND_RULES.items() if not on)}",
    )
    parser.add_argument("--only", help="save only these kinds (comma-separated), e.g. attachments")
    parser.add_argument("--dry-run", action="store_true", help="print what would be saved; write nothing")
    parser.add_argument("--no-input", action="store_true", help="never prompt; a missing value is an error")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--demo", action="store_true", help="run against a built-in fake Discord server into demo-output/")
    parser.add_argument(
        "--watch",
        nargs="?",
        type=parse_interval,
        const=DEFAULT_INTERVAL_SECONDS,
        metavar="SECONDS",
        help=f"keep going: poll for new pictures every SECONDS (default {DEFAULT_INTERVAL_SECONDS:g}) until Ctrl-C or SIGTERM",
    )
    parser.add_argument("--verbose", action="store_true", help="with --watch: a line for every poll, also the quiet ones")
    return parser


def _gather(
    args: argparse.Namespace, settings: Settings, environment: Mapping[str, str], prompter: Prompter
) -> tuple[str, str, str | None]:
    """Token, channel and guild from flags, environment and prompts, in prompt order."""
    authorization = authorization_from_env(environment)
    if authorization is None:
        if not prompter.interactive:
            raise UsageError("no token: set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN (environment or .env)")
        authorization = str(prompter.ask("Enter your Discord user token: ", "DISCORD_USER_TOKEN", secret=True))
    channel = args.channel.strip() if args.channel and args.channel.strip() else None
    if args.all_channels:
        if channel:
            raise UsageError("give either --channel or --all-channels, not both")
        channel = ""
    else:
        channel = channel or str(prompter.ask("Enter channel ID or name: ", "--channel"))
    guild = None
    if args.all_channels or not all(part.strip().isdigit() for part in channel.split(",") if part.strip()):
        guild = args.guild or str(prompter.ask("Enter guild/server name: ", "--guild"))
    return authorization, channel, guild


def _ask_days(args: argparse.Namespace, settings: Settings, prompter: Prompter, days: float | None) -> float | None:
    """The days flag, or the prompt when neither --days nor --since was given."""
    if days is not None or args.since is not None:
        return days
    default = f"{settings.DEFAULT_DAYS:g}"
    return float(prompter.ask(f"Enter number of days to look back (default: {default}): ", "--days", parse_days, default=default))  # type: ignore[arg-type]


def _ask_output(args: argparse.Namespace, settings: Settings, prompter: Prompter) -> Path:
    default = settings.DEFAULT_OUTPUT_DIR
    output = args.output or str(
        prompter.ask(f"Enter output directory (press Enter for default: {default}): ", "--output", default=default)
    )
    return Path(output).expanduser()


def _start_demo(args: argparse.Namespace) -> dict[str, str]:
    """Start the built-in fake Discord server; returns the environment that points at it."""
    from picextract.fake.sample import start_demo_server

    _server, demo_env = start_demo_server()
    if args.watch is not None:
        from picextract.fake.demo_feed import post_pictures_every

        post_pictures_every(_server, demo_env["DEMO_CHANNEL_ID"], seconds=3.0)  # new pictures for the watch to find
    args.channel, args.output, args.no_input = demo_env["DEMO_CHANNEL_ID"], args.output or DEMO_OUTPUT_DIR, True
    print(f"Demo: a fake Discord server runs at {demo_env['DISCORD_API_BASE']}; saving into {args.output}/", file=sys.stderr)
    return {name: value for name, value in os.environ.items() if name != "DISCORD_BOT_TOKEN"} | demo_env


def _download_all(
    args: argparse.Namespace, client: DiscordClient, flags: FlagValues, target: tuple[str, str | None, Path], prompter: Prompter
) -> int:
    """Resolve the channels, download each into its folder, print each summary; returns the exit code."""
    channel_text, guild, output_dir = target
    start, until = _window(flags)
    reporter = WatchReporter(note_on_stderr) if args.watch is not None else ProgressReporter(show_bar=sys.stderr.isatty())
    watched: list[WatchTarget] = []

    def downloader_for(folder: Path) -> DiscordDownloader:
        return DiscordDownloader(
            client,
            folder,
            flags.tz,
            workers=flags.workers,
            reporter=reporter,
            kinds=flags.kinds,
            threads=not args.no_threads,
            dry_run=args.dry_run,
        )

    worst: int = ExitCode.OK
    try:
        resolver = downloader_for(output_dir)
        channels = resolver.resolve_channels(
            channel_text, guild, args.all_channels, choose=prompter.choose, need_guild_names="{guild}" in str(output_dir)
        )
        if not channels:
            raise UsageError(f"no channel of {guild!r} can be read")
        for channel in channels:
            folder = output_folder(output_dir, channel, several=len(channels) > 1 or args.all_channels)
            if folder.exists() and not folder.is_dir():
                raise UsageError(f"output {folder} exists and is not a folder")
            downloader = downloader_for(folder)
            if args.watch is not None:
                watched.append(WatchTarget(channel, folder, downloader))
                continue
            print(f"Pictures from {channel.label} since {start:%Y-%m-%d %H:%M} UTC into {folder}", file=sys.stderr)
            summary = downloader.run(channel, start, until)
            print(format_summary(summary, channel, folder, args.dry_run))
            if summary.interrupted:
                print("Interrupted: finished pictures are kept; run again to fetch the rest.", file=sys.stderr)
                return ExitCode.INTERRUPTED
            worst = max(worst, ExitCode.SOME_FAILED if summary.failed else ExitCode.OK)
        # --dedup (issue 12) hooks in here: after_poll=(folder, new file names) copies the non-re-posts.
        if watched and isinstance(reporter, WatchReporter):
            return watch(watched, start, args.watch, reporter, lambda: client.api_calls, verbose=args.verbose, tz=flags.tz)
    finally:
        reporter.close()
    return worst


def _window(flags: FlagValues) -> tuple[datetime, datetime | None]:
    try:
        return window(flags.days, flags.since, flags.until, datetime.now(timezone.utc))
    except ValueError as problem:
        raise UsageError(str(problem)) from None


def run(argv: list[str] | None = None) -> int:
    """Parse, ask, download, summarise; returns the exit code."""
    environment = read_environment()
    args = build_parser(load_settings(environment)).parse_args(argv)
    if args.demo:
        environment = _start_demo(args)
    settings = load_settings(environment)
    flags = check_flags(args, settings)
    check_watch_flags(args.watch, flags.until, args.dry_run)
    prompter = Prompter(interactive=sys.stdin.isatty() and not args.no_input)
    authorization, channel_text, guild = _gather(args, settings, environment, prompter)
    flags = replace(flags, days=_ask_days(args, settings, prompter, flags.days))
    output_dir = _ask_output(args, settings, prompter)
    if args.workers is None:
        flags = replace(flags, workers=default_workers(settings, authorization.startswith("Bot ")))
    client = DiscordClient(authorization, settings, pool_size=flags.workers + 2)
    try:
        return _download_all(args, client, flags, (channel_text, guild, output_dir), prompter)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    """The error boundary: our errors become one line on stderr and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    return error_boundary(lambda: run(argv), debug)


if __name__ == "__main__":
    sys.exit(main())
