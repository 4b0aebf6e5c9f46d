"""DiscordDownloader: walk a channel and its threads, save their pictures.

The downloader is long-lived (client, folder, the invocation's `RunOptions`, taken as they are); each `run()` gets a fresh
`picextract.download.run.DownloadRun` that holds the run's window, counters and cancel event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

from picextract.discord.channels import FORUM_TYPES, THREAD_PARENT_TYPES, ChannelInfo, ChannelResolver
from picextract.discord.client import ChannelStopped, DiscordClient
from picextract.discord.errors import AccessError, NotFoundError
from picextract.download.options import RunOptions
from picextract.download.results import NullReporter, Reporter, Summary
from picextract.download.run import DownloadRun
from picextract.download.workers import in_background


class DiscordDownloader:
    """Saves the pictures of a channel's time window, with its threads, into a folder."""

    def __init__(
        self, client: DiscordClient, output_dir: Path, options: RunOptions | None = None, reporter: Reporter | None = None
    ) -> None:
        self.client = client
        self.output_dir = output_dir
        self.options = options or RunOptions()
        self.reporter: Reporter = reporter or NullReporter()
        self.channels = ChannelResolver(client, self.reporter)
        self.threads_seen: dict[str, ChannelInfo] | None = None  # the last run's listing (a watch's earlier poll)

    def _threads(self, channel: ChannelInfo, threads_since: datetime, poll: bool) -> list[ChannelInfo]:
        """The threads to page. On a watch poll after a first listing, a bot lists the active threads only; a
        thread active at the last listing and no longer is (archived or deleted since) is paged once more."""
        known = self.threads_seen if poll else None
        threads = self.channels.thread_sources(channel, threads_since, archived=known is None)
        listed = {thread.id for thread in threads}
        left = [replace(thread, last_message_id=None) for thread in (known or {}).values() if thread.id not in listed]
        self.threads_seen = {thread.id: thread for thread in threads}
        return threads + left

    def _walk(
        self, run: DownloadRun, channel: ChannelInfo, since: datetime, until: datetime | None, threads_since: datetime
    ) -> None:
        """The channel's own messages, then each of its threads active since `threads_since`."""
        listing = None
        if self.options.threads and channel.type in THREAD_PARENT_TYPES:
            # Listed while the channel pages: a bot's listing requests then add no time of their own.
            listing = in_background(partial(self._threads, channel, threads_since, threads_since > since))
        if channel.type not in FORUM_TYPES:
            try:
                run.process_source(channel, since, until)
            except ChannelStopped as problem:
                self._stopped(run, channel, problem)
        if listing is None:
            return
        for thread in listing():
            try:
                run.process_source(thread, since, until)
                run.summary.threads_scanned += 1
            except (AccessError, NotFoundError) as problem:
                run.summary.threads_skipped += 1
                self.reporter.note(f"skipped thread {thread.label}: {problem}")
            except ChannelStopped as problem:
                self._stopped(run, thread, problem)

    def _stopped(self, run: DownloadRun, source: ChannelInfo, problem: ChannelStopped) -> None:
        """One source could not be read to its end: said so, counted, and the run goes on."""
        run.settle()
        run.summary.source_errors.append(f"{source.label}: {problem}")
        self.reporter.note(f"error: {source.label}: {problem}")

    def run(
        self, channel: ChannelInfo, since: datetime, until: datetime | None = None, threads_since: datetime | None = None
    ) -> Summary:
        """Save the pictures of [since, until) in the channel and its threads (active since `threads_since`); callable again."""
        try:
            run = DownloadRun(self.client, self.output_dir, self.options, self.reporter)
        except KeyboardInterrupt:  # a signal while the run opens the folder's files: nothing was started
            return Summary(interrupted=True)
        try:
            self._walk(run, channel, since, until, max(since, threads_since or since))
        except KeyboardInterrupt:
            run.interrupt()
        except Exception:
            # Paging failed: let the downloads in flight finish and be recorded, then report.
            run.settle()
            raise
        finally:
            run.close()
        return run.summary
