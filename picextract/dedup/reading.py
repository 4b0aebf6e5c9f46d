"""Reading what the rule needs, and nothing more: headers of all pictures, digests and pHashes of candidates.

Every picture's header is checked (cheap: no pixels are decoded), so an unreadable file is
reported even when it could not be a duplicate. Only files that share a bucket (date and size)
with another file are read in full; byte-identical files share one pHash computation. A content
that only ever shares its buckets with byte-identical copies of itself needs no pHash: it is
decoded in full (so a broken file is never removed) and its copies are duplicates by byte
identity, which the report states. Results are kept in the hash cache, so an unchanged file is
never read twice.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from picextract.dedup.cache import FileRecord, HashCache
from picextract.dedup.groups import BYTE_IDENTICAL_MARK, ImageFile, candidate_buckets
from picextract.dedup.hashing import (
    HashOutcome,
    Header,
    MemoryBudget,
    file_digest,
    hashing_bytes,
    picture_decodes,
    picture_phash,
    read_header,
    return_freed_pixels_to_system,
)
from picextract.dedup.scan import FoundFile, Problem, display_name
from picextract.pictures.filenames import parse_name_time

Progress = Callable[[int, int], object]  # (files done now, files to do in all so far)


@dataclass
class Reading:
    """Every picture as an ImageFile, the pHash of each candidate (None: cannot be hashed) and the problems."""

    images: list[ImageFile]
    hashes: dict[str, str | None]
    problems: list[Problem] = field(default_factory=list)


def _is_lasting(problem: str | None) -> bool:
    """Decoding problems stay while the file stays; a refused read (permissions) may not, so it is not cached."""
    return problem is None or not problem.startswith("cannot read")


class _Reader:
    def __init__(self, cache: HashCache, workers: int, progress: Progress | None) -> None:
        self.cache = cache
        self.workers = workers
        self.progress = progress
        self.records: dict[str, FileRecord] = {}
        self.dirty: dict[bytes, FileRecord] = {}
        self.keys: dict[str, bytes] = {}
        self.budget = MemoryBudget()
        self.paths: dict[str, str | Path] = {}
        self.new_contents: dict[str, HashOutcome] = {}

    def load(self, source: Path, found: list[FoundFile], whole_folder: bool) -> None:
        keys = [os.fsencode(file.path) for file in found]
        cached = self.cache.files_under(Path(os.path.realpath(source))) if whole_folder else self.cache.files_at(keys)
        for file, key in zip(found, keys):
            record = cached.get(key)
            if record is None or (record.size, record.mtime_ns) != (file.size, file.mtime_ns):
                record = FileRecord(file.size, file.mtime_ns)
            self.records[file.relative] = record
            self.keys[file.relative] = key

    def _touch(self, name: str) -> None:
        record = self.records[name]
        if _is_lasting(record.header_problem):
            self.dirty[self.keys[name]] = record

    def _step(self, files: int = 1) -> None:
        if self.progress is not None:
            self.progress(files, 0)

    def _expect(self, files: int) -> None:
        if self.progress is not None:
            self.progress(0, files)

    def headers(self, pool: ThreadPoolExecutor, found: list[FoundFile]) -> None:
        todo = [file for file in found if self.records[file.relative].header is None]
        todo = [file for file in todo if not self.records[file.relative].header_problem]
        self._expect(len(todo))
        for file, (header, problem) in zip(todo, pool.map(lambda file: read_header(file.path), todo)):
            record = self.records[file.relative]
            record.header, record.header_problem = header, problem
            self._touch(file.relative)
            self._step()

    def digests(self, pool: ThreadPoolExecutor, members: list[ImageFile]) -> dict[str, str]:
        self._expect(len(members))
        todo = [image for image in members if self.records[image.name].digest is None]

        def digest(image: ImageFile) -> str | OSError:
            try:
                return file_digest(image.path)
            except OSError as problem:
                return problem

        for image, outcome in zip(todo, pool.map(digest, todo)):
            record = self.records[image.name]
            if isinstance(outcome, OSError):
                record.header_problem = f"cannot read: {outcome.strerror}"
            else:
                record.digest = outcome
                self._touch(image.name)
        return {image.name: self.records[image.name].digest or "" for image in members if self.records[image.name].digest}

    def phashes(
        self, pool: ThreadPoolExecutor, digests: dict[str, str], headers: dict[str, Header], decode_only: set[str]
    ) -> dict[str, HashOutcome]:
        """The pHash of each content (one file per digest); contents in `decode_only` are only decoded."""
        cached = self.cache.contents(set(digests.values()))
        outcomes = {digest: outcome for digest, outcome in cached.items() if _answers(outcome, digest in decode_only)}
        self._step(sum(1 for digest in digests.values() if digest in outcomes))  # known contents are done at once
        jobs: dict[str, str] = {}  # digest -> the first file with those bytes
        for name, digest in digests.items():
            if digest not in outcomes:
                jobs.setdefault(digest, name)
        files_per_digest = Counter(digests.values())

        def work(item: tuple[str, str]) -> HashOutcome:
            digest, name = item
            with self.budget.reserve(hashing_bytes(headers[name])):
                return picture_decodes(self.paths[name]) if digest in decode_only else picture_phash(self.paths[name])

        for digest, outcome in zip(jobs, pool.map(work, jobs.items())):
            self.new_contents[digest] = outcome
            self._step(files_per_digest[digest])  # the bar counts files; one computation serves all copies
        return outcomes | self.new_contents


def _answers(outcome: HashOutcome, decode_only: bool) -> bool:
    """A cached outcome serves when it has a pHash or a problem, or when decoding is all that is asked."""
    return decode_only or outcome.phash is not None or outcome.problem is not None


def _byte_identical_only(buckets: list[list[ImageFile]], digests: dict[str, str]) -> set[str]:
    """Digests that only ever meet copies of themselves in a bucket: no pHash is needed to group them."""
    alone: set[str] = set()
    mixed: set[str] = set()
    for bucket in buckets:
        contents = {digests[image.name] for image in bucket if image.name in digests}
        (alone if len(contents) == 1 else mixed).update(contents)
    return alone - mixed


@contextmanager
def _pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that drops its queued work on Ctrl-C instead of finishing it."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def read_pictures(
    source: Path,
    found: list[FoundFile],
    cache: HashCache,
    workers: int,
    bucket_rule: tuple[float | None, bool],
    progress: Progress | None = None,
    whole_folder: bool = True,
) -> Reading:
    """Headers for all, pHashes for the candidates of `bucket_rule` (window seconds, exact); the cache is updated.
    `whole_folder` False: `found` is a few files of the folder, whose records are looked up one by one."""
    return_freed_pixels_to_system()
    reader = _Reader(cache, workers, progress)
    reader.load(source, found, whole_folder)
    reader.paths.update((file.relative, file.path) for file in found)
    with _pool(workers) as pool:
        reader.headers(pool, found)
        images = [ImageFile(file.relative, file.size, parse_name_time(file.relative), file.path) for file in found]
        readable = [image for image in images if reader.records[image.name].header is not None]
        buckets = candidate_buckets(readable, *bucket_rule)
        digests = reader.digests(pool, [image for bucket in buckets for image in bucket])
        headers = {name: header for name, record in reader.records.items() if (header := record.header) is not None}
        outcomes = reader.phashes(pool, digests, headers, _byte_identical_only(buckets, digests))
    hashes: dict[str, str | None] = {
        name: outcomes[digest].phash or f"{BYTE_IDENTICAL_MARK}{digest}" for name, digest in digests.items()
    }
    problems = []
    for image in images:
        reason = reader.records[image.name].header_problem or (
            outcomes[digests[image.name]].problem if image.name in digests else None
        )
        if reason is not None:
            hashes[image.name] = None  # never a duplicate: kept, and reported
            problems.append(Problem(display_name(image.name), reason))
    lasting = {key: record for key, record in reader.dirty.items() if _is_lasting(record.header_problem)}
    cache.save(lasting, reader.new_contents)
    return Reading(images, hashes, problems)
