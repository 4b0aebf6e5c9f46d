"""One run of the downloader: everything that lives from the start of a run to its summary.

A `DownloadRun` owns the run's window, counters, cancel event, state file, index and worker pool;
`DiscordDownloader` (the long-lived part) makes a fresh one for every `run()`.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

from picextract.discord.channels import ChannelInfo
from picextract.discord.client import Cancelled, DiscordClient
from picextract.discord.errors import DiscordError
from picextract.download.paging import prefetched
from picextract.download.results import Reporter, SaveResult, Summary
from picextract.download.saving import PictureSaver
from picextract.pictures.filenames import fit_name, max_name_chars, path_chars, with_suffix
from picextract.pictures.filters import FilterGate, MessageFilter
from picextract.pictures.refs import PictureRef, datetime_to_snowflake, extract_pictures, normalize_url
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, NameTemplate, render_name
from picextract.store.state import IndexWriter, StateStore

PREFETCH_MESSAGES = 200  # two pages: the next request is under way while this page is planned
INTENT_SAMPLE = 100  # messages a bot must see empty before we call the intent missing
INTENT_HELP = (
    "this bot receives messages without content: it lacks the MESSAGE_CONTENT intent. Turn on "
    "'Message Content Intent' in the Discord Developer Portal (your application -> Bot -> "
    "Privileged Gateway Intents), then run again"
)


def resume_point(coverages: list[tuple[int, int] | None], after: int) -> tuple[int, tuple[int, int] | None]:
    """Where paging starts: the end of the recorded coverage that holds `after` and reaches furthest."""
    usable = [coverage for coverage in coverages if coverage is not None and coverage[0] <= after < coverage[1]]
    best = max(usable, key=lambda coverage: coverage[1], default=None)
    return (best[1] if best else after), best


class MissingIntentError(DiscordError):
    """A bot without the MESSAGE_CONTENT intent gets empty messages."""


def is_empty_message(message: dict[str, Any]) -> bool:
    """A normal message with nothing in it: how Discord sends them to bots without the intent."""
    fields = ("content", "attachments", "embeds", "components", "message_snapshots", "sticker_items", "poll")
    return message.get("type", 0) in (0, 19) and not any(message.get(name) for name in fields)


@dataclass(frozen=True)
class RunOptions:
    """What a downloader does on every run: set once, when it is made."""

    output_dir: Path
    tz: tzinfo | None
    workers: int
    kinds: frozenset[str]
    threads: bool
    dry_run: bool
    message_filter: MessageFilter = MessageFilter()
    name_template: NameTemplate = DEFAULT_NAME_TEMPLATE


class _NoIndex:
    """The index of a dry run: nothing is written."""

    def append(self, row: list[object]) -> None:
        pass

    def close(self) -> None:
        pass


class IntentCheck:
    """Notices a bot that only ever sees empty messages (https://support-dev.discord.com/hc/en-us/articles/4404772028055)."""

    def __init__(self, is_bot: bool) -> None:
        self.active = is_bot
        self.empty_seen = 0

    def see(self, message: dict[str, Any]) -> None:
        """Count one message; raise MissingIntentError after INTENT_SAMPLE empty ones and none with content."""
        if not self.active or message.get("type", 0) not in (0, 19):
            return
        if not is_empty_message(message):
            self.active = False
            return
        self.empty_seen += 1
        if self.empty_seen >= INTENT_SAMPLE:
            raise MissingIntentError(INTENT_HELP)

    def finish(self) -> None:
        """At the end of a source: only empty messages seen means the intent is missing."""
        if self.active and self.empty_seen:
            raise MissingIntentError(INTENT_HELP)


class DownloadRun:
    """The pictures of one window: plans names, hands downloads to workers, records results."""

    def __init__(self, client: DiscordClient, options: RunOptions, reporter: Reporter) -> None:
        self.client = client
        self.options = options
        self.reporter = reporter
        self.summary = Summary()
        self.cancel = threading.Event()
        self.started = time.monotonic()
        self.api_calls_at_start = client.api_calls
        self.intent = IntentCheck(client.is_bot)
        self.channel_names: dict[str, str] = {}
        self.sources: dict[str, ChannelInfo] = {}
        self.reserved: dict[str, str] = {}
        self.pending: set[Future[SaveResult]] = set()
        if not options.dry_run:
            options.output_dir.mkdir(parents=True, exist_ok=True)
            self.remove_stale_parts()
        self.state = StateStore(options.output_dir, read_only=options.dry_run)
        self.index: IndexWriter | _NoIndex = _NoIndex() if options.dry_run else IndexWriter(options.output_dir)
        self.gate = FilterGate(options.message_filter, self.state.authors())
        self.summary.filters_on = options.message_filter.active
        self.saver = PictureSaver(client, options.output_dir, self.cancel, self.extract)
        self.executor = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="download")

    def extract(self, message: dict[str, Any]) -> list[PictureRef]:
        """The pictures of a message, of the kinds this run saves."""
        settings = self.client.settings
        return extract_pictures(message, self.options.kinds, settings.CDN_BASE, settings.MEDIA_BASE)

    def remove_stale_parts(self) -> None:
        """Delete `.part` files a killed earlier run left behind."""
        for part in self.options.output_dir.glob("*.part"):
            part.unlink(missing_ok=True)

    # --- planning (main thread only) ------------------------------------------------------

    def admit(self, message: dict[str, Any], pictures: list[PictureRef] | None = None) -> list[PictureRef]:
        """The pictures of a message that pass the filters; those left out are counted."""
        pictures = self.extract(message) if pictures is None else pictures
        verdict = self.gate.see(message)
        if verdict is False:
            self.summary.left_out += len(pictures)
        return pictures if verdict else []

    def release_held(self) -> None:
        """Decide on the messages whose author matched only ignoring case, now the source's authors are known."""
        for message, keep in self.gate.release():
            pictures = self.extract(message)
            if not keep:
                self.summary.left_out += len(pictures)
                continue
            for ref in pictures:
                self.handle(ref)

    def name_of(self, ref: PictureRef) -> str:
        """The picture's file name under the run's `--name` template."""
        source = self.sources.get(ref.channel_id)
        if source is None:
            return render_name(self.options.name_template, ref, self.options.tz, ref.channel_id)
        channel = f"{source.parent_name}-{source.name}" if source.parent_name else source.name
        return render_name(self.options.name_template, ref, self.options.tz, channel, source.guild_name or source.guild_id or "")

    def _recognise(self, ref: PictureRef, name: str) -> SaveResult | None:
        """A file already there under `name`: ours when its size fits (a folder saved before the state file)."""
        path = self.options.output_dir / name
        size = path.stat().st_size
        if not (path.is_file() and size > 0 and ref.expected_size in (None, size)):
            return None
        if not self.options.dry_run:
            self.state.record(ref.identity, name, size, ref.message_id, ref.channel_id)
            self.index_row(ref, name)
        return SaveResult(ref, name, "skipped", size)

    def plan(self, ref: PictureRef) -> SaveResult | str:
        """A SaveResult when nothing needs fetching, else the file name to download into."""
        recorded = self.state.lookup(ref.identity)
        if recorded is not None:
            path = self.options.output_dir / recorded.filename
            if path.is_file() and path.stat().st_size == recorded.size_bytes:
                return SaveResult(ref, recorded.filename, "skipped", recorded.size_bytes)
            self.reserved[recorded.filename.casefold()] = ref.identity
            return recorded.filename
        fit = max_name_chars(path_chars(str(self.options.output_dir.absolute())))  # full path under 250 characters
        base = fit_name(self.name_of(ref), fit)
        for name in (base, with_suffix(base, ref.suffix_id, fit), with_suffix(base, f"{ref.suffix_id}_{ref.message_id}", fit)):
            owner = self.state.owner_of(name) or self.reserved.get(name.casefold())
            if owner == ref.identity:
                return name
            if owner is not None:
                continue
            if (self.options.output_dir / name).exists():
                recognised = self._recognise(ref, name)
                if recognised is not None:
                    return recognised
                continue
            self.reserved[name.casefold()] = ref.identity
            return name
        return SaveResult(ref, base, "failed", error="no free file name")

    # --- results ----------------------------------------------------------------------------

    def index_row(self, ref: PictureRef, filename: str) -> None:
        """Append one saved picture to index.csv."""
        self.index.append(
            [
                filename,
                ref.posted_at.astimezone(timezone.utc).isoformat(),
                ref.message_id,
                self.channel_names.get(ref.channel_id, ref.channel_id),
                ref.author,
                ref.text,
                normalize_url(ref.url),
                ref.width or "",
                ref.height or "",
            ]
        )

    def finish(self, result: SaveResult) -> None:
        """Record a finished picture in the state file, the index, the summary and the progress."""
        ref = result.ref
        if result.status == "downloaded":
            self.state.record(ref.identity, result.filename, result.size_bytes, ref.message_id, ref.channel_id)
            self.index_row(ref, result.filename)
        if result.status in ("downloaded", "skipped") and not self.options.dry_run:
            self.state.clear_failure(ref.identity)
        elif result.status == "failed":
            self.state.add_failure(ref.identity, ref.message_id, ref.channel_id)
        self.summary.add(result)
        self.reporter.picture_done(result)

    def drain(self, keep: int) -> None:
        """Wait until at most `keep` downloads are in flight, recording the finished ones."""
        while len(self.pending) > keep:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in done:
                self.pending.discard(future)
                try:
                    result = future.result()
                except Cancelled:
                    continue
                self.finish(result)

    def handle(self, ref: PictureRef) -> None:
        """Plan one picture; save it now, later (a worker), or never (already there)."""
        self.summary.pictures_found += 1
        self.reporter.picture_found()
        planned = self.plan(ref)
        if isinstance(planned, SaveResult):
            self.finish(planned)
        elif self.options.dry_run:
            self.finish(SaveResult(ref, planned, "planned", ref.expected_size or 0))
        else:
            self.pending.add(self.executor.submit(self.saver.save, ref, planned))
            # The queue between paging and saving is bounded, so memory does not grow with the channel.
            self.drain(keep=self.options.workers * 2 - 1)

    # --- sources ------------------------------------------------------------------------------

    def _retry_failures(self, source: ChannelInfo, after: int, before: int | None) -> None:
        """Try again the pictures that failed on an earlier run."""
        for identity, message_id in self.state.failures(source.id).items():
            if message_id <= after or (before is not None and message_id >= before):
                continue
            message = self.client.get_message(source.id, message_id)
            retried = [ref for ref in self.extract(message) if ref.identity == identity] if message else []
            if not retried and not self.options.dry_run:
                self.state.clear_failure(identity)  # the message or picture is gone
            for ref in self.admit(message, retried) if message and retried else []:
                self.handle(ref)

    def process_source(self, source: ChannelInfo, since: datetime, until: datetime | None) -> None:
        """Retry last run's failures, then page the source from where the last run stopped."""
        after = datetime_to_snowflake(since) - 1
        before = datetime_to_snowflake(until) if until is not None else None
        self.channel_names[source.id] = source.label
        self.sources[source.id] = source
        unfiltered_key = f"{source.id}|{','.join(sorted(self.options.kinds))}"
        filter_key = self.options.message_filter.key
        # Progress is kept per filter set, so a filter never hides pictures from a later run;
        # what an unfiltered run read, every filter has read too.
        key = f"{unfiltered_key}|{filter_key}" if filter_key else unfiltered_key
        start, coverage = resume_point([self.state.coverage(k) for k in {key, unfiltered_key}], after)
        self._retry_failures(source, after, before)
        last_id = start
        for message in prefetched(self.client.iter_messages(source.id, start, before), PREFETCH_MESSAGES, self.cancel):
            self.summary.messages_scanned += 1
            self.reporter.message_scanned()
            self.intent.see(message)
            for ref in self.admit(message):
                self.handle(ref)
            last_id = int(message["id"])
        self.release_held()
        self.drain(keep=0)
        self.intent.finish()
        self.summary.authors_seen.update(self.gate.authors)
        self.state.record_authors(list(self.gate.authors.values()))
        if not self.options.dry_run:
            self.state.set_coverage(key, coverage[0] if coverage else after, last_id)

    def interrupt(self) -> None:
        """Ctrl-C: stop paging and downloads; finished pictures are recorded, `.part` files go."""
        self.summary.interrupted = True
        self.cancel.set()
        for future in self.pending:
            future.cancel()
        self.pending = {future for future in self.pending if not future.cancelled()}
        self.drain(keep=0)

    def close(self) -> Summary:
        """End the run: stop the workers, remove `.part` files, close the files; returns the summary."""
        self.cancel.set()
        self.executor.shutdown(wait=True, cancel_futures=True)
        if not self.options.dry_run:
            self.remove_stale_parts()
        self.state.close()
        self.index.close()
        self.summary.elapsed_seconds = time.monotonic() - self.started
        self.summary.api_requests = self.client.api_calls - self.api_calls_at_start
        return self.summary
