"""DiscordPicExtract: save every picture a Discord channel posted in a time window."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from picextract.cli.answers import authorization_from_env, parse_days, token_variable, window
from picextract.cli.flags import build_parser
from picextract.cli.listing import format_reachable
from picextract.cli.options import Choices, read_choices
from picextract.cli.progress import ProgressReporter, format_header, format_summary
from picextract.cli.prompts import Prompter
from picextract.cli.questions import ChannelQuestion, ask_output, ask_token, check_token, refused_token_message
from picextract.config import (
    ConfigError,
    Settings,
    env_file_places,
    find_env_file,
    load_settings,
    read_environment,
    settings_for_help,
    source_of,
)
from picextract.discord.channel_spec import ChannelSpec
from picextract.discord.channels import ChannelInfo, ChannelResolver
from picextract.discord.client import DiscordClient
from picextract.discord.errors import AuthError
from picextract.discord.pace import at_risk_suffix, default_workers
from picextract.download.downloader import DiscordDownloader
from picextract.download.options import RunOptions
from picextract.download.results import Reporter
from picextract.errors import ExitCode, UsageError, error_boundary
from picextract.pictures.filters import Author, unknown_authors, unknown_authors_message
from picextract.store.layout import OutputLayout
from picextract.watch.loop import WatchReporter, WatchTarget
from picextract.watch.session import note_on_stderr, watch

if TYPE_CHECKING:  # only its type: the fake server loads with --demo
    from picextract.fake.server import FakeDiscord

DEMO_OUTPUT_DIR = "demo-output"


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
            looked = str(env_file) if env_file else " and ".join(str(place) for place in env_file_places(Path.cwd()))
            raise UsageError(f"no token: set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN (environment or .env; looked in {looked})")
        return ask_token(prompter, settings), "the prompt"
    source = source_of(variable, env_file)
    if prompter.interactive:
        check_token(settings, authorization, source)
    return authorization, source


def _channels(choices: Choices, resolver: ChannelResolver, prompter: Prompter) -> list[ChannelInfo]:
    """The channels to download, each resolved as soon as it is named (flag, prompt or --all-channels)."""
    question = ChannelQuestion(prompter, resolver, choices.guild)
    if choices.all_channels:
        return question.every_readable()
    if choices.channels:
        return question.resolve(choices.channels)
    if not prompter.interactive:
        raise UsageError("missing value: pass --channel (no terminal to ask on)")
    return question.ask()


def _ask_days(choices: Choices, settings: Settings, prompter: Prompter) -> Choices:
    """The choices with the days the prompt gives, when neither --days nor --since was given."""
    if choices.days is not None or choices.since is not None:
        return choices
    default = f"{settings.DEFAULT_DAYS:g}"
    days = prompter.ask(f"Enter number of days to look back (default: {default}): ", "--days", parse_days, default=default)
    return replace(choices, days=float(days))  # type: ignore[arg-type]


def _ask_output(choices: Choices, settings: Settings, prompter: Prompter) -> Choices:
    """The choices with the output folder the prompt gives (checked there), when --output was not given."""
    if choices.output is not None:
        return choices
    return replace(choices, output=ask_output(prompter, settings.DEFAULT_OUTPUT_DIR))


def _start_demo() -> tuple[FakeDiscord, dict[str, str]]:
    """Start the built-in fake Discord server; returns it and the environment that points at it."""
    from picextract.fake.sample import start_demo_server

    server, demo_env = start_demo_server()
    return server, {name: value for name, value in os.environ.items() if name != "DISCORD_BOT_TOKEN"} | demo_env


def _demo_choices(choices: Choices, demo_env: Mapping[str, str]) -> Choices:
    """`--demo`'s own choices: the demo channel, into demo-output/ unless --output says, never a prompt."""
    return replace(
        choices,
        channels=(ChannelSpec(channel_id=demo_env["DEMO_CHANNEL_ID"]),),
        all_channels=False,
        output=choices.output or Path(DEMO_OUTPUT_DIR),
        may_ask=False,
    )


