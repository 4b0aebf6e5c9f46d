"""The file name of each picture of a run: the `--name` template, the path limit, never another picture's name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from picextract.discord.channels import ChannelInfo
from picextract.download.options import RunOptions
from picextract.download.results import SaveResult, SaveStatus
from picextract.download.saving import Fetched, PictureSaver
from picextract.pictures.filenames import fit_name, max_name_chars, name_candidates, path_chars
from picextract.pictures.media import has_media_extension
from picextract.pictures.refs import PictureRef
from picextract.pictures.templates import render_name
from picextract.store.state import StateStore


class FileNames:
    """Chooses names on the main thread: a name is the state file's or reserved this run (case ignored) for one picture only."""

    def __init__(
        self,
        output_dir: Path,
        options: RunOptions,
        state: StateStore,
        saver: PictureSaver,
        sources: dict[str, ChannelInfo],
        record: Callable[[PictureRef, str, int], None],
    ) -> None:
        self.output_dir = output_dir
        self.options = options
        self.state = state
        self.saver = saver
        self.sources = sources  # the run's channels and threads by id, filled as they are paged
        self.record = record  # a file already there under its name is recorded as the run's own
        self.reserved: dict[str, str] = {}
        self.name_chars = max_name_chars(path_chars(str(output_dir.absolute())))  # full path under 250 characters

    def name_of(self, ref: PictureRef) -> str:
        """The picture's file name under the run's `--name` template."""
        source = self.sources.get(ref.channel_id)
        if source is None:
            return render_name(self.options.name_template, ref, self.options.tz, ref.channel_id)
        channel = f"{source.parent_name}-{source.name}" if source.parent_name else source.name
        return render_name(self.options.name_template, ref, self.options.tz, channel, source.guild_name or source.guild_id or "")

    def _recognise(self, ref: PictureRef, name: str) -> SaveResult | None:
        """A file already there under `name`: ours when its size fits (a folder saved before the state file)."""
        path = self.output_dir / name
        if not path.is_file():
            return None
        size = path.stat().st_size
        if not (size > 0 and ref.expected_size in (None, size)):
            return None
        if not self.options.dry_run:
            self.record(ref, name, size)
        return SaveResult(ref, name, SaveStatus.SKIPPED, size)

    def _candidates(self, ref: PictureRef, base: str) -> tuple[str, ...]:
        return name_candidates(base, ref, self.name_chars)

    def forget(self, name: str) -> None:
        """Drop a reservation once the state file holds the name (a long run keeps no map of every name)."""
        self.reserved.pop(name.casefold(), None)

    def _owner(self, name: str) -> str | None:
        return self.state.owner_of(name) or self.reserved.get(name.casefold())

    def plan(self, ref: PictureRef) -> SaveResult | str:
        """A SaveResult when nothing needs fetching, else the name to download for.

        A name without a media extension is not reserved yet: its extension comes from the bytes,
        and the final name is chosen (and reserved) when they are there (`place`).
        """
        if self.state.given_up(ref.identity):
            return SaveResult(ref, "", SaveStatus.GIVEN_UP)
        recorded = self.state.lookup(ref.identity)
        if recorded is not None:
            path = self.output_dir / recorded.filename
            if path.is_file() and path.stat().st_size == recorded.size_bytes:
                return SaveResult(ref, recorded.filename, SaveStatus.SKIPPED, recorded.size_bytes)
            self.reserved[recorded.filename.casefold()] = ref.identity
            return recorded.filename
        base = fit_name(self.name_of(ref), self.name_chars)
        if not has_media_extension(base):
            return base
        for name in self._candidates(ref, base):
            owner = self._owner(name)
            if owner == ref.identity:
                return name
            if owner is not None:
                continue
            if (self.output_dir / name).exists():
                recognised = self._recognise(ref, name)
                if recognised is not None:
                    return recognised
                continue
            self.reserved[name.casefold()] = ref.identity
            return name
        return SaveResult(ref, base, SaveStatus.FAILED, error="no free file name")

    def place(self, fetched: Fetched) -> SaveResult:
        """Move a fetched picture under its final name, extension included, never over another picture."""
        ref = fetched.ref
        base = fetched.planned if has_media_extension(fetched.planned) else fetched.planned + fetched.result.extension
        for name in self._candidates(ref, base) if base != fetched.planned else (base,):
            owner = self._owner(name)
            if owner is not None and owner != ref.identity:
                continue
            if owner is None and self.saver.same_bytes(fetched, name):
                self.saver.discard(fetched)  # a killed run saved it but did not record it
                return SaveResult(ref, name, SaveStatus.DOWNLOADED, fetched.result.size_bytes, refreshed=fetched.refreshed)
            self.reserved[name.casefold()] = ref.identity
            if self.saver.place(fetched, name, replace_own=owner == ref.identity and self.state.lookup(ref.identity) is not None):
                return SaveResult(ref, name, SaveStatus.DOWNLOADED, fetched.result.size_bytes, refreshed=fetched.refreshed)
            del self.reserved[name.casefold()]
        self.saver.discard(fetched)
        return SaveResult(ref, base, SaveStatus.FAILED, error=f"no free file name: {base} and its variants belong to other files")
