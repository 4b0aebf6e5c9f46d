"""Remove re-posted pictures: same pHash and same size on the same date -> keep the earliest.

scan -> bucket -> hash -> group -> choose -> copy -> report. Only files that share a bucket
(date and size) with another file are read; byte-identical files share one hash computation.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

from config import Settings, load_settings, read_environment
from picextract.dedup.groups import DUPLICATE_MARK, DedupResult, ImageFile, candidate_buckets, decide, parse_name_time
from picextract.dedup.report import statistics_text, summary_text
from picextract.errors import EXIT_CODES_HELP, ExitCode, UsageError, error_boundary
from picextract.gallery.review import write_review_page
from picextract.pictures.media import PICTURE_EXTENSIONS

CLEAN_SUFFIX = "-clean"  # the default output is the downloader's folder with this suffix


# --- I/O -------------------------------------------------------------------------------------


def scan(source: Path) -> tuple[list[ImageFile], int]:
    """The pictures directly in `source` (by extension) and the count of other files."""
    images: list[ImageFile] = []
    ignored = 0
    for entry in os.scandir(source):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        if os.path.splitext(entry.name)[1].lower() in PICTURE_EXTENSIONS:
            images.append(ImageFile(entry.name, entry.stat().st_size, parse_name_time(entry.name), Path(entry.path)))
        else:
            ignored += 1
    images.sort(key=lambda image: image.name)
    return images, ignored


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "blake2b").hexdigest()


def _phash(path: Path) -> str | None:
    """The pHash as hex, or None when the file cannot be decoded."""
    import imagehash
    from PIL import Image

    try:
        with Image.open(path) as image:
            return str(imagehash.phash(image))
    except Exception:  # Pillow raises many types for broken files; all mean "unreadable"
        return None


def _decodes(path: Path) -> bool:
    """True when the picture decodes fully (all pHash needs to succeed on byte-identical files)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
        return True
    except Exception:
        return False


def compute_hashes(
    buckets: Sequence[Sequence[ImageFile]], workers: int, progress: Callable[[int], object] | None = None
) -> tuple[dict[str, str | None], list[str]]:
    """pHash of every file in a bucket, or None when unreadable; byte-identical files share one computation.

    A bucket whose files are all byte-identical needs no pHash at all: they are duplicates as soon
    as the content decodes, so it is only decoded (DUPLICATE_MARK stands in for the hash).
    """
    members = [image for bucket in buckets for image in bucket]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        digests = dict(zip([image.name for image in members], pool.map(lambda image: _digest(image.path), members)))
        needs_phash: dict[str, Path] = {}
        needs_decode: dict[str, Path] = {}
        for bucket in buckets:
            contents = {digests[image.name]: image.path for image in bucket}
            target = needs_phash if len(contents) > 1 else needs_decode
            for digest, path in contents.items():
                target.setdefault(digest, path)
        for digest in needs_phash:
            needs_decode.pop(digest, None)
        jobs = [(digest, path, True) for digest, path in needs_phash.items()] + [
            (digest, path, False) for digest, path in needs_decode.items()
        ]

        def work(job: tuple[str, Path, bool]) -> str | None:
            digest, path, full = job
            if full:
                return _phash(path)
            return f"{DUPLICATE_MARK}{digest}" if _decodes(path) else None

        files_per_digest = Counter(digests.values())
        by_digest: dict[str, str | None] = {}
        for (digest, _, _), image_hash in zip(jobs, pool.map(work, jobs)):
            by_digest[digest] = image_hash
            if progress is not None:
                progress(files_per_digest[digest])  # the bar counts files, one job serves all copies
    hashes = {image.name: by_digest[digests[image.name]] for image in members}
    unreadable = sorted(name for name, image_hash in hashes.items() if image_hash is None)
    return hashes, unreadable


def place(image: ImageFile, output: Path, link: bool) -> bool:
    """Copy (or hard-link) a kept file into `output`; False when an equal-size copy is there."""
    target = output / image.name
    if target.is_file() and target.stat().st_size == image.size:
        return False
    part = output / f"{image.name}.part"
    try:
        if link:
            try:
                part.unlink(missing_ok=True)
                os.link(image.path, part)
            except OSError:  # another file system, or links not allowed: copy instead
                shutil.copy2(image.path, part)
        else:
            shutil.copy2(image.path, part)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return True


def _hash_for_report(image_hash: str | None) -> str:
    if image_hash is None:
        return ""
    return "byte-identical copies, not hashed" if image_hash.startswith(DUPLICATE_MARK) else image_hash


