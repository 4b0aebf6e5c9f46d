"""DiscordPicExtract: save every picture a Discord channel posted in a time window."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from config import ConfigError, Settings, find_env_file, load_settings, read_environment, settings_for_help, source_of
from discord_downloader import DiscordDownloader
from picextract.cli.answers import authorization_from_env, parse_days, parse_output_path, token_variable, window
from picextract.cli.flags import build_parser
from picextract.cli.listing import format_reachable
from picextract.cli.options import FlagValues, check_flags
from picextract.cli.progress import ProgressReporter, format_header, format_summary
from picextract.cli.prompts import Prompter
from picextract.cli.questions import ChannelQuestion, ask_output, ask_token, check_token, refused_token_message
from picextract.discord.channels import ChannelInfo, ChannelResolver, output_folder
from picextract.discord.client import DiscordClient
from picextract.discord.errors import AuthError
from picextract.discord.pace import at_risk_suffix, default_workers
from picextract.download.results import Reporter
from picextract.errors import ExitCode, UsageError, error_boundary
from picextract.pictures.filters import Author, unknown_authors, unknown_authors_message
from picextract.watch.loop import WatchReporter, WatchTarget
from picextract.watch.session import check_watch_flags, note_on_stderr, watch

DEMO_OUTPUT_DIR = "demo-output"
PROGRAM_DIR = Path(__file__).resolve().parent


def _load_settings(environment: Mapping[str, str], env_file: Path | None) -> Settings:
    """Settings; a bad value's message names the file it came from."""
    try:
        return load_settings(environment)
    except ConfigError as problem:
        if problem.variable is None:
            raise
        raise ConfigError(f"{problem} ({source_of(problem.variable, env_file)})", problem.variable) from None


def _token(environment: Mapping[str, str], env_file: Path | None, settings: Settings, prompter: Prompter) -> tuple[str, str]:
    """The Authorization value and where it came from; checked at once when questions follow."""
    variable = token_variable(environment)
    authorization = authorization_from_env(environment)
    if variable is None or authorization is None:
        if not prompter.interactive:
            looked = str(env_file) if env_file else f"{Path.cwd() / '.env'} and {PROGRAM_DIR / '.env'}"
            raise UsageError(f"no token: set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN (environment or .env; looked in {looked})")
        return ask_token(prompter, settings), "the prompt"
    source = source_of(variable, env_file)
    if prompter.interactive:
        check_token(settings, authorization, source)
    return authorization, source


def _channels(args: argparse.Namespace, resolver: ChannelResolver, prompter: Prompter) -> list[ChannelInfo]:
    """The channels to download, each resolved as soon as it is named (flag, prompt or --all-channels)."""
    question = ChannelQuestion(prompter, resolver, args.guild)
    channel = args.channel.strip() if args.channel and args.channel.strip() else None
    if args.all_channels:
        if channel:
            raise UsageError("give either --channel or --all-channels, not both")
        channels = resolver.resolve_channels("", question.ask_guild(), all_channels=True)
        if not channels:
            raise UsageError(f"no channel of {question.guild!r} can be read")
        return channels
    if channel:
        return question.resolve(channel, interactive=False)
    if not prompter.interactive:
        raise UsageError("missing value: pass --channel (no terminal to ask on)")
    return question.ask()


def _ask_days(args: argparse.Namespace, settings: Settings, prompter: Prompter, days: float | None) -> float | None:
    """The days flag, or the prompt when neither --days nor --since was given."""
    if days is not None or args.since is not None:
        return days
    default = f"{settings.DEFAULT_DAYS:g}"
    return float(prompter.ask(f"Enter number of days to look back (default: {default}): ", "--days", parse_days, default=default))  # type: ignore[arg-type]


def _output(args: argparse.Namespace, settings: Settings, prompter: Prompter) -> Path:
    """The output folder from --output (quotes dropped, `~` expanded) or the prompt (checked there)."""
    if args.output is None:
        return ask_output(prompter, settings.DEFAULT_OUTPUT_DIR)
    try:
        return parse_output_path(args.output)
    except ValueError as problem:
        raise UsageError(f"--output: {problem}") from None


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