def _feed_demo(server: FakeDiscord, demo_env: Mapping[str, str], choices: Choices) -> None:
    """Say where the demo runs; with --watch, post new pictures for the watch to find."""
    if choices.watch_seconds is not None:
        from picextract.fake.demo_feed import post_pictures_every

        post_pictures_every(server, demo_env["DEMO_CHANNEL_ID"], seconds=3.0)
    print(f"Demo: a fake Discord server runs at {demo_env['DISCORD_API_BASE']}; saving into {choices.output}/", file=sys.stderr)


@dataclass(frozen=True)
class _Job:
    """What every channel of this invocation shares: the choices, client, where the screen goes, the output's layout."""

    choices: Choices
    client: DiscordClient
    reporter: Reporter
    environment: Mapping[str, str]
    layout: OutputLayout

    def downloader(self, folder: Path) -> DiscordDownloader:
        return DiscordDownloader(self.client, folder, self.choices.download, self.reporter)


def _folders(layout: OutputLayout) -> list[Path]:
    """Each channel's folder, as the layout puts it; a file in the way is a usage error."""
    folders = layout.folders()
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"output {folder} exists and is not a folder")
    return folders


def _download_once(job: _Job, reporter: ProgressReporter, targets: list[tuple[ChannelInfo, Path]]) -> int:
    """One pass over the channels: header, bar, summary and gallery for each; returns the exit code."""
    choices = job.choices
    start, until = _window(choices)  # after the last prompt: the window ends now, not when the program started
    worst: int = ExitCode.OK
    authors_seen: dict[str, Author] = {}
    for channel, folder in targets:
        reporter.begin(format_header(channel, folder, start, until, choices.download.tz) + _choices_line(choices.download))
        summary = job.downloader(folder).run(channel, start, until)
        authors_seen.update(summary.authors_seen)
        reporter.end(format_summary(summary, channel, folder, choices.download.dry_run, reporter.by_kind))
        _say_gallery(choices.download, folder)
        if summary.interrupted:
            print("Interrupted: finished pictures are kept; run again to fetch the rest.", file=sys.stderr)
            return ExitCode.INTERRUPTED
        worst = max(worst, ExitCode.SOME_FAILED if summary.has_errors else ExitCode.OK)
    unknown = unknown_authors(choices.download.message_filter, authors_seen.values())
    if unknown:
        raise UsageError(unknown_authors_message(unknown, authors_seen.values()))
    if not choices.dedup:
        return worst
    pairs = job.layout.dedup_pairs(folder for _, folder in targets if folder.is_dir())
    return max(worst, _dedup(pairs, choices.download.dry_run, job.environment))


def _watch(job: _Job, watch_reporter: WatchReporter, targets: list[tuple[ChannelInfo, Path]]) -> int:
    """`--watch`: a first pass, then a poll every interval until Ctrl-C or SIGTERM."""
    choices = job.choices
    assert choices.watch_seconds is not None  # only --watch comes here
    start, _ = _window(choices)
    watched = [WatchTarget(channel, folder, job.downloader(folder)) for channel, folder in targets]
    after_poll = _dedup_after_poll(job.layout, job.environment) if choices.dedup else None
    return watch(
        watched,
        start,
        choices.watch_seconds,
        watch_reporter,
        lambda: job.client.api_calls,
        verbose=choices.verbose,
        tz=choices.download.tz,
        after_poll=after_poll,
    )


def _download_all(
    choices: Choices,
    client: DiscordClient,
    layout: OutputLayout,
    reporter: ProgressReporter,
    environment: Mapping[str, str],
) -> int:
    """Download each channel into its folder, once or (`--watch`) on and on; returns the exit code."""
    targets = list(zip(layout.channels, _folders(layout)))
    try:
        if choices.watch_seconds is not None:
            watch_reporter = WatchReporter(note_on_stderr)
            return _watch(_Job(choices, client, watch_reporter, environment, layout), watch_reporter, targets)
        return _download_once(_Job(choices, client, reporter, environment, layout), reporter, targets)
    finally:
        reporter.close()


def _dedup(pairs: list[tuple[Path, Path]], dry_run: bool, environment: Mapping[str, str]) -> int:
    """`--dedup`: the same dedup from each (source, clean folder) the layout names (its imaging libraries load only when asked)."""
    from picextract.dedup.run import dedup_after_download

    return dedup_after_download(pairs, dry_run, environment)


