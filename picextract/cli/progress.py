"""What the user sees while and after a run: the progress bar and the summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from picextract.discord.channels import ChannelInfo
from picextract.download.results import SaveResult, Summary


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
        f"  API requests:      {summary.api_requests}",
        f"  Elapsed:           {summary.elapsed_seconds:.1f}s "
        f"({summary.downloaded / seconds:.1f} pictures/s, {megabytes / seconds:.2f} MB/s)",
        f"  Folder:            {output_dir}",
        "=" * 60,
    ]
    return "\n".join(lines)
