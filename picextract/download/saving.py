"""Saving one picture: a worker fetches it (with a fresh link or the proxy copy when needed) into its
own `.part` file; the planner then moves it under its final name, never over another picture."""

from __future__ import annotations

import errno
import filecmp
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from picextract.discord.client import DiscordClient, DownloadError, FetchResult
from picextract.discord.errors import DiscordError
from picextract.discord.transfer import BodyLimits
from picextract.download.results import SaveResult, SaveStatus
from picextract.errors import StorageError
from picextract.pictures.refs import PictureRef
from picextract.pictures.urls import is_discord_host, signed_url_expired

EXTERNAL_KINDS = frozenset({"link", "embed", "thumbnail"})  # links to any web site: their answer may be a web page


@dataclass(frozen=True)
class Fetched:
    """A picture fetched into `part`, waiting for the planner to give it its final name."""

    ref: PictureRef
    planned: str  # the planned name; without a media extension the bytes' extension is added
    part: Path
    result: FetchResult
    refreshed: bool


def part_path(folder: Path, planned: str, identity: str) -> Path:
    """The `.part` file of one picture: unique per identity, so two pictures never share one."""
    return folder / f"{planned}.{hashlib.sha1(identity.encode()).hexdigest()[:8]}.part"


def is_external(ref: PictureRef) -> bool:
    """A link or embed to another web site, not a file on Discord's hosts."""
    return ref.kind.removeprefix("forward:") in EXTERNAL_KINDS and not is_discord_host(ref.url)


class PictureSaver:
    """Fetches pictures into one folder (from several worker threads); places them (from the planner)."""

    def __init__(
        self,
        client: DiscordClient,
        output_dir: Path,
        cancel: threading.Event,
        extract: Callable[[dict[str, Any]], list[PictureRef]],
    ) -> None:
        self.client = client
        self.output_dir = output_dir
        self.cancel = cancel
        self.extract = extract
        self.parts: set[Path] = set()  # every `.part` file of this run (set.add is atomic: workers add to it)

    def remove_stale_parts(self) -> None:
        """Delete `.part` files a killed earlier run left behind."""
        self._remove(self.output_dir.glob("*.part"))

    def remove_own_parts(self) -> None:
        """Delete the `.part` files of this run still there (a failed or abandoned download's)."""
        self._remove(list(self.parts))

    def _remove(self, parts: Iterable[Path]) -> None:
        try:
            for part in parts:
                part.unlink(missing_ok=True)
        except OSError as problem:
            raise StorageError(f"cannot clean up {self.output_dir.absolute()}: {problem.strerror or problem}") from None

    def fresh_url(self, ref: PictureRef) -> str | None:
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
        try:
            candidates = self.extract(message) if message else []
        except ValueError:
            return None
        for candidate in candidates:
            if candidate.identity == ref.identity and candidate.url != ref.url:
                return candidate.url
        return None

    def _fetch_url(self, url: str, part: Path, expected_size: int | None, ref: PictureRef, limits: BodyLimits) -> FetchResult:
        return self.client.fetch_to_file(
            url, part, expected_size, allow_video=ref.is_video, external=is_external(ref), limits=limits
        )

    def fetch(self, ref: PictureRef, part: Path) -> tuple[FetchResult, bool]:
        """Fetch with the fallbacks: a fresh URL when the signed link expired, then `proxy_url`.

        Every try shares the limits of the first: the announced size, one deadline, Ctrl-C.
        """
        limits = self.client.picture_limits(ref.expected_size, self.cancel)
        try:
            return self._fetch_url(ref.url, part, ref.expected_size, ref, limits), False
        except DownloadError as failure:
            error = failure
        if error.not_picture or limits.expired():
            raise error
        # Discord's own word ("no longer available") counts too: the local clock may be off.
        if error.status in (403, 404) and "ex=" in ref.url and (error.expired or signed_url_expired(ref.url, time.time())):
            with limits.paused():  # API calls, with the API's own limits
                fresh = self.fresh_url(ref)
            if fresh is not None:
                return self._fetch_url(fresh, part, ref.expected_size, ref, limits), True
        if ref.fallback_url and ref.fallback_url != ref.url and not signed_url_expired(ref.fallback_url, time.time()):
            # The proxy copy need not match the announced size byte for byte, but may not exceed it.
            return self._fetch_url(ref.fallback_url, part, None, ref, limits), False
        raise error

    def save(self, ref: PictureRef, planned: str) -> Fetched | SaveResult:
        """Worker side: fetch one picture into its `.part` file; a SaveResult when it failed."""
        part = part_path(self.output_dir, planned, ref.identity)
        self.parts.add(part)
        try:
            fetched, refreshed = self.fetch(ref, part)
        except DownloadError as failure:
            status = SaveStatus.NOT_PICTURE if failure.not_picture else SaveStatus.FAILED
            return SaveResult(ref, planned, status, error=str(failure), http_status=failure.status)
        return Fetched(ref, planned, part, fetched, refreshed)

    def place(self, fetched: Fetched, filename: str, replace_own: bool) -> bool:
        """Planner side: move the `.part` file to `filename`; False when another file is there
        (only a file of this same picture, `replace_own`, is ever replaced)."""
        target = self.output_dir / filename
        try:
            if replace_own:
                os.replace(fetched.part, target)
            elif not _link_without_replacing(fetched.part, target):
                return False
            posted = fetched.ref.posted_at.timestamp()
            os.utime(target, (posted, posted))
        except OSError as problem:
            fetched.part.unlink(missing_ok=True)
            raise StorageError(f"cannot save {target.absolute()}: {problem.strerror or problem}") from None
        return True

    def same_bytes(self, fetched: Fetched, filename: str) -> bool:
        """True when `filename` already holds exactly these bytes (saved by a run that was killed before recording it)."""
        target = self.output_dir / filename
        return target.is_file() and filecmp.cmp(fetched.part, target, shallow=False)

    def discard(self, fetched: Fetched) -> None:
        """Remove a `.part` file that will not be used."""
        fetched.part.unlink(missing_ok=True)


def _link_without_replacing(part: Path, target: Path) -> bool:
    """Move `part` to `target` only if `target` does not exist (a hard link cannot replace a file)."""
    try:
        os.link(part, target)
    except FileExistsError:
        return False
    except OSError as problem:
        if problem.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here (FAT, some network shares): check, then move.
        if target.exists():
            return False
        os.replace(part, target)
        return True
    part.unlink()
    return True
