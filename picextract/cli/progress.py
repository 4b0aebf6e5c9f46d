"""What the user sees while and after a run: one reporter owns the screen (header, bar, notes, summary)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from picextract.discord.channels import ChannelInfo
from picextract.download.results import SaveResult, SaveStatus, Summary
from picextract.store.state import DEAD_AFTER_RUNS

FIRST_FAILURES_SHOWN = 3


class ProgressReporter:
    """The one writer while a run is on: lines go above the bar, never glued to it.

    On a terminal a tqdm bar counts scanned messages (no percentage: the total is not known); it
    starts with `begin()` (after every prompt) and is closed by `end()` before the summary. Without
    a terminal there is no bar, only plain lines a log can keep.
    """

    def __init__(self, show_bar: bool) -> None:
        self.show_bar = show_bar
        self.bar: Any = None
        self.saved = 0
        self.already_there = 0
        self.by_kind: Counter[str] = Counter()

    def begin(self, header: str) -> None:
        """Print the run's header, then start the bar (its clock starts now)."""
        self.close()
        self.saved, self.already_there, self.by_kind = 0, 0, Counter()
        print(header, file=sys.stdout, flush=True)
        if self.show_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=None, unit=" msg", desc="Scanning", file=sys.stderr, dynamic_ncols=True, leave=False)

    def end(self, summary: str) -> None:
        """Close the bar, then print the summary on its own lines."""
        self.close()
        print(summary, file=sys.stdout, flush=True)

    def _refresh(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"saved {self.saved}, already there {self.already_there}", refresh=False)

    def message_scanned(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def picture_found(self) -> None:
        pass

    def picture_done(self, result: SaveResult) -> None:
        if result.status in (SaveStatus.DOWNLOADED, SaveStatus.PLANNED):
            self.saved += 1
            self.by_kind[result.ref.kind] += 1
        elif result.status is SaveStatus.SKIPPED:
            self.already_there += 1
        self._refresh()
        if result.status is SaveStatus.FAILED:
            self.note(f"failed: {result.filename}: {result.error}")
        elif result.status is SaveStatus.PLANNED:
            size = f", {result.size_bytes:,} bytes" if result.size_bytes else ""
            self._write(f"would save: {result.filename}  ({result.ref.kind}{size})", sys.stdout)

    def note(self, text: str) -> None:
        self._write(text, sys.stderr)

    def _write(self, line: str, stream: TextIO) -> None:
        if self.bar is not None:
            self.bar.write(line, file=stream)  # clears the bar, writes the line, redraws the bar below it
        else:
            print(line, file=stream, flush=True)

    def close(self) -> None:
        """Remove the bar from the screen (leave=False), so the next line starts clean."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def zone_label(tz: tzinfo | None, moment: datetime) -> str:
    """The name of the file-name clock: an IANA name, UTC, or `local time (CET)`."""
    if tz is None:
        return f"local time ({moment.astimezone().tzname()})"
    return str(getattr(tz, "key", None) or moment.astimezone(tz).tzname())


def format_header(channel: ChannelInfo, folder: Path, start: datetime, until: datetime | None, tz: tzinfo | None) -> str:
    """Where the pictures come from, the window in the file-name clock, and where they go."""
    end = (until or datetime.now(start.tzinfo)).astimezone(tz)
    guild = f"{channel.guild_name} (id {channel.guild_id})" if channel.guild_name else f"id {channel.guild_id or '-'}"
    return "\n".join(
        [
            f"Server:   {guild}",
            f"Channel:  #{channel.name} (id {channel.id})",
            f"Window:   {start.astimezone(tz):%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
            + (" (now)" if until is None else "")
            + f", {zone_label(tz, start)}",
            f"Folder:   {folder.absolute()}",
        ]
    )


def _headline(summary: Summary, channel: ChannelInfo, dry_run: bool) -> str:
    if summary.interrupted:
        state = "interrupted"
    elif dry_run:
        state = f"dry run, {summary.planned} to download"
    elif summary.downloaded == 0 and summary.failed == 0:
        state = "Folder up to date"
    else:
        state = f"{summary.downloaded} new picture{'s' if summary.downloaded != 1 else ''} saved"
    return f"{channel.label}: {state}"


def _unreadable_lines(summary: Summary) -> list[str]:
    """The parts of messages that could not be read: how many, and the first ones by message and place."""
    count = len(summary.unreadable)
    if not count:
        return []
    lines = [
        f"  Unreadable:        {count} message part{'s' if count != 1 else ''} skipped, the rest kept"
        " (read again next run; details with --debug)"
    ]
    for part in summary.unreadable[:FIRST_FAILURES_SHOWN]:
        given_up = f"; unreadable on {DEAD_AFTER_RUNS} runs: not read again" if part.given_up else ""
        lines.append(f"    message {part.message_id}: {part.name}{given_up}")
    if count > FIRST_FAILURES_SHOWN:
        lines.append(f"    … and {count - FIRST_FAILURES_SHOWN} more (--debug names them)")
    return lines


def format_summary(
    summary: Summary, channel: ChannelInfo, output_dir: Path, dry_run: bool = False, by_kind: Mapping[str, int] | None = None
) -> str:
    """The end-of-run report: saved, already there, failed (first reasons), by kind, time taken."""
    megabytes = summary.bytes_downloaded / 1_000_000
    seconds = max(summary.elapsed_seconds, 1e-9)
    lines = ["=" * 60, _headline(summary, channel, dry_run)]
    if summary.filters_on:
        lines.append(f"  Left out:          {summary.left_out} (by the filters)")
    if dry_run:
        lines.append(f"  Would download:    {summary.planned}")
    lines += [
        f"  Saved:             {summary.downloaded} ({megabytes:.1f} MB)",
        f"  Already there:     {summary.skipped}",
        f"  Failed:            {summary.failed}"
        + (f" (+ {len(summary.source_errors)} channel(s) stopped)" if summary.source_errors else ""),
    ]
    lines += [f"    {failure.filename}: {failure.error}" for failure in summary.failures[:FIRST_FAILURES_SHOWN]]
    if summary.failed > FIRST_FAILURES_SHOWN:
        lines.append(f"    … and {summary.failed - FIRST_FAILURES_SHOWN} more (listed above)")
    if by_kind:
        lines.append("  By kind:           " + ", ".join(f"{count} {kind}" for kind, count in sorted(by_kind.items())))
    skipped_threads = f", {summary.threads_skipped} skipped: no access" if summary.threads_skipped else ""
    lines.append(f"  Scanned:           {summary.messages_scanned} messages, {summary.threads_scanned} threads{skipped_threads}")
    lines.append(f"  API requests:      {summary.api_requests}")
    if summary.not_pictures:
        lines.append(f"  Not pictures:      {summary.not_pictures} (links to web pages; not fetched again)")
    if summary.malformed:
        lines.append(f"  Malformed:         {summary.malformed} messages skipped (details with --debug)")
    lines += _unreadable_lines(summary)
    if summary.refreshed:
        lines.append(f"  Refreshed links:   {summary.refreshed}")
    rate = f" ({summary.downloaded / seconds:.1f} pictures/s, {megabytes / seconds:.2f} MB/s)" if summary.downloaded else ""
    lines += [f"  Time taken:        {summary.elapsed_seconds:.1f} s{rate}", f"  Folder:            {output_dir}", "=" * 60]
    return "\n".join(lines)
