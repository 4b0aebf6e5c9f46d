"""Saving one picture: fetch it (with a fresh link or the proxy copy when needed) into `.part`, then move it into place."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from picextract.discord.client import DiscordClient, DownloadError, FetchResult
from picextract.discord.errors import DiscordError
from picextract.download.results import SaveResult
from picextract.pictures.media import has_media_extension
from picextract.pictures.refs import PictureRef, signed_url_expired


class PictureSaver:
    """Fetches pictures into one folder; safe to call from several worker threads."""

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
        for candidate in self.extract(message) if message else []:
            if candidate.identity == ref.identity and candidate.url != ref.url:
                return candidate.url
        return None

    def _fetch_url(self, url: str, part: Path, expected_size: int | None, ref: PictureRef) -> FetchResult:
        return self.client.fetch_to_file(url, part, expected_size, self.cancel, ref.is_video)

    def fetch(self, ref: PictureRef, part: Path) -> tuple[FetchResult, bool]:
        """Fetch with the fallbacks: a fresh URL when the signed link expired, then `proxy_url`."""
        try:
            return self._fetch_url(ref.url, part, ref.expected_size, ref), False
        except DownloadError as failure:
            error = failure
        # Discord's own word ("no longer available") counts too: the local clock may be off.
        if error.status in (403, 404) and "ex=" in ref.url and (error.expired or signed_url_expired(ref.url, time.time())):
            fresh = self.fresh_url(ref)
            if fresh is not None:
                return self._fetch_url(fresh, part, ref.expected_size, ref), True
        if ref.fallback_url and ref.fallback_url != ref.url and not signed_url_expired(ref.fallback_url, time.time()):
            return self._fetch_url(ref.fallback_url, part, None, ref), False
        raise error

    def save(self, ref: PictureRef, filename: str) -> SaveResult:
        """Fetch one picture into `filename.part`, check it, move it into place."""
        part = self.output_dir / f"{filename}.part"
        try:
            fetched, refreshed = self.fetch(ref, part)
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
