"""`--watch`: poll each channel (and its active threads) again and again, saving what is new.

Each poll is one `run()` of the channel's downloader: the state file makes it page only the
messages newer than the last one processed. Transient trouble (connection refused, timeouts, 5xx,
429) backs off and is said once; a refused token or a lost channel ends the watch with its error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Protocol

from picextract.discord.channels import ChannelInfo
from picextract.discord.errors import ApiError, RequestRejectedError
from picextract.download.results import SaveResult, SaveStatus, Summary
from picextract.watch.timing import backoff_seconds, format_duration, threads_since

NOTES_REMEMBERED = 1000  # distinct notes shown once each; forgotten beyond this so memory stays flat


class ChannelDownloader(Protocol):
    """What the watch needs of `DiscordDownloader`."""

    def run(
        self, channel: ChannelInfo, since: datetime, until: datetime | None = None, threads_since: datetime | None = None
    ) -> Summary: ...


@dataclass(frozen=True)
class WatchTarget:
    """One watched channel: where its pictures go and the downloader that saves them."""

    channel: ChannelInfo
    folder: Path
    downloader: ChannelDownloader


@dataclass
class WatchTotals:
    """What the whole watch did (counters only: nothing grows with the number of polls)."""

    polls: int = 0
    pictures_saved: int = 0
    bytes_saved: int = 0
    messages_scanned: int = 0
    api_requests: int = 0
    outages: int = 0
    outage_seconds: float = 0.0
    elapsed_seconds: float = 0.0
    failing: dict[str, int] = field(default_factory=dict)  # channel id -> pictures failing after its last poll

    def add(self, channel_id: str, summary: Summary) -> None:
        """Count one channel's poll."""
        self.pictures_saved += summary.downloaded
        self.bytes_saved += summary.bytes_downloaded
        self.messages_scanned += summary.messages_scanned
        self.failing[channel_id] = summary.failed


class WatchReporter:
    """The downloader's reporter during a watch: no bar, each note once, the poll's new files collected."""

    def __init__(self, note: Callable[[str], None]) -> None:
        self._note = note
        self._seen: set[str] = set()
        self.saved: list[str] = []

    def message_scanned(self) -> None:
        pass

    def picture_found(self) -> None:
        pass

    def picture_done(self, result: SaveResult) -> None:
        if result.status is SaveStatus.DOWNLOADED:
            self.saved.append(result.filename)
        elif result.status is SaveStatus.FAILED:
            self.note(f"failed: {result.filename}: {result.error} (tried again next poll)")

    def note(self, text: str) -> None:
        if text in self._seen:
            return
        if len(self._seen) >= NOTES_REMEMBERED:
            self._seen.clear()
        self._seen.add(text)
        self._note(text)

    def close(self) -> None:
        pass

    def take_saved(self) -> list[str]:
        """The files saved since the last call."""
        saved, self.saved = self.saved, []
        return saved


