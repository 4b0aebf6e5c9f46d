"""The dedup after a watch poll: only the new pictures are read, compared with the pictures of their date
and size (found in the hash cache, so none of them is read again), and the new ones that are no re-post
placed in the clean folder, their index rows appended. The cost follows the new pictures, not the folder.

It holds only when the hash cache knows the folder (a whole dedup ran over it first) and the rule is
the default one (same date and size; a window or a distance compares across dates); otherwise the
caller runs the whole dedup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from picextract.dedup.cache import HashCache
from picextract.dedup.groups import decide
from picextract.dedup.place import Placed, place_all
from picextract.dedup.reading import read_pictures
from picextract.dedup.records import append_index_rows
from picextract.dedup.scan import FoundFile
from picextract.pictures.filenames import parse_name_time
from picextract.pictures.media import PICTURE_EXTENSIONS
from picextract.store.state import recorded_rows


def _found(folder: str, name: str) -> FoundFile | None:
    """A picture directly in the folder, as the scan would list it; None when it is not there."""
    path = os.path.join(folder, name)
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return FoundFile(path, name, info.st_size, info.st_mtime_ns)


def _same_date_and_size(cache: HashCache, folder: str, new: FoundFile) -> list[FoundFile]:
    """The folder's other pictures the cache knows with the new one's date (the start of its name) and size."""
    date_prefix = new.relative[: len("YYYY-MM-DD_")]
    peers = []
    for key, record in cache.files_starting(os.fsencode(os.path.join(folder, date_prefix))).items():
        name = os.fsdecode(key)[len(folder) + 1 :]
        if record.size == new.size and name != new.relative and "/" not in name:
            found = _found(folder, name)
            if found is not None and found.size == new.size:
                peers.append(found)
    return peers


def dedup_new(source: Path, output: Path, names: Sequence[str], cache_path: Path, workers: int) -> Placed | None:
    """Bring the new pictures `names` of `source` that are no re-post into `output`; None when a whole dedup
    is needed instead (a name without the date the default rule compares by)."""
    folder = os.path.realpath(source)
    new = [found for name in names if (found := _found(folder, name)) is not None]
    new = [found for found in new if os.path.splitext(found.relative)[1].lower() in PICTURE_EXTENSIONS]
    if any(parse_name_time(found.relative) is None for found in new):
        return None
    cache = HashCache(cache_path)
    try:
        peers = {peer.relative: peer for found in new for peer in _same_date_and_size(cache, folder, found)}
        candidates = new + [peer for name, peer in peers.items() if name not in set(names)]
        reading = read_pictures(source, candidates, cache, workers, (None, True), whole_folder=False)
    finally:
        cache.close()
    result = decide(reading.images, reading.hashes, None, 0)
    new_names = {found.relative for found in new}
    kept = [image for image in result.kept if image.name in new_names]
    placed = place_all(kept, output, link=False, workers=workers)
    append_index_rows(output, recorded_rows(source, [image.name for image in kept]))
    return placed