@dataclass(frozen=True)
class _Job:
    """What every channel of this invocation shares: flags, client, window, where the screen goes."""

    args: argparse.Namespace
    flags: FlagValues
    client: DiscordClient
    reporter: Reporter
    environment: Mapping[str, str]

    def downloader(self, folder: Path) -> DiscordDownloader:
        return DiscordDownloader(
            self.client,
            folder,
            self.flags.tz,
            workers=self.flags.workers,
            reporter=self.reporter,
            kinds=self.flags.kinds,
            threads=not self.args.no_threads,
            dry_run=self.args.dry_run,
            message_filter=self.flags.message_filter,
            name_template=self.flags.name_template,
            gallery=not self.args.no_gallery and not self.args.dry_run,
        )


def _folders(args: argparse.Namespace, channels: list[ChannelInfo], output_dir: Path) -> list[Path]:
    """Each channel's folder (its own subfolder when there are several); a file in the way is a usage error."""
    several = len(channels) > 1 or args.all_channels
    folders = [output_folder(output_dir, channel, several, channels) for channel in channels]
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"output {folder} exists and is not a folder")
    return folders


def _download_once(job: _Job, reporter: ProgressReporter, targets: list[tuple[ChannelInfo, Path]]) -> int:
    """One pass over the channels: header, bar, summary and gallery for each; returns the exit code."""
    start, until = _window(job.flags)  # after the last prompt: the window ends now, not when the program started
    worst: int = ExitCode.OK
    authors_seen: dict[str, Author] = {}
    for channel, folder in targets:
        reporter.begin(format_header(channel, folder, start, until, job.flags.tz) + _choices(job.flags))
        summary = job.downloader(folder).run(channel, start, until)
        authors_seen.update(summary.authors_seen)
        reporter.end(format_summary(summary, channel, folder, job.args.dry_run, reporter.by_kind))
        _say_gallery(job.args, folder)
        if summary.interrupted:
            print("Interrupted: finished pictures are kept; run again to fetch the rest.", file=sys.stderr)
            return ExitCode.INTERRUPTED
        worst = max(worst, ExitCode.SOME_FAILED if summary.has_errors else ExitCode.OK)
    unknown = unknown_authors(job.flags.message_filter, authors_seen.values())
    if unknown:
        raise UsageError(unknown_authors_message(unknown, authors_seen.values()))
    folders = [folder for _, folder in targets]
    return max(worst, _dedup(folders, job.args.dry_run, job.environment) if job.args.dedup else ExitCode.OK)


def _watch(job: _Job, watch_reporter: WatchReporter, targets: list[tuple[ChannelInfo, Path]]) -> int:
    """`--watch`: a first pass, then a poll every interval until Ctrl-C or SIGTERM."""
    start, _ = _window(job.flags)
    watched = [WatchTarget(channel, folder, job.downloader(folder)) for channel, folder in targets]
    after_poll = _dedup_after_poll(job.environment) if job.args.dedup else None
    return watch(
        watched,
        start,
        job.args.watch,
        watch_reporter,
        lambda: job.client.api_calls,
        verbose=job.args.verbose,
        tz=job.flags.tz,
        after_poll=after_poll,
    )


def _download_all(
    args: argparse.Namespace,
    client: DiscordClient,
    flags: FlagValues,
    target: tuple[list[ChannelInfo], Path],
    reporter: ProgressReporter,
    environment: Mapping[str, str],
) -> int:
    """Download each channel into its folder, once or (`--watch`) on and on; returns the exit code."""
    channels, output_dir = target
    targets = list(zip(channels, _folders(args, channels, output_dir)))
    try:
        if args.watch is not None:
            watch_reporter = WatchReporter(note_on_stderr)
            return _watch(_Job(args, flags, client, watch_reporter, environment), watch_reporter, targets)
        return _download_once(_Job(args, flags, client, reporter, environment), reporter, targets)
    finally:
        reporter.close()


def _dedup(folders: list[Path], dry_run: bool, environment: Mapping[str, str]) -> int:
    """`--dedup`: the same dedup into `<output>-clean` (its imaging libraries load only when asked)."""
    from picextract.dedup.run import dedup_after_download

    return dedup_after_download(folders, dry_run, environment)


