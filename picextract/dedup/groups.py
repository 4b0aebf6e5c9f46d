"""Pure dedup rules: parse names, bucket candidates, group by pHash and size, keep the earliest."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from picextract.dedup.report import DuplicatePair

BYTE_IDENTICAL_MARK = "bytes:"  # stands in for the pHash of a content that only competes with its own copies
# Names a copy gets: `screenshot (1).png` (browsers, Windows), `image - Copy.png` (Windows Explorer),
# `image_<attachment id>.png` (the downloader's suffix for a second picture with the same name).
_COPY_NAME = re.compile(r"(?: \(\d+\)| - Copy(?: \(\d+\))?|_\d{15,20})$", re.IGNORECASE)


@dataclass(frozen=True)
class ImageFile:
    """A picture in the source folder, with the time its name carries (None when undated)."""

    name: str  # the path relative to the source folder, with `/`
    size: int
    taken_at: datetime | None
    path: str | Path = field(compare=False, default=Path())


@dataclass
class DedupResult:
    """Groups and decisions of one run."""

    kept: list[ImageFile]
    removed: list[tuple[ImageFile, ImageFile]]  # (removed, kept for its group)
    groups: int
    hashes: dict[str, str | None]
    group_of: dict[str, int]

    @property
    def pairs(self) -> list[DuplicatePair]:
        """(removed, kept) pairs of dated files with removed - kept in seconds."""
        return [
            DuplicatePair(removed.name, kept.name, (removed.taken_at - kept.taken_at).total_seconds())
            for removed, kept in self.removed
            if removed.taken_at is not None and kept.taken_at is not None
        ]


@functools.lru_cache(maxsize=65536)  # sorting asks again and again for the same names
def is_copy_name(name: str) -> bool:
    """True for the names copies get: `x (1).png`, `x - Copy.png`, `image_<attachment id>.png`."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return _COPY_NAME.search(stem) is not None


def keeper_order(image: ImageFile) -> tuple[bool, datetime, bool, str]:
    """Earliest first; at the same time (and among undated files) an original name before a copy's, then name order."""
    return (image.taken_at is None, image.taken_at or datetime.min, is_copy_name(image.name), image.name)


def _split_by_gap(images: Sequence[ImageFile], window_seconds: float) -> list[list[ImageFile]]:
    """Chains of time-sorted files whose neighbours are at most `window_seconds` apart."""
    chains: list[list[ImageFile]] = []
    for image in sorted(images, key=keeper_order):
        if chains and (image.taken_at - chains[-1][-1].taken_at).total_seconds() <= window_seconds:  # type: ignore[operator]
            chains[-1].append(image)
        else:
            chains.append([image])
    return chains


def candidate_buckets(images: Iterable[ImageFile], window_seconds: float | None, exact: bool) -> list[list[ImageFile]]:
    """Sets of files that may hold duplicates; a file alone in its bucket never needs hashing.

    Exact mode buckets by (date, size); near mode (exact=False) by date only. With a window,
    dated files are chained by time instead of split by calendar date. Undated files form
    their own buckets.
    """
    by_key: dict[tuple[object, ...], list[ImageFile]] = defaultdict(list)
    for image in images:
        period = None if window_seconds is not None or image.taken_at is None else image.taken_at.date()
        by_key[(image.taken_at is not None, period, image.size if exact else None)].append(image)
    buckets: list[list[ImageFile]] = []
    for (dated, _, _), members in by_key.items():
        if window_seconds is not None and dated:
            buckets.extend(_split_by_gap(members, window_seconds))
        else:
            buckets.append(sorted(members, key=keeper_order))
    return [bucket for bucket in buckets if len(bucket) >= 2]


def hamming(hash_a: str, hash_b: str) -> int:
    """Bits that differ between two hex pHashes."""
    if hash_a == hash_b:
        return 0
    return bin(int(hash_a, 16) ^ int(hash_b, 16)).count("1")


def group_bucket(
    bucket: Sequence[ImageFile], hashes: dict[str, str | None], window_seconds: float | None, max_distance: int
) -> list[list[ImageFile]]:
    """Duplicate groups inside one bucket, keeper first; files without a hash stay alone."""
    ordered = sorted(bucket, key=keeper_order)
    groups: list[list[ImageFile]] = []
    open_groups: dict[str, list[list[ImageFile]]] = defaultdict(list)
    for image in ordered:
        image_hash = hashes.get(image.name)
        if image_hash is None:
            groups.append([image])
            continue
        home = None
        candidates = open_groups[image_hash] if max_distance == 0 else [g for key in open_groups for g in open_groups[key]]
        for group in candidates:
            keeper_hash = hashes[group[0].name]
            if max_distance == 0 and image.size != group[0].size:
                continue
            if hamming(keeper_hash, image_hash) > max_distance:  # type: ignore[arg-type]
                continue
            if window_seconds is not None and image.taken_at is not None and group[-1].taken_at is not None:
                if (image.taken_at - group[-1].taken_at).total_seconds() > window_seconds:
                    continue
            home = group
            break
        if home is None:
            home = [image]
            groups.append(home)
            open_groups[image_hash].append(home)
        else:
            home.append(image)
    return groups


def decide(
    images: Sequence[ImageFile],
    hashes: dict[str, str | None],
    window_seconds: float | None,
    max_distance: int,
) -> DedupResult:
    """Group every file, keep the earliest of each group."""
    buckets = candidate_buckets(images, window_seconds, exact=max_distance == 0)
    in_bucket = {image.name for bucket in buckets for image in bucket}
    groups = [[image] for image in images if image.name not in in_bucket]
    for bucket in buckets:
        groups.extend(group_bucket(bucket, hashes, window_seconds, max_distance))
    groups.sort(key=lambda group: keeper_order(group[0]))
    kept: list[ImageFile] = []
    removed: list[tuple[ImageFile, ImageFile]] = []
    group_of: dict[str, int] = {}
    duplicate_groups = 0
    for group in groups:
        keeper = group[0]
        kept.append(keeper)
        if len(group) > 1:
            duplicate_groups += 1
            for image in group:
                group_of[image.name] = duplicate_groups
            removed.extend((image, keeper) for image in group[1:])
    return DedupResult(kept, removed, duplicate_groups, dict(hashes), group_of)
