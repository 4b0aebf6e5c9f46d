"""`index.csv`: its columns, reading it, and writing it whole (picextract/store/index_sync.py keeps it in step)."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from datetime import timezone
from pathlib import Path

from picextract.errors import StorageError
from picextract.pictures.refs import PictureRef
from picextract.pictures.urls import normalize_url

# New columns go at the end: older files stay readable (picextract/gallery/records.py parse_index).
INDEX_COLUMNS = [
    "file",
    "posted_at_utc",
    "message_id",
    "channel",
    "author",
    "text",
    "source_url",
    "width",
    "height",
    "guild_id",
    "channel_id",
    "kind",
]
# Discord's longest message text (https://discord.com/developers/docs/resources/message#create-message: 2,000,
# 4,000 with Nitro); longer text comes from a hostile server and would pass the csv module's field limit (131,072).
MAX_INDEX_TEXT_CHARS = 4000
FIRST_COLUMNS = 9  # the columns of the first release; rows of that length are padded


def _clipped(text: str) -> str:
    return text if len(text) <= MAX_INDEX_TEXT_CHARS else text[: MAX_INDEX_TEXT_CHARS - 1] + "…"


def index_row(ref: PictureRef, filename: str, channel: str, guild_id: str, dimensions: tuple[object, object]) -> list[object]:
    """One saved picture's row, in INDEX_COLUMNS' order (`guild_id` "" for a DM; dimensions "" when unknown;
    texts clipped to MAX_INDEX_TEXT_CHARS)."""
    posted_at = ref.posted_at.astimezone(timezone.utc).isoformat()
    texts = [_clipped(text) for text in (channel, ref.author, ref.text)]
    row: list[object] = [filename, posted_at, ref.message_id, *texts, _clipped(normalize_url(ref.url)), *dimensions]
    return row + [guild_id, ref.channel_id, ref.kind]


def padded_row(row: list[str]) -> list[str] | None:
    """An index row at today's width (older rows padded), or None when it is no row of ours."""
    if not FIRST_COLUMNS <= len(row) <= len(INDEX_COLUMNS):
        return None
    return row + [""] * (len(INDEX_COLUMNS) - len(row))


def posting_order(rows: Iterable[Sequence[str]]) -> list[Sequence[str]]:
    """Rows by posting time, then file name (`posted_at_utc` is ISO 8601 in UTC: text order is time order)."""
    return sorted(rows, key=lambda row: (row[1], row[0]))


def picture_dimensions(path: Path) -> tuple[int, int] | None:
    """Width and height from a picture's header (Pillow reads no pixels for this); None when it cannot tell."""
    from picextract.pictures.imaging import Image

    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # Pillow raises many kinds for files it cannot read; all mean "unknown"
        return None


def _storage_error(path: Path, problem: OSError) -> StorageError:
    return StorageError(f"cannot write {path.absolute()}: {problem.strerror or problem}")


def read_index_rows(path: Path) -> dict[str, list[str]]:
    """file name -> its first row in an existing index.csv (a row cut by a kill is ignored)."""
    rows: dict[str, list[str]] = {}
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as index_file:
            for row in csv.reader(index_file):
                full = padded_row(row)
                if full is not None and row != INDEX_COLUMNS[: len(row)]:
                    rows.setdefault(full[0], full)
    except FileNotFoundError:
        pass
    except (OSError, csv.Error):
        pass  # unreadable: it is rebuilt from the state file
    return rows


def write_index(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Replace index.csv in one step (a temporary file moved into place): a kill leaves the old or the new one."""
    temporary = path.with_name(f"{path.name}.tmp")
    try:
        with open(temporary, "w", newline="", encoding="utf-8") as index_file:
            writer = csv.writer(index_file)
            writer.writerow(INDEX_COLUMNS)
            writer.writerows(rows)
        os.replace(temporary, path)
    except OSError as problem:
        temporary.unlink(missing_ok=True)
        raise _storage_error(path, problem) from None
    except BaseException:  # Ctrl-C or SIGTERM while writing: the old index stays
        temporary.unlink(missing_ok=True)
        raise
