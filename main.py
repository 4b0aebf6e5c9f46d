"""DiscordPicExtract: save every picture a Discord channel posted in a time window."""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from datetime import time as clock_time
from pathlib import Path
from typing import NoReturn, TextIO

from config import Settings, load_settings, read_environment
from discord_downloader import AmbiguousChannelError, ChannelInfo, DiscordDownloader, output_folder
from picextract.discord.client import DiscordClient
from picextract.download.results import SaveResult, Summary
from picextract.errors import EXIT_CODES_HELP, ExitCode, UsageError, error_boundary
from picextract.pictures.filenames import resolve_timezone
from picextract.pictures.refs import DEFAULT_KINDS, KIND_RULES, parse_kinds

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
    parser.add_argument("--workers", type=int, help=f"parallel downloads (default {settings.MAX_WORKERS})")
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
    parser.add_argument("--dedup", action="store_true", help="then remove re-posts into <output>-clean (deduplicate_images.py)")
    return parser


# --- pure parsing of answers ----------------------------------------------------------------


def parse_days(text: str) -> float:
    """A positive, finite number of days; ValueError with a user-facing message otherwise."""
    try:
        days = float(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number of days (e.g. 14 or 0.5)") from None
    if not math.isfinite(days) or days <= 0:
        raise ValueError(f"number of days must be a positive number, not {text.strip()!r}")
    if days > 365 * 100:
        raise ValueError("number of days is too large")
    return days


def parse_when(text: str, tz: tzinfo | None, end_of_day: bool = False) -> datetime:
    """A date or date-time; naive values are read in `tz`. A bare date with end_of_day = next midnight."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date or date-time (use 2026-01-31 or 2026-01-31T14:30)") from None
    is_bare_date = len(value) == 10
    if is_bare_date and end_of_day:
        moment = datetime.combine(moment.date() + timedelta(days=1), clock_time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
    return moment.astimezone(timezone.utc)


def authorization_from_env(environ: Mapping[str, str]) -> str | None:
    """The Authorization header value: a bot token gets `Bot `, a user token is sent as is."""
    bot = environ.get("DISCORD_BOT_TOKEN", "").strip()
    if bot:
        return bot if bot.startswith("Bot ") else f"Bot {bot}"
    user = environ.get("DISCORD_USER_TOKEN", "").strip()
    return user or None


def window(days: float | None, since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime | None]:
    """The [since, until) window from the flags; until None means "up to now"."""
    end = until or now
    start = since if since is not None else end - timedelta(days=days or 0)
    if start >= end:
        raise ValueError("the window is empty: --since must be before --until")
    return start, until


# --- prompts ---------------------------------------------------------------------------------


class Prompter:
    """Asks for missing values when allowed; otherwise fails naming the flag to use."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def ask(
        self, prompt: str, flag: str, parse: Callable[[str], object] = str, default: str | None = None, secret: bool = False
    ) -> object:
        """Ask until `parse` accepts the answer; empty answers take `default` when there is one."""
        if not self.interactive:
            if default is not None:
                return parse(default)
            raise UsageError(f"missing value: pass {flag} (no terminal to ask on)")
        while True:
            answer = (getpass.getpass(prompt) if secret else input(prompt)).strip()
            if not answer:
                if default is not None:
                    return parse(default)
                print("  A value is needed here.", file=sys.stderr)
                continue
            try:
                return parse(answer)
            except ValueError as problem:
                print(f"  {problem}. Please try again.", file=sys.stderr)

    def choose(self, candidates: list[ChannelInfo]) -> ChannelInfo:
        """Let the user pick one of several matching channels."""
        if not self.interactive:
            raise AmbiguousChannelError(candidates)
        print("Several channels match:", file=sys.stderr)
        for number, candidate in enumerate(candidates, 1):
            print(f"  {number}. {candidate.label} (id {candidate.id})", file=sys.stderr)

        def pick(text: str) -> ChannelInfo:
            if not text.isdigit() or not 1 <= int(text) <= len(candidates):
                raise ValueError(f"enter a number from 1 to {len(candidates)}")
            return candidates[int(text) - 1]

        return self.ask(f"Choose a channel [1-{len(candidates)}]: ", "--channel", pick)  # type: ignore[return-value]


