"""DiscordDownloader: resolve a channel, walk its messages, plan and save pictures."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol

from discord_client import Cancelled, DiscordClient, DownloadError, NotFoundError
from pictures import (
    PictureRef,
    build_filename,
    datetime_to_snowflake,
    extract_pictures,
    has_image_extension,
    picture_name,
    with_suffix,
)
from state import StateStore

PREFETCH_MESSAGES = 200  # two pages: the next request is under way while this page is planned
TEXT_CHANNEL_TYPES = {0: "text", 2: "voice", 5: "announcement", 10: "thread", 11: "thread", 12: "thread", 13: "stage"}


@dataclass(frozen=True)
class ChannelInfo:
    """The channel we download from."""

    id: str
    name: str
    guild_id: str | None = None
    guild_name: str | None = None

    @property
    def label(self) -> str:
        """`#name (server)` for messages to the user."""
        where = f" in {self.guild_name}" if self.guild_name else ""
        return f"#{self.name}{where}"


class AmbiguousChannelError(Exception):
    """A name matched several channels; the caller must choose."""

    def __init__(self, candidates: Sequence[ChannelInfo]) -> None:
        names = ", ".join(f"{c.label} (id {c.id})" for c in candidates)
        super().__init__(f"several channels match: {names}; pass the channel ID instead")
        self.candidates = list(candidates)


@dataclass(frozen=True)
class SaveResult:
    """What became of one picture."""

    ref: PictureRef
    filename: str
    status: str  # downloaded, skipped, failed
    size_bytes: int = 0
    error: str | None = None


@dataclass
class Summary:
    """Totals of one run."""

    messages_scanned: int = 0
    pictures_found: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_downloaded: int = 0
    elapsed_seconds: float = 0.0
    interrupted: bool = False
    failures: list[SaveResult] = field(default_factory=list)

    def add(self, result: SaveResult) -> None:
        """Count one finished picture."""
        if result.status == "downloaded":
            self.downloaded += 1
            self.bytes_downloaded += result.size_bytes
        elif result.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(result)


class Reporter(Protocol):
    """Progress callbacks; main.py decides how (or whether) to show them."""

    def message_scanned(self) -> None: ...

    def picture_found(self) -> None: ...

    def picture_done(self, result: SaveResult) -> None: ...


class NullReporter:
    """Shows nothing."""

    def message_scanned(self) -> None:
        pass

    def picture_found(self) -> None:
        pass

    def picture_done(self, result: SaveResult) -> None:
        pass


def _match_by_name(items: Sequence[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    """Exact name matches, else case-insensitive ones."""
    exact = [item for item in items if item.get("name") == wanted]
    if exact:
        return exact
    folded = wanted.casefold()
    return [item for item in items if str(item.get("name", "")).casefold() == folded]


def _name_list(names: Sequence[str]) -> str:
    shown = sorted(set(names), key=lambda name: (name.casefold(), name))
    text = ", ".join(shown[:40]) if shown else "none"
    return f"{text}, …" if len(shown) > 40 else text


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
    """Saves the pictures of one channel's time window into a folder."""

    def __init__(
        self,
        client: DiscordClient,
        output_dir: Path,
        tz: tzinfo | None,
        *,
        workers: int = 8,
        reporter: Reporter | None = None,
    ) -> None:
        self.client = client
        self.output_dir = output_dir
        self.tz = tz
        self.workers = max(1, workers)
        self.reporter: Reporter = reporter or NullReporter()
        self.cancel = threading.Event()
        self.summary = Summary()

    # --- channel resolution -------------------------------------------------------------

    def resolve_channel(
        self,
        channel: str,
        guild: str | None = None,
        choose: Callable[[list[ChannelInfo]], ChannelInfo] | None = None,
    ) -> ChannelInfo:
        """A numeric ID via `GET /channels/{id}`; a name via the guild list and its channels."""
        channel = channel.strip()
        if channel.isdigit():
            found = self.client.get_channel(channel)
            return ChannelInfo(id=str(found["id"]), name=str(found.get("name") or channel), guild_id=found.get("guild_id"))
        if not guild:
            raise NotFoundError(f"channel {channel!r} is a name: give its server too (--guild)")
        guilds = self.client.list_guilds()
        matched_guilds = _match_by_name(guilds, guild.strip())
        if not matched_guilds:
            raise NotFoundError(f"no server named {guild!r}; your servers: {_name_list([g.get('name', '') for g in guilds])}")
        wanted = channel.removeprefix("#").strip()
        candidates: list[ChannelInfo] = []
        seen_names: list[str] = []
        for found_guild in matched_guilds:
            channels = [c for c in self.client.list_guild_channels(str(found_guild["id"])) if c.get("type") in TEXT_CHANNEL_TYPES]
            seen_names.extend(str(c.get("name", "")) for c in channels)
            for match in _match_by_name(channels, wanted):
                candidates.append(
                    ChannelInfo(
                        id=str(match["id"]),
                        name=str(match.get("name")),
                        guild_id=str(found_guild["id"]),
                        guild_name=str(found_guild.get("name")),
                    )
                )
        if not candidates:
            raise NotFoundError(f"no channel named {channel!r} in {guild!r}; its channels: {_name_list(seen_names)}")
        if len(candidates) == 1:
            return candidates[0]
        if choose is None:
            raise AmbiguousChannelError(candidates)
        return choose(candidates)

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
                    state.record(ref.identity, name, size, ref.message_id, ref.channel_id)
                    return SaveResult(ref, name, "skipped", size)
                continue
            reserved[name.casefold()] = ref.identity
            return name
        return SaveResult(ref, base, "failed", error="no free file name")

    # --- saving (worker threads) ------------------------------------------------------------

    def _save(self, ref: PictureRef, filename: str) -> SaveResult:
        """Fetch one picture into `filename.part`, check it, move it into place."""
        part = self.output_dir / f"{filename}.part"
        urls = [ref.url] + ([ref.fallback_url] if ref.fallback_url and ref.fallback_url != ref.url else [])
        error: DownloadError | None = None
        for attempt, url in enumerate(urls):
            try:
                fetched = self.client.fetch_to_file(url, part, ref.expected_size if attempt == 0 else None, self.cancel)
                break
            except DownloadError as failure:
                error = failure
        else:
            return SaveResult(ref, filename, "failed", error=str(error))
        try:
            if not has_image_extension(filename):
                filename += fetched.extension
            target = self.output_dir / filename
            os.replace(part, target)
            posted = ref.posted_at.timestamp()
            os.utime(target, (posted, posted))
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return SaveResult(ref, filename, "downloaded", fetched.size_bytes)

    # --- the run --------------------------------------------------------------------------

    def _finish(self, result: SaveResult, state: StateStore, summary: Summary) -> None:
        if result.status == "downloaded":
            state.record(result.ref.identity, result.filename, result.size_bytes, result.ref.message_id, result.ref.channel_id)
        summary.add(result)
        self.reporter.picture_done(result)

    def _drain(self, pending: set[Future[SaveResult]], state: StateStore, summary: Summary, keep: int) -> None:
        """Wait until at most `keep` downloads are in flight, recording the finished ones."""
        while len(pending) > keep:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                try:
                    result = future.result()
                except Cancelled:
                    continue
                self._finish(result, state, summary)

    def remove_stale_parts(self) -> None:
        """Delete `.part` files a killed earlier run left behind."""
        for part in self.output_dir.glob("*.part"):
            part.unlink(missing_ok=True)

    def run(self, channel: ChannelInfo, since: datetime, until: datetime | None = None) -> Summary:
        """Save every picture posted in [since, until) in the channel; Ctrl-C stops cleanly."""
        started = time.monotonic()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.remove_stale_parts()
        summary = self.summary = Summary()
        state = StateStore(self.output_dir)
        reserved: dict[str, str] = {}
        pending: set[Future[SaveResult]] = set()
        executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="download")
        # The queue between paging and saving is bounded, so memory does not grow with the channel.
        max_pending = self.workers * 2
        after_snowflake = datetime_to_snowflake(since) - 1
        before_snowflake = datetime_to_snowflake(until) if until is not None else None
        try:
            messages = self.client.iter_messages(channel.id, after_snowflake, before_snowflake)
            for message in prefetched(messages, PREFETCH_MESSAGES, self.cancel):
                summary.messages_scanned += 1
                self.reporter.message_scanned()
                for ref in extract_pictures(message):
                    summary.pictures_found += 1
                    self.reporter.picture_found()
                    planned = self._plan(ref, state, reserved)
                    if isinstance(planned, SaveResult):
                        self._finish(planned, state, summary)
                        continue
                    pending.add(executor.submit(self._save, ref, planned))
                    self._drain(pending, state, summary, keep=max_pending - 1)
            self._drain(pending, state, summary, keep=0)
        except KeyboardInterrupt:
            summary.interrupted = True
            self.cancel.set()
            for future in pending:
                future.cancel()
            pending = {future for future in pending if not future.cancelled()}
            self._drain(pending, state, summary, keep=0)
        except Exception:
            # Paging failed: let the downloads in flight finish and be recorded, then report.
            self._drain(pending, state, summary, keep=0)
            raise
        finally:
            self.cancel.set()
            executor.shutdown(wait=True, cancel_futures=True)
            self.remove_stale_parts()
            state.close()
            summary.elapsed_seconds = time.monotonic() - started
        return summary
