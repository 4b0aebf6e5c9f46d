"""One dedup run: check the folders, scan, read, decide, place, write the reports, print the summary.

Used by `deduplicate_images.py` and by `main.py --dedup`; both hand in the streams to print on.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from picextract.dedup.cache import HashCache, default_cache_path
from picextract.dedup.groups import decide
from picextract.dedup.incremental import dedup_new
from picextract.dedup.place import Placed, place_all
from picextract.dedup.quiet import captured_library_output
from picextract.dedup.reading import Progress, Reading, read_pictures
from picextract.dedup.records import report_rows, write_indexes, write_report
from picextract.dedup.report import Counts, DuplicatePair, statistics_text, summary_text
from picextract.dedup.scan import ScanResult, display_name, scan_source
from picextract.errors import ExitCode, UsageError

PROBLEMS_SHOWN = 5  # unreadable files named in the summary; the --report lists all


@dataclass(frozen=True)
class DedupOptions:
    """Everything one run needs; the defaults are the command line's."""

    source: Path
    output: Path
    dry_run: bool = False
    report: Path | None = None
    html: Path | None = None  # the review page (picextract/dedup/review.py)
    link: bool = False
    window_seconds: float | None = None
    max_distance: int = 0
    workers: int = os.cpu_count() or 2
    follow_links: bool = False
    cache: Path | None = None  # None: no cache
    debug: bool = False


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_paths(options: DedupOptions) -> None:
    source, output = options.source, options.output
    if not source.exists():
        raise UsageError(f"source folder {source} does not exist")
    if not source.is_dir():
        raise UsageError(f"source {source} is a file, not a folder")
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output} is a file, not a folder")
    if _inside(output.resolve(), source.resolve()):
        raise UsageError("--output must not be the source folder or inside it")
    if options.cache is not None and _inside(options.cache.resolve(), source.resolve()):
        raise UsageError("--cache must not be inside the source folder")
    if options.report is not None and _inside(options.report.resolve(), source.resolve()):
        raise UsageError("--report must not be inside the source folder")


def check_options(options: DedupOptions) -> None:
    """Refuse, with one line, what cannot work or would touch the source."""
    _check_paths(options)
    if options.window_seconds is not None and not options.window_seconds >= 0:
        raise UsageError("--window must be a number of seconds, 0 or more")
    if not 0 <= options.max_distance <= 64:
        raise UsageError("--max-distance must be between 0 and 64")
    if options.workers < 1:
        raise UsageError("--workers must be at least 1")
    if options.report is not None and options.report.suffix.lower() not in (".json", ".csv"):
        raise UsageError("--report must end in .json or .csv")


@contextmanager
def _progress_bar(stream: TextIO) -> Iterator[Progress | None]:
    """A tqdm bar counting files read, on a terminal only."""
    if not stream.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=0, desc="Reading", unit=" file", file=stream)

    def progress(done: int, more: int) -> None:
        if more:
            bar.total = (bar.total or 0) + more
            bar.refresh()
        if done:
            bar.update(done)

    try:
        yield progress
    finally:
        bar.close()


def _read(options: DedupOptions, scan: ScanResult, err: TextIO) -> tuple[Reading, list[str]]:
    cache = HashCache(options.cache)
    try:
        with captured_library_output(capture=not options.debug) as (captured, real_stderr):
            with _progress_bar(real_stderr if err is sys.stderr else err) as progress:
                reading = read_pictures(
                    options.source,
                    scan.pictures,
                    cache,
                    options.workers,
                    (options.window_seconds, options.max_distance == 0),
                    progress,
                )
    finally:
        cache.close()
    return reading, captured.lines