def is_transient(problem: BaseException) -> bool:
    """Trouble that passes: Discord unreachable, timeouts, 5xx and 429s beyond the client's retries."""
    return isinstance(problem, ApiError) and not isinstance(problem, RequestRejectedError)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Watcher:
    """Polls every target each interval until stopped (Ctrl-C, SIGTERM) or refused."""

    def __init__(
        self,
        targets: Sequence[WatchTarget],
        since: datetime,
        interval_seconds: float,
        reporter: WatchReporter,
        *,
        out: Callable[[str], None] = print,
        verbose: bool = False,
        tz: tzinfo | None = None,
        wait: Callable[[float], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        unit_random: Callable[[], float] = random.random,
        api_requests: Callable[[], int] = lambda: 0,
        after_poll: Callable[[Path, list[str]], None] | None = None,
    ) -> None:
        self.targets = list(targets)
        self.since = since
        self.interval_seconds = interval_seconds
        self.reporter = reporter
        self.out = out
        self.verbose = verbose
        self.tz = tz
        self._wait = wait or _sleep_then_go_on
        self._clock = clock
        self._now = now
        self._random = unit_random
        self._api_requests = api_requests
        self.after_poll = after_poll  # the --dedup hook: (folder, new file names) after a poll saved something
        self.totals = WatchTotals()
        self._last_good_poll: datetime | None = None
        self._requests_at_start = api_requests()
        self._failures = 0  # failed polls in a row
        self._outage_started = 0.0

    def _say(self, text: str) -> None:
        self.out(f"{self._now().astimezone(self.tz):%Y-%m-%d %H:%M:%S} {text}")

    def _poll_target(self, target: WatchTarget, look_for_threads: datetime) -> bool:
        """One channel's poll; True when it was interrupted."""
        summary = target.downloader.run(target.channel, self.since, None, threads_since=look_for_threads)
        self.totals.add(target.channel.id, summary)
        saved = self.reporter.take_saved()
        if summary.downloaded or summary.failed:
            failed = f", {summary.failed} failed" if summary.failed else ""
            self._say(f"{target.channel.label}: {summary.downloaded} new picture{'s' * (summary.downloaded != 1)} saved{failed}")
        elif self.verbose and not summary.interrupted:
            self._say(f"{target.channel.label}: nothing new ({summary.messages_scanned} messages)")
        if saved and self.after_poll is not None:
            self.after_poll(target.folder, saved)
        return summary.interrupted

    def poll(self) -> bool:
        """Every target once; True when interrupted. A transient error propagates to `run`."""
        started_at = self._now()
        look_for_threads = threads_since(self.since, self._last_good_poll, self.interval_seconds)
        self.totals.polls += 1
        for target in self.targets:
            if self._poll_target(target, look_for_threads):
                return True
        self._last_good_poll = started_at
        return False

    def run(self) -> WatchTotals:
        """Poll until stopped; fatal errors propagate (the totals stay readable in `self.totals`)."""
        started = self._clock()
        try:
            while True:
                poll_started = self._clock()
                try:
                    if self.poll():
                        return self.totals
                except Exception as problem:
                    if not is_transient(problem):
                        raise
                    delay = self._trouble(problem, poll_started)
                else:
                    self._back()
                    delay = max(0.0, self.interval_seconds - (self._clock() - poll_started))
                if self._wait(delay):
                    return self.totals
        except KeyboardInterrupt:
            return self.totals
        finally:
            if self._failures:
                self._end_outage(back=False)
            self.totals.elapsed_seconds = self._clock() - started
            self.totals.api_requests = self._api_requests() - self._requests_at_start

    def _trouble(self, problem: Exception, poll_started: float) -> float:
        """A failed poll: say so at the start of an outage; returns the back-off before the next try."""
        self._failures += 1
        if self._failures == 1:
            self._outage_started = poll_started
            self._say(f"trouble reaching Discord ({problem}); trying again with back-off")
        return backoff_seconds(self._failures, self.interval_seconds, self._random())

    def _back(self) -> None:
        """A poll went through: end the outage, if there was one."""
        if self._failures:
            self._end_outage(back=True)
        self._failures = 0

    def _end_outage(self, back: bool) -> None:
        seconds = self._clock() - self._outage_started
        self.totals.outages += 1
        self.totals.outage_seconds += seconds
        if back:
            self._say(f"Discord is back after {format_duration(seconds)}")


def _sleep_then_go_on(seconds: float) -> bool:
    """Wait between polls; Ctrl-C and SIGTERM interrupt it (KeyboardInterrupt)."""
    time.sleep(seconds)
    return False


def format_watch_summary(totals: WatchTotals, targets: Sequence[WatchTarget]) -> str:
    """The report of the whole watch."""
    failing = sum(totals.failing.values())
    folders = sorted({str(target.folder) for target in targets})
    lines = [
        "=" * 60,
        f"Watch summary: {len(targets)} channel{'s' * (len(targets) != 1)}, {totals.polls} polls in "
        f"{format_duration(totals.elapsed_seconds)}",
        f"  Pictures saved:    {totals.pictures_saved} ({totals.bytes_saved / 1_000_000:.1f} MB)",
        f"  Messages scanned:  {totals.messages_scanned}",
        f"  Still failing:     {failing}" + (" (tried again on the next run)" if failing else ""),
        f"  API requests:      {totals.api_requests}",
        f"  Outages:           {totals.outages}"
        + (f" ({format_duration(totals.outage_seconds)} in all)" if totals.outages else ""),
        f"  Folder:            {', '.join(folders)}",
        "=" * 60,
    ]
    return "\n".join(lines)
