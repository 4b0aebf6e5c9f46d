"""DiscordDownloader: resolve channels, walk a channel and its threads, save their pictures.

The downloader is long-lived (client, folder, options); each `run()` gets a fresh
`picextract.download.run.DownloadRun` that holds the run's window, counters and cancel event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import TypeVar

from picextract.discord.channels import FORUM_TYPES, THREAD_PARENT_TYPES, ChannelInfo, ChannelResolver
from picextract.discord.client import ChannelStopped, DiscordClient
from picextract.discord.errors import AccessError, NotFoundError
from picextract.download.options import RunOptions
from picextract.download.results import NullReporter, Reporter, Summary
from picextract.download.run import DownloadRun
from picextract.download.workers import in_background
from picextract.pictures.filters import MessageFilter
from picextract.pictures.refs import DEFAULT_KINDS
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, NameTemplate

Chooser = Callable[[list[ChannelInfo]], ChannelInfo]
T = TypeVar("T")


class DiscordDownloader:
    """Saves the pictures of a channel's time window, with its threads, into a folder."""

    def __init__(
        self,
        client: DiscordClient,
        output_dir: Path,
        tz: tzinfo | None,
        *,
        workers: int = 8,
        reporter: Reporter | None = None,
        kinds: frozenset[str] = DEFAULT_KINDS,
        threads: bool = True,
        dry_run: bool = False,
        message_filter: MessageFilter | None = None,
        name_template: NameTemplate = DEFAULT_NAME_TEMPLATE,
        gallery: bool = False,
    ) -> None:
        self.client = client
        self.options = RunOptions(
            output_dir, tz, max(1, workers), kinds, threads, dry_run, message_filter or MessageFilter(), name_template, gallery
        )
        self.reporter: Reporter = reporter or NullReporter()
        self.channels = ChannelResolver(client, self.reporter)

    def resolve_channels(
        self,
        spec: str,
        guild: str | None = None,
        all_channels: bool = False,
        choose: Chooser | None = None,
        need_guild_names: bool = False,
    ) -> list[ChannelInfo]:
        """A comma-separated list of IDs and names, or every readable channel of a guild."""
        return self.channels.resolve_channels(spec, guild, all_channels, choose, need_guild_names)

    def resolve_channel(self, channel: str, guild: str | None = None, choose: Chooser | None = None) -> ChannelInfo:
        """One channel by ID, or by name within its guild."""
        return self.channels.resolve_channel(channel, guild, choose)

    def _walk(
        self, run: DownloadRun, channel: ChannelInfo, since: datetime, until: datetime | None, threads_since: datetime
    ) -> None:
        """The channel's own messages, then each of its threads active since `threads_since`."""
        listing = None
        if self.options.threads and channel.type in THREAD_PARENT_TYPES:
            # Listed while the channel pages: a bot's listing requests then add no time of their own.
            listing = in_background(partial(self.channels.thread_sources, channel, threads_since))
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
            run = DownloadRun(self.client, self.options, self.reporter)
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