# --- progress and summary ----------------------------------------------------------------------


class ProgressReporter:
    """A tqdm bar on stderr (only on a terminal); failures are always reported on stderr."""

    def __init__(self, show_bar: bool) -> None:
        self.bar = None
        self.found = 0
        self.done = 0
        if show_bar:
            from tqdm import tqdm

            self.bar = tqdm(unit=" msg", desc="Scanning", file=sys.stderr, dynamic_ncols=True)

    def _refresh(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"pictures {self.done}/{self.found}", refresh=False)

    def message_scanned(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def picture_found(self) -> None:
        self.found += 1
        self._refresh()

    def picture_done(self, result: SaveResult) -> None:
        self.done += 1
        self._refresh()
        if result.status == "failed":
            self.note(f"failed: {result.filename}: {result.error}")
        elif result.status == "planned":
            size = f", {result.size_bytes:,} bytes" if result.size_bytes else ""
            self._write(f"would save: {result.filename}  ({result.ref.kind}{size})", sys.stdout)

    def note(self, text: str) -> None:
        self._write(text, sys.stderr)

    def _write(self, line: str, stream: TextIO) -> None:
        if self.bar is not None:
            self.bar.write(line, file=stream)
        else:
            print(line, file=stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_summary(summary: Summary, channel: ChannelInfo, output_dir: Path, dry_run: bool = False) -> str:
    """The end-of-run report."""
    megabytes = summary.bytes_downloaded / 1_000_000
    seconds = max(summary.elapsed_seconds, 1e-9)
    lines = [
        "=" * 60,
        f"Summary for {channel.label}" + (" (interrupted)" if summary.interrupted else "") + (" (dry run)" if dry_run else ""),
        f"  Messages scanned:  {summary.messages_scanned}",
        f"  Threads scanned:   {summary.threads_scanned}"
        + (f" ({summary.threads_skipped} skipped: no access)" if summary.threads_skipped else ""),
        f"  Pictures found:    {summary.pictures_found}",
    ]
    if dry_run:
        lines.append(f"  Would download:    {summary.planned}")
    lines += [
        f"  Downloaded:        {summary.downloaded} ({megabytes:.1f} MB)",
        f"  Refreshed links:   {summary.refreshed}",
        f"  Skipped:           {summary.skipped} (already saved)",
        f"  Errors:            {summary.failed}",
        f"  Elapsed:           {summary.elapsed_seconds:.1f}s "
        f"({summary.downloaded / seconds:.1f} pictures/s, {megabytes / seconds:.2f} MB/s)",
        f"  Folder:            {output_dir}",
        "=" * 60,
    ]
    return "\n".join(lines)


# --- the run -----------------------------------------------------------------------------------


def _gather(
    args: argparse.Namespace, settings: Settings, environment: Mapping[str, str], prompter: Prompter
) -> tuple[str, str, str | None, float | None, Path]:
    """Token, channel, guild, days and output folder from flags, environment and prompts, in prompt order."""
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
    days: float | None = None
    if args.days is not None:
        try:
            days = parse_days(args.days)
        except ValueError as problem:
            raise UsageError(f"--days: {problem}") from None
    elif args.since is None:
        days = float(
            prompter.ask(  # type: ignore[arg-type]
                f"Enter number of days to look back (default: {settings.DEFAULT_DAYS:g}): ",
                "--days",
                parse_days,
                default=f"{settings.DEFAULT_DAYS:g}",
            )
        )
    output = args.output or str(
        prompter.ask(
            f"Enter output directory (press Enter for default: {settings.DEFAULT_OUTPUT_DIR}): ",
            "--output",
            default=settings.DEFAULT_OUTPUT_DIR,
        )
    )
    return authorization, channel, guild, days, Path(output).expanduser()


def run(argv: list[str] | None = None) -> int:
    """Parse, ask, download, summarise; returns the exit code."""
    environment = read_environment()
    settings = load_settings(environment)
    args = build_parser(settings).parse_args(argv)
    if args.demo:
        from picextract.fake.sample import start_demo_server

        server, demo_env = start_demo_server()
        environment = {name: value for name, value in os.environ.items() if name != "DISCORD_BOT_TOKEN"} | demo_env
        settings = load_settings(environment)
        args.channel, args.output, args.no_input = demo_env["DEMO_CHANNEL_ID"], args.output or DEMO_OUTPUT_DIR, True
        print(f"Demo: a fake Discord server runs at {settings.API_BASE}; saving into {args.output}/", file=sys.stderr)
    try:
        tz = resolve_timezone(args.timezone or settings.TIMEZONE)
    except ValueError as problem:
        raise UsageError(f"--timezone: {problem}") from None
    if args.days is not None and args.since is not None:
        raise UsageError("give either --days or --since, not both")
    try:
        since = parse_when(args.since, tz) if args.since else None
        until = parse_when(args.until, tz, end_of_day=True) if args.until else None
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    workers = args.workers if args.workers is not None else settings.MAX_WORKERS
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.include and args.only:
        raise UsageError("give either --include or --only, not both")
    try:
        kinds = (
            DEFAULT_KINDS | parse_kinds(args.include) if args.include else parse_kinds(args.only) if args.only else DEFAULT_KINDS
        )
    except ValueError as problem:
        raise UsageError(f"--include/--only: {problem}") from None

    prompter = Prompter(interactive=sys.stdin.isatty() and not args.no_input)
    authorization, channel_text, guild, days, output_dir = _gather(args, settings, environment, prompter)
    try:
        start, until = window(days, since, until, datetime.now(timezone.utc))
    except ValueError as problem:
        raise UsageError(str(problem)) from None

    client = DiscordClient(authorization, settings, pool_size=workers + 2)
    reporter = ProgressReporter(show_bar=sys.stderr.isatty())
    options = {"workers": workers, "reporter": reporter, "kinds": kinds, "threads": not args.no_threads, "dry_run": args.dry_run}
    worst: int = ExitCode.OK
    folders: list[Path] = []
    try:
        resolver = DiscordDownloader(client, output_dir, tz, **options)
        channels = resolver.resolve_channels(
            channel_text, guild, args.all_channels, choose=prompter.choose, need_guild_names="{guild}" in str(output_dir)
        )
        if not channels:
            raise UsageError(f"no channel of {guild!r} can be read")
        for channel in channels:
            folder = output_folder(output_dir, channel, several=len(channels) > 1 or args.all_channels)
            if folder.exists() and not folder.is_dir():
                raise UsageError(f"output {folder} exists and is not a folder")
            folders.append(folder)
            downloader = DiscordDownloader(client, folder, tz, **options)
            print(f"Pictures from {channel.label} since {start:%Y-%m-%d %H:%M} UTC into {folder}", file=sys.stderr)
            summary = downloader.run(channel, start, until)
            print(format_summary(summary, channel, folder, args.dry_run))
            if summary.interrupted:
                print("Interrupted: finished pictures are kept; run again to fetch the rest.", file=sys.stderr)
                return ExitCode.INTERRUPTED
            worst = max(worst, ExitCode.SOME_FAILED if summary.failed else ExitCode.OK)
    finally:
        reporter.close()
        client.close()
    return max(worst, _dedup(folders, args.dry_run, environment) if args.dedup else ExitCode.OK)


def _dedup(folders: list[Path], dry_run: bool, environment: Mapping[str, str]) -> int:
    """`--dedup`: the same dedup into `<output>-clean` (its imaging libraries load only when asked)."""
    from picextract.dedup.run import dedup_after_download

    return dedup_after_download(folders, dry_run, environment)


def main(argv: list[str] | None = None) -> int:
    """The error boundary: our errors become one line on stderr and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    return error_boundary(lambda: run(argv), debug)


if __name__ == "__main__":
    sys.exit(main())
