"""Every choice of one invocation in one frozen value: the flags read once, `.env`/environment defaults, then prompts."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path

from picextract.cli.answers import parse_days, parse_output_path, parse_when
from picextract.config import Settings
from picextract.discord.channel_spec import ChannelSpec, parse_channel_list
from picextract.download.options import RunOptions
from picextract.errors import UsageError
from picextract.pictures.filenames import resolve_timezone
from picextract.pictures.filters import parse_filter
from picextract.pictures.refs import DEFAULT_KINDS, parse_kinds
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, parse_template
from picextract.watch.session import check_watch_flags


@dataclass(frozen=True)
class Choices:
    """What this invocation does. A prompt's answer makes a new value (`dataclasses.replace`); none is changed in place."""

    download: RunOptions  # what every channel's downloader does, handed to it as it is
    channels: tuple[ChannelSpec, ...] = ()  # --channel, parsed once; () = ask (or --all-channels)
    guild: str | None = None
    all_channels: bool = False
    list_only: bool = False  # --list
    days: float | None = None  # None with no --since: asked
    since: datetime | None = None
    until: datetime | None = None
    output: Path | None = None  # None: asked
    workers_given: bool = False  # --workers; otherwise the token's kind decides
    dedup: bool = False
    watch_seconds: float | None = None  # --watch: seconds between polls
    verbose: bool = False
    may_ask: bool = True  # no --no-input (prompts need a terminal too)

    def with_default_workers(self, workers: int) -> Choices:
        """These choices with `workers` parallel downloads, unless --workers chose."""
        return self if self.workers_given else replace(self, download=replace(self.download, workers=workers))


def _kinds(include: str | None, only: str | None) -> frozenset[str]:
    if include and only:
        raise UsageError("give either --include or --only, not both")
    try:
        if include:
            return DEFAULT_KINDS | parse_kinds(include)
        return parse_kinds(only) if only else DEFAULT_KINDS
    except ValueError as problem:
        raise UsageError(f"--include/--only: {problem}") from None


def _window_flags(args: argparse.Namespace, tz: tzinfo | None) -> tuple[float | None, datetime | None, datetime | None]:
    if args.days is not None and args.since is not None:
        raise UsageError("give either --days or --since, not both")
    try:
        days = parse_days(args.days) if args.days is not None else None
    except ValueError as problem:
        raise UsageError(f"--days: {problem}") from None
    try:
        since = parse_when(args.since, tz) if args.since else None
        until = parse_when(args.until, tz, end_of_day=True) if args.until else None
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    return days, since, until


def _channel_specs(text: str | None, all_channels: bool) -> tuple[ChannelSpec, ...]:
    """--channel, parsed once into specs; an empty one is no channel (asked, or --all-channels)."""
    if text is None or not text.strip():
        return ()
    if all_channels:
        raise UsageError("give either --channel or --all-channels, not both")
    try:
        return tuple(parse_channel_list(text))
    except ValueError as problem:
        raise UsageError(f"--channel: {problem}") from None


def _output(text: str | None) -> Path | None:
    """--output: quotes dropped, `~` expanded; None when not given (asked)."""
    try:
        return parse_output_path(text) if text is not None else None
    except ValueError as problem:
        raise UsageError(f"--output: {problem}") from None


def _timezone(text: str | None, settings: Settings) -> tzinfo | None:
    try:
        return resolve_timezone(text or settings.TIMEZONE)
    except ValueError as problem:
        raise UsageError(f"--timezone: {problem}") from None


def _download_options(args: argparse.Namespace, settings: Settings, tz: tzinfo | None) -> RunOptions:
    """What every channel's downloader does: time zone, workers, kinds, threads, dry run, filters, names."""
    workers = args.workers if args.workers is not None else settings.MAX_WORKERS
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    kinds = _kinds(args.include, args.only)
    try:
        message_filter = parse_filter(args.author, args.from_who, args.contains)
        name_template = parse_template(args.name) if args.name is not None else DEFAULT_NAME_TEMPLATE
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    return RunOptions(tz, workers, kinds, not args.no_threads, args.dry_run, message_filter, name_template, not args.no_gallery)


def read_choices(args: argparse.Namespace, settings: Settings) -> Choices:
    """Every flag that needs no prompt and no network, read once and checked; UsageError names the flag."""
    tz = _timezone(args.timezone, settings)
    days, since, until = _window_flags(args, tz)
    download = _download_options(args, settings, tz)
    check_watch_flags(args.watch, until, args.dry_run)
    return Choices(
        download,
        channels=_channel_specs(args.channel, args.all_channels),
        guild=args.guild,
        all_channels=args.all_channels,
        list_only=args.list,
        days=days,
        since=since,
        until=until,
        output=_output(args.output),
        workers_given=args.workers is not None,
        dedup=args.dedup,
        watch_seconds=args.watch,
        verbose=args.verbose,
        may_ask=not args.no_input,
    )