def _dedup_after_poll(layout: OutputLayout, environment: Mapping[str, str]) -> Callable[[Path, list[str]], None]:
    """`--watch --dedup`: after a poll that saved pictures, the dedup brings the new ones that are no re-post
    into the folder's clean folder, the same one a one-shot `--dedup` fills (the whole folder the first time,
    then only the new pictures); its report stays quiet."""
    from picextract.dedup.run import DedupAfterPolls  # imported only with --dedup: it brings the imaging libraries

    return DedupAfterPolls(layout.clean_folder, environment)


def _choices_line(options: RunOptions) -> str:
    """The filters and name template of the run, as a line for its header ('' when neither is set)."""
    shown = options.message_filter.describe()
    text = f"; only pictures {shown}" if shown else ""
    text += "" if options.name_template.is_default else f"; names {options.name_template.text}"
    return f"\nChoices:  {text.removeprefix('; ')}" if text else ""


def _window(choices: Choices) -> tuple[datetime, datetime | None]:
    try:
        return window(choices.days, choices.since, choices.until, datetime.now(timezone.utc))
    except ValueError as problem:
        raise UsageError(str(problem)) from None


def rebuild_gallery(folder: Path) -> int:
    """`--gallery DIR`: write DIR/index.html from the folder alone."""
    from picextract.gallery.page import build_gallery  # imported when used: it brings numpy (0.1 s at every start)

    if not folder.is_dir():
        raise UsageError(f"--gallery: {folder} is not a folder")
    print(f"Gallery: {build_gallery(folder).page}")
    return ExitCode.OK


def _say_gallery(options: RunOptions, folder: Path) -> None:
    """Where the gallery is (the run keeps it up to date as it saves), unless --no-gallery or --dry-run."""
    if options.dry_run or not options.gallery:
        return
    from picextract.store.layout import ChannelFolder

    if ChannelFolder(folder).gallery_page.is_file():
        print(f"Gallery: {ChannelFolder(folder).gallery_page}")


def run(argv: list[str] | None = None) -> int:
    """Parse, ask (checking each answer at once), download, summarise; returns the exit code."""
    args = build_parser(settings_for_help(find_env_file(None, env_file_places(Path.cwd())))).parse_args(argv)
    if args.gallery is not None:
        return rebuild_gallery(Path(args.gallery).expanduser())
    # --env-file and --demo say where the settings come from; every other flag is read once, into the choices.
    env_file = find_env_file(Path(args.env_file).expanduser() if args.env_file else None, env_file_places(Path.cwd()))
    environment = read_environment(env_file)
    server, demo_env = _start_demo() if args.demo else (None, None)
    if demo_env is not None:
        environment, env_file = demo_env, None
    settings = _load_settings(environment, env_file)
    choices = read_choices(args, settings)
    if server is not None and demo_env is not None:
        choices = _demo_choices(choices, demo_env)
        _feed_demo(server, demo_env, choices)
    return _run_choices(choices, settings, environment, env_file)


def _run_choices(choices: Choices, settings: Settings, environment: Mapping[str, str], env_file: Path | None) -> int:
    """The token, the channels and the questions still open, then the download; returns the exit code."""
    prompter = Prompter(interactive=sys.stdin.isatty() and choices.may_ask)
    reporter = ProgressReporter(show_bar=sys.stdout.isatty() and sys.stderr.isatty())
    authorization, source = _token(environment, env_file, settings, prompter)
    choices = choices.with_default_workers(default_workers(settings, authorization.startswith("Bot ")))
    client = DiscordClient(authorization, settings, pool_size=choices.download.workers + 2, announce=reporter.note)
    try:
        resolver = ChannelResolver(client, reporter)
        if choices.list_only:
            print(format_reachable(resolver.reachable(choices.guild)))
            return ExitCode.OK
        channels = _channels(choices, resolver, prompter)
        choices = _ask_output(_ask_days(choices, settings, prompter), settings, prompter)
        assert choices.output is not None  # given or just asked
        output = OutputLayout.parse(choices.output)
        if prompter.interactive or output.uses_guild or choices.download.name_template.uses("guild"):
            channels = resolver.name_guilds(channels)
        return _download_all(choices, client, output.for_channels(channels, choices.all_channels), reporter, environment)
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
