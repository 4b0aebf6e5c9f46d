"""DiscordDownloader: resolve channels, walk messages and threads, plan and save pictures."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

from picextract.discord.channels import (
    FORUM_TYPES,
    THREAD_PARENT_TYPES,
    AmbiguousChannelError,
    ChannelInfo,
    ChannelResolver,
    output_folder,
)
from picextract.discord.client import Cancelled, DiscordClient, DownloadError
from picextract.discord.errors import AccessError, DiscordError, NotFoundError
from picextract.download.results import NullReporter, Reporter, SaveResult, Summary
from picextract.pictures.filenames import build_filename, picture_name, with_suffix
from picextract.pictures.media import has_media_extension
from picextract.pictures.refs import (
    DEFAULT_KINDS,
    PictureRef,
    datetime_to_snowflake,
    extract_pictures,
    normalize_url,
    signed_url_expired,
)
from picextract.store.state import IndexWriter, StateStore

__all__ = ["AmbiguousChannelError", "ChannelInfo", "DiscordDownloader", "SaveResult", "Summary", "output_folder"]

PREFETCH_MESSAGES = 200  # two pages: the next request is under way while this page is planned
INTENT_SAMPLE = 100  # messages a bot must see empty before we call the intent missing
INTENT_HELP = (
    "this bot receives messages without content: it lacks the MESSAGE_CONTENT intent. Turn on "
    "'Message Content Intent' in the Discord Developer Portal (your application -> Bot -> "
    "Privileged Gateway Intents), then run again"
)


class MissingIntentError(DiscordError):
    """A bot without the MESSAGE_CONTENT intent gets empty messages."""


def is_empty_message(message: dict[str, Any]) -> bool:
    """A normal message with nothing in it: how Discord sends them to bots without the intent."""
    fields = ("content", "attachments", "embeds", "components", "message_snapshots", "sticker_items", "poll")
    return message.get("type", 0) in (0, 19) and not any(message.get(name) for name in fields)


_END = object()


def prefetched(items: Iterator[Any], depth: int, stop: threading.Event) -> Iterator[Any]:
    """Run `items` in a background thread, up to `depth` ahead, so the next page is fetched
    while this one is planned. Exceptions reach the consumer; `stop` ends the producer."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as error:  # handed to the consumer, raised there
            put(error)

    threading.Thread(target=produce, name="paging", daemon=True).start()
    while True:
        item = buffer.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


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
    ) -> None:
        self.client = client
        self.output_dir = output_dir
        self.tz = tz
        self.workers = max(1, workers)
        self.reporter: Reporter = reporter or NullReporter()
        self.kinds = kinds
        self.threads = threads
        self.dry_run = dry_run
        self.cancel = threading.Event()
        self.summary = Summary()
        self.channels = ChannelResolver(client, self.reporter)
        self._channel_names: dict[str, str] = {}
        self._intent_sample = 0
        self._content_seen = False

    # --- channels (see channels.py) ---------------------------------------------------------

    def resolve_channels(self, *args: Any, **kwargs: Any) -> list[ChannelInfo]:
        """See ChannelResolver.resolve_channels."""
        return self.channels.resolve_channels(*args, **kwargs)

    def resolve_channel(self, *args: Any, **kwargs: Any) -> ChannelInfo:
        """See ChannelResolver.resolve_channel."""
        return self.channels.resolve_channel(*args, **kwargs)

    # --- planning (main thread only) ------------------------------------------------------

    def _plan(self, ref: PictureRef, state: StateStore, reserved: dict[str, str]) -> SaveResult | str:
        """A SaveResult when nothing needs fetching, else the file name to download into."""
        recorded = state.lookup(ref.identity)
        if recorded is not None:
            path = self.output_dir / recorded.filename
            if path.is_file() and path.stat().st_size == recorded.size_bytes:
                return SaveResult(ref, recorded.filename, "skipped", recorded.size_bytes)
            reserved[recorded.filename.casefold()] = ref.identity
            return recorded.filename
        base = build_filename(ref.posted_at, picture_name(ref), self.tz)
        for name in (base, with_suffix(base, ref.suffix_id), with_suffix(base, f"{ref.suffix_id}_{ref.message_id}")):
            owner = state.owner_of(name) or reserved.get(name.casefold())
            if owner == ref.identity:
                return name
            if owner is not None:
                continue
            path = self.output_dir / name
            if path.exists():
                size = path.stat().st_size
                if path.is_file() and size > 0 and ref.expected_size in (None, size):
                    # A folder saved before the state file existed: recognised by name and size.
                    if not self.dry_run:
                        state.record(ref.identity, name, size, ref.message_id, ref.channel_id)
                        self._index_row(ref, name)
                    return SaveResult(ref, name, "skipped", size)
                continue
            reserved[name.casefold()] = ref.identity
            return name
        return SaveResult(ref, base, "failed", error="no free file name")

    # --- saving (worker threads) ------------------------------------------------------------

    def _extract(self, message: dict[str, Any]) -> list[PictureRef]:
        """The pictures of a message, of the kinds this run saves."""
        return extract_pictures(message, self.kinds, self.client.settings.CDN_BASE, self.client.settings.MEDIA_BASE)

    def _fresh_url(self, ref: PictureRef) -> str | None:
        """A new signed URL for an expired attachment link: refresh-urls, else re-fetch the message."""
        try:
            fresh = self.client.refresh_urls([ref.url]).get(ref.url)
            if fresh:
                return fresh
        except DiscordError:
            pass
        try:
            message = self.client.get_message(ref.channel_id, ref.message_id)
        except DiscordError:
            return None
        for candidate in self._extract(message) if message else []:
            if candidate.identity == ref.identity and candidate.url != ref.url:
                return candidate.url
        return None

    def _fetch(self, ref: PictureRef, part: Path) -> tuple[Any, bool]:
        """Fetch with the fallbacks: a fresh URL when the signed link expired, then `proxy_url`."""
        try:
            return self.client.fetch_to_file(ref.url, part, ref.expected_size, self.cancel, ref.is_video), False
        except DownloadError as failure:
            error = failure
        # Discord's own word ("no longer available") counts too: the local clock may be off.
        if error.status in (403, 404) and "ex=" in ref.url and (error.expired or signed_url_expired(ref.url, time.time())):
            fresh = self._fresh_url(ref)
            if fresh is not None:
                return self.client.fetch_to_file(fresh, part, ref.expected_size, self.cancel, ref.is_video), True
        if ref.fallback_url and ref.fallback_url != ref.url and not signed_url_expired(ref.fallback_url, time.time()):
            return self.client.fetch_to_file(ref.fallback_url, part, None, self.cancel, ref.is_video), False
        raise error

    def _save(self, ref: PictureRef, filename: str) -> SaveResult:
        """Fetch one picture into `filename.part`, check it, move it into place."""
        part = self.output_dir / f"{filename}.part"
        try:
            fetched, refreshed = self._fetch(ref, part)
        except DownloadError as failure:
            return SaveResult(ref, filename, "failed", error=str(failure))
        try:
            if not has_media_extension(filename):
                filename += fetched.extension
            target = self.output_dir / filename
            os.replace(part, target)
            posted = ref.posted_at.timestamp()
            os.utime(target, (posted, posted))
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return SaveResult(ref, filename, "downloaded", fetched.size_bytes, refreshed=refreshed)

    # --- the run --------------------------------------------------------------------------

    def _index_row(self, ref: PictureRef, filename: str) -> None:
        self._index.append(
            [
                filename,
                ref.posted_at.astimezone(timezone.utc).isoformat(),
                ref.message_id,
                self._channel_names.get(ref.channel_id, ref.channel_id),
                ref.author,
                ref.text,
                normalize_url(ref.url),
                ref.width or "",
                ref.height or "",
            ]
        )

    def _finish(self, result: SaveResult) -> None:
        state, ref = self._state, result.ref
        if result.status == "downloaded":
            state.record(ref.identity, result.filename, result.size_bytes, ref.message_id, ref.channel_id)
            self._index_row(ref, result.filename)
        if result.status in ("downloaded", "skipped") and not self.dry_run:
            state.clear_failure(ref.identity)
        elif result.status == "failed":
            state.add_failure(ref.identity, ref.message_id, ref.channel_id)
        self.summary.add(result)
        self.reporter.picture_done(result)

    def _drain(self, keep: int) -> None:
        """Wait until at most `keep` downloads are in flight, recording the finished ones."""
        while len(self._pending) > keep:
            done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
            for future in done:
                self._pending.discard(future)
                try:
                    result = future.result()
                except Cancelled:
                    continue
                self._finish(result)

    def _handle(self, ref: PictureRef) -> None:
        """Plan one picture; save it now, later (a worker), or never (already there)."""
        self.summary.pictures_found += 1
        self.reporter.picture_found()
        planned = self._plan(ref, self._state, self._reserved)
        if isinstance(planned, SaveResult):
            self._finish(planned)
        elif self.dry_run:
            self._finish(SaveResult(ref, planned, "planned", ref.expected_size or 0))
        else:
            self._pending.add(self._executor.submit(self._save, ref, planned))
            # The queue between paging and saving is bounded, so memory does not grow with the channel.
            self._drain(keep=self.workers * 2 - 1)

    def _check_intent(self, message: dict[str, Any] | None) -> None:
        """Raise MissingIntentError when a bot has seen only empty messages (discord-api.md §1)."""
        if not self.client.is_bot or self._content_seen:
            return
        if message is not None:
            if message.get("type", 0) not in (0, 19):
                return
            if not is_empty_message(message):
                self._content_seen = True
                return
            self._intent_sample += 1
            if self._intent_sample < INTENT_SAMPLE:
                return
        if self._intent_sample:
            raise MissingIntentError(INTENT_HELP)

    def _run_source(self, source: ChannelInfo, after: int, before: int | None) -> None:
        """Retry last run's failures, then page the source from where the last run stopped."""
        state = self._state
        self._channel_names[source.id] = source.label
        key = f"{source.id}|{','.join(sorted(self.kinds))}"
        coverage = state.coverage(key)
        start = coverage[1] if coverage and coverage[0] <= after < coverage[1] else after
        for identity, message_id in state.failures(source.id).items():
            if message_id <= after or (before is not None and message_id >= before):
                continue
            message = self.client.get_message(source.id, message_id)
            retried = [ref for ref in self._extract(message) if ref.identity == identity] if message else []
            if not retried and not self.dry_run:
                state.clear_failure(identity)  # the message or picture is gone
            for ref in retried:
                self._handle(ref)
        last_id = start
        messages = self.client.iter_messages(source.id, start, before)
        for message in prefetched(messages, PREFETCH_MESSAGES, self.cancel):
            self.summary.messages_scanned += 1
            self.reporter.message_scanned()
            self._check_intent(message)
            for ref in self._extract(message):
                self._handle(ref)
            last_id = int(message["id"])
        self._drain(keep=0)
        self._check_intent(None)
        if not self.dry_run:
            state.set_coverage(key, coverage[0] if start != after and coverage else after, last_id)

    def remove_stale_parts(self) -> None:
        """Delete `.part` files a killed earlier run left behind."""
        for part in self.output_dir.glob("*.part"):
            part.unlink(missing_ok=True)

    def run(self, channel: ChannelInfo, since: datetime, until: datetime | None = None) -> Summary:
        """Save every picture posted in [since, until) in the channel and its threads."""
        started = time.monotonic()
        if not self.dry_run:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            self.remove_stale_parts()
        summary = self.summary = Summary()
        self._state = StateStore(self.output_dir, read_only=self.dry_run)
        self._index = _NoIndex() if self.dry_run else IndexWriter(self.output_dir)
        self._reserved: dict[str, str] = {}
        self._pending: set[Future[SaveResult]] = set()
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="download")
        after = datetime_to_snowflake(since) - 1
        before = datetime_to_snowflake(until) if until is not None else None
        try:
            if channel.type not in FORUM_TYPES:
                self._run_source(channel, after, before)
            if self.threads and channel.type in THREAD_PARENT_TYPES:
                for thread in self.channels.thread_sources(channel, since):
                    try:
                        self._run_source(thread, after, before)
                        summary.threads_scanned += 1
                    except (AccessError, NotFoundError) as problem:
                        summary.threads_skipped += 1
                        self.reporter.note(f"skipped thread {thread.label}: {problem}")
        except KeyboardInterrupt:
            summary.interrupted = True
            self.cancel.set()
            for future in self._pending:
                future.cancel()
            self._pending = {future for future in self._pending if not future.cancelled()}
            self._drain(keep=0)
        except Exception:
            # Paging failed: let the downloads in flight finish and be recorded, then report.
            self._drain(keep=0)
            raise
        finally:
            self.cancel.set()
            self._executor.shutdown(wait=True, cancel_futures=True)
            if not self.dry_run:
                self.remove_stale_parts()
            self._state.close()
            self._index.close()
            summary.elapsed_seconds = time.monotonic() - started
        return summary


class _NoIndex:
    """The index of a dry run: nothing is written."""

    def append(self, row: list[object]) -> None:
        pass

    def close(self) -> None:
        pass
