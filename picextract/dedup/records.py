"""Files the dedup writes besides the pictures: the `--report` (JSON or CSV) and the output's `index.csv`."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from picextract.dedup.groups import BYTE_IDENTICAL_MARK, DedupResult, ImageFile
from picextract.dedup.scan import Problem, ScanResult, display_name
from picextract.store.atomic import write_atomic
from picextract.store.index import INDEX_COLUMNS
from picextract.store.layout import INDEX_FILE_NAME, ChannelFolder

REPORT_COLUMNS = ["file", "status", "reason", "kept_file", "difference_seconds", "group", "phash", "size"]
INDEX_EXTRA_COLUMNS = ["copies_removed", "removed_copies"]


def _gap_seconds(removed: ImageFile, kept: ImageFile) -> float | str:
    if removed.taken_at is None or kept.taken_at is None:
        return ""
    return (removed.taken_at - kept.taken_at).total_seconds()


def report_rows(scan: ScanResult, problems: Sequence[Problem], result: DedupResult) -> list[dict[str, object]]:
    """One row for every file found: kept, removed (with the file kept and the gap), unreadable, not a picture or a link."""
    keeper_of = {removed.name: kept for removed, kept in result.removed}
    reason_of = {problem.name: problem.reason for problem in problems}
    rows: list[dict[str, object]] = []
    for image in sorted(result.kept + [removed for removed, _ in result.removed], key=lambda image: image.name):
        name = display_name(image.name)
        kept = keeper_of.get(image.name)
        row: dict[str, object] = dict.fromkeys(REPORT_COLUMNS, "")
        row |= {"file": name, "group": result.group_of.get(image.name, ""), "size": image.size}
        image_hash = result.hashes.get(image.name) or ""
        by_bytes = image_hash.startswith(BYTE_IDENTICAL_MARK)
        row["phash"] = "not computed: only byte-identical copies compete" if by_bytes else image_hash
        if kept is not None:
            reason = "byte-identical to the kept file (which decodes)" if by_bytes else "same pHash, size and date"
            row |= {"status": "removed", "reason": reason, "kept_file": display_name(kept.name)}
            row["difference_seconds"] = _gap_seconds(image, kept)
        elif name in reason_of:
            row |= {"status": "unreadable", "reason": f"{reason_of[name]}; kept, never removed"}
        else:
            row["status"] = "kept"
        rows.append(row)
    extra = [(name, "not a picture", "ignored") for name in scan.others]
    extra += [(name, "link", "not followed") for name in scan.links_skipped]
    extra += [(problem.name, "unreadable", problem.reason) for problem in scan.problems]
    for name, status, reason in extra:
        row = dict.fromkeys(REPORT_COLUMNS, "")
        rows.append(row | {"file": name, "status": status, "reason": reason})
    return rows


def _csv_text(columns: Sequence[str], rows: Iterable[dict[str, object]]) -> str:
    from io import StringIO

    buffer = StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_report(path: Path, rows: list[dict[str, object]]) -> None:
    """The report as JSON (a list of rows) or CSV, by the file's extension."""
    if path.suffix.lower() == ".json":
        lines = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)  # one row a line, by the fast encoder
        write_atomic(path, f"[\n{lines}\n]\n" if rows else "[]\n")
    else:
        write_atomic(path, _csv_text(REPORT_COLUMNS, rows))


def _read_index(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_indexes(source: Path, output: Path, scan: ScanResult, result: DedupResult) -> list[Path]:
    """For each downloader `index.csv` in the source: the rows of the kept pictures, with the copies removed.

    The new file sits at the same relative place in the output; it gets the columns `copies_removed`
    (a number) and `removed_copies` (their names, separated by ` | `). Returns the files written.
    """
    copies: dict[str, list[str]] = defaultdict(list)
    for removed, kept in result.removed:
        copies[kept.name].append(display_name(removed.name))
    raw_of = {display_name(image.name): image.name for image in result.kept}
    written = []
    for name in scan.others:
        relative = PurePosixPath(name)
        if relative.name != INDEX_FILE_NAME:
            continue
        columns, rows = _read_index(source / relative)
        if "file" not in columns:
            continue  # not the downloader's index
        folder = "" if str(relative.parent) == "." else f"{relative.parent}/"
        kept_rows = []
        for row in rows:
            picture = folder + (row.get("file") or "")
            if picture in raw_of:
                removed_copies = copies.get(raw_of[picture], [])
                kept_rows.append(row | {"copies_removed": len(removed_copies), "removed_copies": " | ".join(removed_copies)})
        target = output / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, _csv_text(columns + INDEX_EXTRA_COLUMNS, kept_rows))
        written.append(target)
    return written


def append_index_rows(output: Path, rows: Mapping[str, Sequence[str]]) -> None:
    """The rows of newly kept pictures at the end of the clean folder's `index.csv`, with no copy removed yet
    (a whole dedup counts them); nothing when that file is missing or has other columns."""
    path = ChannelFolder(output).index_file
    if not rows or not path.is_file():
        return
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        if next(csv.reader(handle), []) != INDEX_COLUMNS + INDEX_EXTRA_COLUMNS:
            return
    from io import StringIO

    buffer = StringIO()
    csv.writer(buffer).writerows([*row, 0, ""] for row in rows.values())
    with open(path, "a", newline="", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