def _problem_lines(reading: Reading, scan: ScanResult, warnings: Sequence[str]) -> list[str]:
    problems = scan.problems + reading.problems
    lines = []
    if problems:
        shown = ", ".join(f"{problem.name} ({problem.reason})" for problem in problems[:PROBLEMS_SHOWN])
        more = f" and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        lines.append(f"warning: {len(problems)} could not be read, kept as unique: {shown}{more} (--report lists all)")
    if warnings:
        lines.append(f"note: {len(warnings)} warnings from the image libraries were hidden (--debug shows them)")
    return lines


def run_dedup(options: DedupOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run the dedup; returns 0, or 1 when some files could not be read (the user should look)."""
    check_options(options)
    scan = scan_source(options.source, options.follow_links)
    reading, warnings = _read(options, scan, err)
    result = decide(reading.images, reading.hashes, options.window_seconds, options.max_distance)
    placed = Placed(0, 0) if options.dry_run else place_all(result.kept, options.output, options.link, options.workers)
    if not options.dry_run:
        write_indexes(options.source, options.output, scan, result)
    if options.report is not None:
        write_report(options.report, report_rows(scan, reading.problems, result))
    counts = Counts(
        scanned=len(reading.images),
        others=len(scan.others),
        unreadable=len(reading.problems),
        not_examined=len(scan.problems),
        links=len(scan.links_skipped),
        kept=len(result.kept),
        removed=len(result.removed),
        groups=result.groups,
        dry_run=options.dry_run,
    )
    if options.html is not None:
        from picextract.dedup.review import write_review_page

        write_review_page(options.html, options.source, counts, result)
    for line in _problem_lines(reading, scan, warnings):
        print(line, file=err)
    print(summary_text(counts), file=out)
    print(file=out)
    shown = [DuplicatePair(display_name(pair.removed), display_name(pair.kept), pair.difference_seconds) for pair in result.pairs]
    print(statistics_text(shown), file=out)
    if options.dry_run:
        print(f"\nNote: dry run: would copy {len(result.kept)} pictures to {options.output}; nothing was copied.", file=out)
    else:
        not_copied = f"; {len(placed.unreadable)} could not be read, not copied" if placed.unreadable else ""
        print(f"\nNote: {placed.new} copied now, {placed.already} already in {options.output}{not_copied}.", file=out)
    return ExitCode.SOME_FAILED if counts.could_not_read or placed.unreadable else ExitCode.OK


def dedup_after_download(
    pairs: Sequence[tuple[Path, Path]], dry_run: bool, environ: Mapping[str, str], out: TextIO = sys.stdout
) -> int:
    """`main.py --dedup`: the same dedup from each downloaded folder into its clean folder (both from the output's layout)."""
    if not pairs:
        print("Dedup: nothing was downloaded, nothing to deduplicate.", file=sys.stderr)
        return ExitCode.OK
    worst: int = ExitCode.OK
    for source, output in pairs:
        print(f"Removing re-posts from {source} into {output}", file=out if out is not sys.stdout else sys.stderr)
        options = DedupOptions(source, output, dry_run=dry_run, cache=default_cache_path(environ))
        worst = max(worst, run_dedup(options, out=out))
    return worst


class DedupAfterPolls:
    """`--watch --dedup`: after a poll that saved pictures, the whole dedup the first time (it fills the hash
    cache), then only the new pictures (picextract/dedup/incremental.py); its report stays quiet."""

    def __init__(self, clean_folder: Callable[[Path], Path], environ: Mapping[str, str]) -> None:
        self.clean_folder = clean_folder  # the output layout's rule
        self.environ = environ
        self.known: set[Path] = set()  # folders the hash cache knows whole

    def __call__(self, folder: Path, new_names: list[str]) -> None:
        output = self.clean_folder(folder)
        if folder in self.known:
            with captured_library_output(capture=True):
                workers = DedupOptions(folder, output).workers
                placed = dedup_new(folder, output, new_names, default_cache_path(self.environ), workers)
            if placed is not None:
                return
        dedup_after_download([(folder, output)], False, self.environ, out=io.StringIO())
        self.known.add(folder)