def write_report(path: Path, images: Sequence[ImageFile], result: DedupResult) -> None:
    """Every file with its group, decision, keeper, hash, size and time difference (JSON or CSV)."""
    keeper_of = {removed.name: kept for removed, kept in result.removed}
    rows = []
    for image in images:
        kept = keeper_of.get(image.name)
        difference = None
        if kept is not None and image.taken_at is not None and kept.taken_at is not None:
            difference = (image.taken_at - kept.taken_at).total_seconds()
        rows.append(
            {
                "file": image.name,
                "group": result.group_of.get(image.name, ""),
                "status": "removed" if kept is not None else "kept",
                "kept_file": kept.name if kept is not None else image.name,
                "phash": _hash_for_report(result.hashes.get(image.name)),
                "size": image.size,
                "difference_seconds": difference if difference is not None else "",
            }
        )
    part = path.with_name(path.name + ".part")
    with open(part, "w", newline="", encoding="utf-8") as handle:
        if path.suffix.lower() == ".json":
            json.dump(rows, handle, indent=1, ensure_ascii=False)
        else:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["file"])
            writer.writeheader()
            writer.writerows(rows)
    os.replace(part, path)


# --- entry point -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"error: {message} (see --help)\n")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The flags of deduplicate_images.py."""
    parser = _Parser(
        description="Copy one picture of each group of re-posts (same pHash and size, same date) to a clean folder.",
        epilog=EXIT_CODES_HELP,
    )
    source, output = settings.DEFAULT_OUTPUT_DIR, settings.DEFAULT_OUTPUT_DIR + CLEAN_SUFFIX
    parser.add_argument("--source", default=source, help=f"folder with the downloaded pictures (default {source})")
    parser.add_argument("--output", default=output, help=f"folder for the unique pictures (default {output})")
    parser.add_argument("--dry-run", action="store_true", help="report only, copy nothing")
    parser.add_argument("--report", type=Path, help="write every file's decision to FILE.json or FILE.csv")
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="write a review page: each group's kept picture beside its copies"
    )
    parser.add_argument("--link", action="store_true", help="hard-link instead of copying (copies across file systems)")
    parser.add_argument(
        "--window", type=float, metavar="SECONDS", help="group re-posts at most SECONDS apart instead of by calendar date"
    )
    parser.add_argument(
        "--max-distance",
        type=int,
        default=0,
        metavar="N",
        help="near duplicates: pHash distance up to N, any size (decodes every dated file)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="threads for reading and hashing")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def _check_args(args: argparse.Namespace) -> tuple[Path, Path]:
    source, output = Path(args.source).expanduser(), Path(args.output).expanduser()
    if not source.is_dir():
        raise UsageError(f"source folder {source} does not exist")
    resolved_source, resolved_output = source.resolve(), output.resolve()
    if resolved_output == resolved_source or resolved_source in resolved_output.parents:
        raise UsageError("--output must not be the source folder or inside it")
    if args.window is not None and not args.window >= 0:
        raise UsageError("--window must be a number of seconds, 0 or more")
    if args.max_distance < 0 or args.max_distance > 64:
        raise UsageError("--max-distance must be between 0 and 64")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.report is not None and args.report.suffix.lower() not in (".json", ".csv"):
        raise UsageError("--report must end in .json or .csv")
    return source, output


def run(argv: list[str] | None = None) -> int:
    """Scan, decide, copy, report; returns the exit code."""
    args = build_parser(load_settings(read_environment())).parse_args(argv)
    source, output = _check_args(args)
    images, ignored = scan(source)
    buckets = candidate_buckets(images, args.window, exact=args.max_distance == 0)
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=sum(len(bucket) for bucket in buckets), desc="Hashing", unit=" file", file=sys.stderr)
    hashes, unreadable = compute_hashes(buckets, args.workers, bar.update if bar is not None else None)
    if bar is not None:
        bar.close()
    for name in unreadable:
        print(f"warning: cannot read {name} as a picture; kept as unique", file=sys.stderr)
    result = decide(images, hashes, args.window, args.max_distance)
    copied = 0
    if not args.dry_run:
        output.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            copied = sum(pool.map(lambda image: place(image, output, args.link), result.kept))
    if args.report is not None:
        write_report(args.report, images, result)
    if args.html is not None:
        write_review_page(args.html.expanduser(), source, len(images), result)
    print(summary_text(len(images), len(result.kept), len(result.removed), result.groups))
    print()
    print(statistics_text(result.pairs))
    notes = [f"{ignored} other files ignored"] if ignored else []
    if args.dry_run:
        notes.append("dry run: nothing was copied")
    elif copied < len(result.kept):
        notes.append(f"{len(result.kept) - copied} unique pictures were already in {output}")
    if notes:
        print("\nNote: " + "; ".join(notes) + ".")
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    """The error boundary: one line on stderr and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    return error_boundary(lambda: run(argv), debug, interrupted="Interrupted; the source folder is unchanged.")


if __name__ == "__main__":
    sys.exit(main())
