"""A whole `--watch` session for main.py: check its flags, poll until stopped, print the summary."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from picextract.errors import ExitCode, UsageError
from picextract.watch.loop import Watcher, WatchReporter, WatchTarget, format_watch_summary
from picextract.watch.signals import sigterm_as_interrupt
from picextract.watch.timing import format_duration

DEFAULT_INTERVAL_SECONDS = 60.0


def parse_interval(text: str) -> float:
    """`--watch SECONDS`: a positive number of seconds (argparse type)."""
    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(f"--watch takes seconds between polls, not {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise UsageError("--watch: the seconds between polls must be more than 0")
    return seconds


def check_watch_flags(interval_seconds: float | None, until: datetime | None, dry_run: bool) -> None:
    """--watch runs open-ended and writes: no --until, no --dry-run."""
    if interval_seconds is None:
        return
    if until is not None:
        raise UsageError("--watch keeps going: leave out --until")
    if dry_run:
        raise UsageError("--watch saves what it finds: leave out --dry-run")


def note_on_stderr(text: str) -> None:
    """A note (skipped thread, failed picture) on stderr."""
    print(text, file=sys.stderr, flush=True)


def _line_on_stdout(text: str) -> None:
    print(text, flush=True)  # flushed: under nohup or systemd stdout is a file or a pipe


def watch(
    targets: Sequence[WatchTarget],
    since: datetime,
    interval_seconds: float,
    reporter: WatchReporter,
    api_requests: Callable[[], int],
    *,
    verbose: bool = False,
    tz: tzinfo | None = None,
    after_poll: Callable[[Path, list[str]], None] | None = None,
) -> int:
    """Poll the targets until Ctrl-C or SIGTERM (exit 0) or a refusal (its error propagates); prints the summary."""
    names = ", ".join(target.channel.label for target in targets)
    print(
        f"Watching {names} every {format_duration(interval_seconds)} since {since:%Y-%m-%d %H:%M} UTC; Ctrl-C or SIGTERM stops",
        file=sys.stderr,
        flush=True,
    )
    watcher = Watcher(
        targets,
        since,
        interval_seconds,
        reporter,
        out=_line_on_stdout,
        verbose=verbose,
        tz=tz,
        api_requests=api_requests,
        after_poll=after_poll,
    )
    try:
        with sigterm_as_interrupt():
            watcher.run()
    finally:
        print(format_watch_summary(watcher.totals, targets), flush=True)
    return ExitCode.OK
