"""One run of the downloader: everything that lives from the start of a run to its summary.

A `DownloadRun` owns the run's window, counters, cancel event, state file, index and worker pool;
`DiscordDownloader` (the long-lived part) makes a fresh one for every `run()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from picextract.discord.channels import ChannelInfo
from picextract.discord.client import Cancelled, DiscordClient
from picextract.download.intent import IntentCheck
from picextract.download.naming import FileNames
from picextract.download.options import RunOptions
from picextract.download.paging import channel_messages, prefetched
from picextract.download.recording import Recorder
from picextract.download.results import Reporter, SaveResult, SaveStatus, Summary
from picextract.download.saving import Fetched, PictureSaver, is_external
from picextract.download.workers import DaemonPool
from picextract.errors import StorageError
from picextract.pictures.filters import FilterGate
from picextract.pictures.refs import (
    PART_IDENTITY_PREFIX,
    MalformedMessage,
    MessagePictures,
    PictureRef,
    UnreadablePart,
    datetime_to_snowflake,
    message_id_of,
    read_message,
)
from picextract.store.lock import FolderLock
from picextract.store.state import DEAD_AFTER_RUNS, StateStore

log = logging.getLogger("picextract")
PARTS_CLEAN = "parts_clean"  # meta: the last run ended with no `.part` file of its own left (else they are looked for)
INTERRUPT_GRACE_SECONDS = 1.0  # Ctrl-C: how long pictures in flight may take to finish before they are dropped
PREFETCH_MESSAGES = 200  # two pages: the next request is under way while this page is planned


def resume_point(coverages: list[tuple[int, int] | None], after: int) -> tuple[int, tuple[int, int] | None]:
    """Where paging starts: the end of the recorded coverage that holds `after` and reaches furthest."""
    usable = [coverage for coverage in coverages if coverage is not None and coverage[0] <= after < coverage[1]]
    best = max(usable, key=lambda coverage: coverage[1], default=None)
    return (best[1] if best else after), best


class DownloadRun:
    """The pictures of one window: plans names, hands downloads to workers, records results."""

    def __init__(self, client: DiscordClient, output_dir: Path, options: RunOptions, reporter: Reporter) -> None:
        self.client = client
        self.output_dir = output_dir
        self.options = options
        self.reporter = reporter
        self.summary = Summary()
        self.cancel = threading.Event()
        self.saver = PictureSaver(client, output_dir, self.cancel, self.extract)
        self.started = time.monotonic()
        self.api_calls_at_start = client.api_calls
        self.intent = IntentCheck(client.is_bot)
        self.sources: dict[str, ChannelInfo] = {}
        self.handled: set[str] = set()  # identities seen this run: a retried failure is not paged twice
        self.pending: set[Future[Fetched | SaveResult]] = set()
        self.abandoned = False  # downloads left running (an interrupt): their `.part` files may appear later
        self.lock = FolderLock(output_dir)
        if not options.dry_run:
            try:
                output_dir.mkdir(parents=True, exist_ok=True)
            except OSError as problem:
                raise StorageError(f"cannot make the folder {output_dir.absolute()}: {problem.strerror or problem}") from None
            # Taken before anything is touched: a second run must not remove the first one's `.part` files.
            self.lock.acquire()
        try:
            self.state = StateStore(output_dir, read_only=options.dry_run)
            if not options.dry_run and self.state.meta(PARTS_CLEAN) is not True:
                self.saver.remove_stale_parts()  # a killed run's (listing a big folder: only after a kill)
            if not options.dry_run:
                self.state.set_meta(PARTS_CLEAN, False)
            self.recorder = Recorder(output_dir, options, self.state)
            self.gate = FilterGate(options.message_filter, self.state.authors())
            self.names = FileNames(output_dir, options, self.state, self.saver, self.sources, self.record)
        except BaseException:
            self.lock.release()
            raise
        self.summary.filters_on = options.message_filter.active
        self.workers = DaemonPool(options.workers, "download")

    def read(self, message: dict[str, Any]) -> MessagePictures:
        """The pictures of a message, of the kinds this run saves, and its parts that could not be read."""
        settings = self.client.settings
        return read_message(message, self.options.kinds, settings.CDN_BASE, settings.MEDIA_BASE)

    def extract(self, message: dict[str, Any]) -> list[PictureRef]:
        """The pictures of a message, of the kinds this run saves."""
        return self.read(message).pictures

    # --- planning (main thread only) ------------------------------------------------------

    def admit(self, message: dict[str, Any], reading: MessagePictures, source_id: str) -> list[PictureRef]:
        """The pictures of a message that pass the filters; those left out are counted. Its parts that
        could not be read count only when the filters keep it: only then might they hold a wanted picture."""
        verdict = self.gate.see(message)
        if verdict is False:
            self.summary.left_out += len(reading.pictures)
        for part in reading.unreadable if verdict else []:
            self._unreadable(part, source_id)
        return reading.pictures if verdict else []

    def release_held(self, source_id: str) -> None:
        """Decide on the messages whose author matched only ignoring case, now the source's authors are known."""
        for message, keep in self.gate.release():
            reading = self.read(message)
            if not keep:
                self.summary.left_out += len(reading.pictures)
                continue
            for part in reading.unreadable:
                self._unreadable(part, source_id)
            for ref in reading.pictures:
                self.handle(ref)

    # --- results ----------------------------------------------------------------------------

    def record(self, ref: PictureRef, filename: str, size_bytes: int) -> None:
        """A picture is on disk: into the state file and index.csv, and on its way into the gallery."""
        self.recorder.record(ref, filename, size_bytes, self.sources.get(ref.channel_id))

    def finish(self, outcome: Fetched | SaveResult) -> None:
        """Record a finished picture in the state file, the index, the summary and the progress."""
        result = self.names.place(outcome) if isinstance(outcome, Fetched) else outcome
        ref = result.ref
        if result.status is SaveStatus.DOWNLOADED:
            self.record(ref, result.filename, result.size_bytes)
            self.names.forget(result.filename)  # the state file holds the name now
        if self.options.dry_run:
            pass
        elif result.status in (SaveStatus.DOWNLOADED, SaveStatus.SKIPPED):
            self.state.clear_failure(ref.identity)
        elif result.status is SaveStatus.NOT_PICTURE:
            self.state.give_up(ref.identity, "not_picture", result.error or "")
        elif result.status is SaveStatus.FAILED:
            result = self._failed(result)
        self.summary.add(result)
        self.reporter.picture_done(result)
        self.recorder.collect()

    def _failed(self, result: SaveResult) -> SaveResult:
        """Count a failure; a link dead (404/410) on DEAD_AFTER_RUNS runs is given up, and said so once."""
        ref = result.ref
        failed_runs = self.state.add_failure(ref.identity, ref.message_id, ref.channel_id)
        if is_external(ref) and result.http_status in (404, 410) and failed_runs >= DEAD_AFTER_RUNS:
            self.state.give_up(ref.identity, "dead", result.error or "")
            return replace(result, error=f"{result.error}; dead on {failed_runs} runs: not tried again")
        return result

    def drain(self, keep: int, timeout: float | None = None) -> None:
        """Wait until at most `keep` downloads are in flight, recording the finished ones;
        with `timeout`, give up waiting after that many seconds (the rest are abandoned)."""
        give_up_at = None if timeout is None else time.monotonic() + timeout
        while len(self.pending) > keep:
            left = None if give_up_at is None else give_up_at - time.monotonic()
            if left is not None and left <= 0:
                self.abandoned = True
                self.pending.clear()
                return
            done, _ = wait(self.pending, timeout=left, return_when=FIRST_COMPLETED)
            for future in done:
                self.pending.discard(future)
                if future.cancelled() or isinstance(future.exception(), Cancelled):
                    continue
                self.finish(future.result())

    def handle(self, ref: PictureRef) -> None:
        """Plan one picture; save it now, later (a worker), or never (already there)."""
        if ref.identity in self.handled:
            return
        self.handled.add(ref.identity)
        self.summary.pictures_found += 1
        self.reporter.picture_found()
        planned = self.names.plan(ref)
        if isinstance(planned, SaveResult):
            self.finish(planned)
        elif self.options.dry_run:
            self.finish(SaveResult(ref, planned, SaveStatus.PLANNED, ref.expected_size or 0))
        else:
            self.pending.add(self.workers.submit(partial(self.saver.save, ref, planned)))
            # The queue between paging and saving is bounded, so memory does not grow with the channel.
            self.drain(keep=self.options.workers * 2 - 1)

    # --- sources ------------------------------------------------------------------------------

    def pictures_of(self, message: Any) -> MessagePictures | None:
        """What one message holds; None (counted, detail in the debug log) when it has no usable id."""
        try:
            reading = self.read(message)
        except MalformedMessage as problem:
            self.summary.malformed += 1
            log.debug("skipped a malformed message: %s: %.300r", problem, message)
            return None
        self.intent.see(message)
        return reading

    def _unreadable(self, part: UnreadablePart, source_id: str) -> None:
        """Count a part that could not be read (once a run) and record it, so that later runs read its
        message again; unreadable on DEAD_AFTER_RUNS runs, it is given up, and said so once."""
        if part.identity in self.handled or self.state.given_up(part.identity):
            return
        self.handled.add(part.identity)
        log.debug("message %s: could not read %s: %s: %s", part.message_id, part.name, part.reason, part.excerpt)
        if not self.options.dry_run and self.state.add_failure(part.identity, part.message_id, source_id) >= DEAD_AFTER_RUNS:
            self.state.give_up(part.identity, "unreadable", part.reason)
            part = replace(part, given_up=True)
        self.summary.unreadable.append(part)

    def _retried(self, identity: str, reading: MessagePictures) -> MessagePictures:
        """What a failure of an earlier run stands for now: its picture, or the part (still unreadable), or the
        part's pictures (readable now: those not saved yet); nothing when it is gone."""
        if not identity.startswith(PART_IDENTITY_PREFIX):
            return MessagePictures([ref for ref in reading.pictures if ref.identity == identity], [])
        still = [part for part in reading.unreadable if part.identity == identity]
        return MessagePictures(
            [] if still else [ref for ref in reading.pictures if self.state.lookup(ref.identity) is None], still
        )

    def _retry_failures(self, source: ChannelInfo, after: int, before: int | None) -> None:
        """Try again the pictures that failed on an earlier run, and read again the parts that could not be read."""
        for identity, message_id in self.state.failures(source.id).items():
            if message_id <= after or (before is not None and message_id >= before) or identity in self.handled:
                continue
            message = self.client.get_message(source.id, message_id)
            reading = self.pictures_of(message) if message else None
            retried = self._retried(identity, reading) if reading else MessagePictures([], [])
            still = retried.unreadable if identity.startswith(PART_IDENTITY_PREFIX) else retried.pictures
            if not still and not self.options.dry_run:
                self.state.clear_failure(identity)  # the message or picture is gone, or the part is readable now
            for ref in self.admit(message, retried, source.id) if message and reading else []:
                self.handle(ref)

    def _messages(self, source: ChannelInfo, start: int, before: int | None) -> Iterator[dict[str, Any]]:
        """The source's messages after `start`; none asked for when its listing says nothing newer was posted
        (a quiet thread costs a watch poll no request)."""
        if source.last_message_id is not None and source.last_message_id <= start:
            return iter(())
        return prefetched(channel_messages(self.client, source.id, start, before, self.cancel), PREFETCH_MESSAGES, self.cancel)

    def process_source(self, source: ChannelInfo, since: datetime, until: datetime | None) -> None:
        """Retry last run's failures, then page the source from where the last run stopped."""
        after = datetime_to_snowflake(since) - 1
        before = datetime_to_snowflake(until) if until is not None else None
        self.sources[source.id] = source
        unfiltered_key = f"{source.id}|{','.join(sorted(self.options.kinds))}"
        filter_key = self.options.message_filter.key
        # Progress is kept per filter set, so a filter never hides pictures from a later run;
        # what an unfiltered run read, every filter has read too.
        key = f"{unfiltered_key}|{filter_key}" if filter_key else unfiltered_key
        start, coverage = resume_point([self.state.coverage(k) for k in {key, unfiltered_key}], after)
        self._retry_failures(source, after, before)
        last_id = start
        malformed_before, unreadable_before = self.summary.malformed, len(self.summary.unreadable)
        for message in self._messages(source, start, before):
            self.summary.messages_scanned += 1
            self.reporter.message_scanned()
            reading = self.pictures_of(message)
            if reading is None:
                continue
            for ref in self.admit(message, reading, source.id):
                self.handle(ref)
            last_id = max(last_id, message_id_of(message))
        self.release_held(source.id)
        self.drain(keep=0)
        self.intent.finish()
        self.summary.authors_seen.update(self.gate.authors)
        self.state.record_authors(list(self.gate.authors.values()))
        skipped = self.summary.malformed - malformed_before
        if skipped:
            self.reporter.note(f"skipped {skipped} malformed message(s) in {source.label} (details with --debug)")
        unreadable = len(self.summary.unreadable) - unreadable_before
        if unreadable:
            self.reporter.note(f"skipped {unreadable} unreadable message part(s) in {source.label} (details with --debug)")
        if not self.options.dry_run:
            self.state.set_coverage(key, coverage[0] if coverage else after, last_id)

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: stop paging and downloads; pictures finished within a moment are
        recorded, the rest are abandoned and their `.part` files removed."""
        self.summary.interrupted = True
        self.recorder.stop()
        self.stop(grace_seconds=INTERRUPT_GRACE_SECONDS)

    def stop(self, grace_seconds: float) -> None:
        """Stop everything in flight; record what finishes within `grace_seconds`."""
        self.cancel.set()
        for future in self.pending:
            future.cancel()
        self.pending = {future for future in self.pending if not future.cancelled()}
        try:
            self.drain(keep=0, timeout=grace_seconds)
        except StorageError:
            self.abandoned = True
            self.pending.clear()  # the disk refuses: what is saved stays, the error already on its way

    def settle(self) -> None:
        """After an error: let the downloads in flight finish and be recorded; a second error is
        dropped (the first one is being reported)."""
        try:
            self.drain(keep=0)
        except Exception:
            self.stop(grace_seconds=0)

    def close(self) -> Summary:
        """End the run: stop the workers, remove `.part` files, close the files; returns the summary."""
        self.cancel.set()
        # Never wait here: after a normal end the workers are idle; after an interrupt or an error
        # one may still sit on a silent socket, and it is a daemon that may be left behind.
        self.workers.shutdown(wait=False)
        try:
            if not self.options.dry_run:
                self.saver.remove_own_parts()
            try:
                self.recorder.close(self.summary.interrupted)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM while the last thumbnails are made: the next run repairs
                self.summary.interrupted = True
                self.recorder.stop()
            if not self.options.dry_run and not self.abandoned:
                self.state.set_meta(PARTS_CLEAN, True)
            self.state.close()
        finally:
            self.lock.release()
        self.summary.elapsed_seconds = time.monotonic() - self.started
        self.summary.api_requests = self.client.api_calls - self.api_calls_at_start
        return self.summary