def _dedup_after_poll(environment: Mapping[str, str]) -> Callable[[Path, list[str]], None]:
    """`--watch --dedup`: after a poll that saved pictures, the dedup brings the new ones that are no re-post
    into `<folder>-clean` (the whole folder the first time, then only the new pictures); its report stays quiet."""
    from picextract.dedup.run import DedupAfterPolls  # imported only with --dedup: it brings the imaging libraries

    return DedupAfterPolls(environment)


def _choices(flags: FlagValues) -> str:
    """The filters and name template of the run, as a line for its header ('' when neither is set)."""
    shown = flags.message_filter.describe()
    text = f"; only pictures {shown}" if shown else ""
    text += "" if flags.name_template.is_default else f"; names {flags.name_template.text}"
    return f"\nChoices:  {text.removeprefix('; ')}" if text else ""


def _window(flags: FlagValues) -> tuple[datetime, datetime | None]:
    try:
        return window(flags.days, flags.since, flags.until, datetime.now(timezone.utc))
    except ValueError as problem:
        raise UsageError(str(problem)) from None


def rebuild_gallery(folder: Path) -> int:
    """`--gallery DIR`: write DIR/index.html from the folder alone."""
    from picextract.gallery.page import build_gallery  # imported when used: it brings numpy (0.1 s at every start)

    if not folder.is_dir():
        raise UsageError(f"--gallery: {folder} is not a folder")
    print(f"Gallery: {build_gallery(folder).page}")
    return ExitCode.OK


def _say_gallery(args: argparse.Namespace, folder: Path) -> None:
    """Where the gallery is (the run keeps it up to date as it saves), unless --no-gallery or --dry-run."""
    if args.dry_run or args.no_gallery:
        return
    from picextract.gallery.page import GALLERY_FILE_NAME  # the run has imported it already

    if (folder / GALLERY_FILE_NAME).is_file():
        print(f"Gallery: {folder / GALLERY_FILE_NAME}")


def run(argv: list[str] | None = None) -> int:
    """Parse, ask (checking each answer at once), download, summarise; returns the exit code."""
    args = build_parser(settings_for_help(find_env_file(None, Path.cwd(), PROGRAM_DIR))).parse_args(argv)
    if args.gallery is not None:
        return rebuild_gallery(Path(args.gallery).expanduser())
    env_file = find_env_file(Path(args.env_file).expanduser() if args.env_file else None, Path.cwd(), PROGRAM_DIR)
    environment = read_environment(env_file)
    if args.demo:
        environment, env_file = _start_demo(args), None
    settings = _load_settings(environment, env_file)
    flags = check_flags(args, settings)
    check_watch_flags(args.watch, flags.until, args.dry_run)
    prompter = Prompter(interactive=sys.stdin.isatty() and not args.no_input)
    reporter = ProgressReporter(show_bar=sys.stdout.isatty() and sys.stderr.isatty())
    authorization, source = _token(environment, env_file, settings, prompter)
    if args.workers is None:
        flags = replace(flags, workers=default_workers(settings, authorization.startswith("Bot ")))
    client = DiscordClient(authorization, settings, pool_size=flags.workers + 2, announce=reporter.note)
    try:
        resolver = ChannelResolver(client, reporter)
        if args.list:
            print(format_reachable(resolver.reachable(args.guild)))
            return ExitCode.OK
        channels = _channels(args, resolver, prompter)
        flags = replace(flags, days=_ask_days(args, settings, prompter, flags.days))
        output_dir = _output(args, settings, prompter)
        if prompter.interactive or "{guild}" in f"{output_dir}{flags.name_template.text}":
            channels = resolver.name_guilds(channels)
        return _download_all(args, client, flags, (channels, output_dir), reporter, environment)
    except AuthError as refused:
        raise AuthError(refused_token_message(source) + at_risk_suffix(refused)) from None
    finally:
        client.close()


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (cron, systemd, `kill`) stops the run the way Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """The error boundary: our errors become one line on stderr and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="debug: %(message)s")
        logging.getLogger("urllib3").setLevel(logging.INFO)  # its request lines would show signed URLs
    signal.signal(signal.SIGTERM, _terminate)
    return error_boundary(lambda: run(argv), debug, interrupted="Cancelled.")


if __name__ == "__main__":
    sys.exit(main())
