"""The downloader's flags checked and turned into values, before any prompt or request."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime, tzinfo

from config import Settings
from picextract.cli.answers import parse_days, parse_when
from picextract.errors import UsageError
from picextract.pictures.filenames import resolve_timezone
from picextract.pictures.filters import MessageFilter, parse_filter
from picextract.pictures.refs import DEFAULT_KINDS, parse_kinds
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, NameTemplate, parse_template


@dataclass(frozen=True)
class FlagValues:
    """What the flags say about the run, checked; prompts fill in the rest."""

    tz: tzinfo | None
    days: float | None
    since: datetime | None
    until: datetime | None
    workers: int
    kinds: frozenset[str]
    message_filter: MessageFilter = MessageFilter()
    name_template: NameTemplate = DEFAULT_NAME_TEMPLATE


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


def check_flags(args: argparse.Namespace, settings: Settings) -> FlagValues:
    """Every flag that needs no prompt and no network, checked; UsageError names the flag."""
    try:
        tz = resolve_timezone(args.timezone or settings.TIMEZONE)
    except ValueError as problem:
        raise UsageError(f"--timezone: {problem}") from None
    days, since, until = _window_flags(args, tz)
    workers = args.workers if args.workers is not None else settings.MAX_WORKERS
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    kinds = _kinds(args.include, args.only)
    try:
        message_filter = parse_filter(args.author, args.from_who, args.contains)
        name_template = parse_template(args.name) if args.name is not None else DEFAULT_NAME_TEMPLATE
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    return FlagValues(tz, days, since, until, workers, kinds, message_filter, name_template)
