"""Pure reporting for the dedup: the summary, timestamp statistics and the printed report."""

from __future__ import annotations

from dataclasses import dataclass

FRAME_SUMMARY = "=" * 60
FRAME_STATS = "=" * 70
LABEL_WIDTH = 28


@dataclass(frozen=True)
class DuplicatePair:
    """A removed file and the file kept for its group, with removed - kept in seconds."""

    removed: str
    kept: str
    difference_seconds: float


@dataclass(frozen=True)
class TimeStatistics:
    """numpy conventions: population standard deviation, linear-interpolated percentiles."""

    count: int
    mean: float
    median: float
    std: float
    minimum: float
    maximum: float
    p25: float
    p75: float
    p90: float
    p95: float


def time_statistics(differences: list[float]) -> TimeStatistics | None:
    """Statistics of the timestamp differences; None when there are none."""
    if not differences:
        return None
    import numpy  # here: numpy takes 0.1 s to import, and the report text and review page need none of it

    values = numpy.asarray(differences, dtype=float)
    p25, median, p75, p90, p95 = numpy.percentile(values, [25, 50, 75, 90, 95])
    return TimeStatistics(
        count=len(values),
        mean=float(values.mean()),
        median=float(median),
        std=float(values.std()),
        minimum=float(values.min()),
        maximum=float(values.max()),
        p25=float(p25),
        p75=float(p75),
        p90=float(p90),
        p95=float(p95),
    )


def format_duration(seconds: float) -> str:
    """`36.0s` under a minute, `1.1m (63.2s)` from a minute, `1.2h (4320.0s)` from an hour."""
    if abs(seconds) >= 3600:
        return f"{seconds / 3600:.1f}h ({seconds:.1f}s)"
    if abs(seconds) >= 60:
        return f"{seconds / 60:.1f}m ({seconds:.1f}s)"
    return f"{seconds:.1f}s"


def _row(label: str, value: str) -> str:
    return f"{label + ':':<{LABEL_WIDTH}}{value}"


@dataclass(frozen=True)
class Counts:
    """What one run found and did: every file found is a picture looked at, another file, a link not
    followed, or a file or folder that could not be examined."""

    scanned: int  # pictures looked at, readable or not: each one is kept or removed
    others: int
    unreadable: int  # pictures among `scanned` that could not be read (kept, never removed)
    not_examined: int  # files and folders the scan could not open or examine
    links: int
    kept: int
    removed: int
    groups: int
    dry_run: bool = False

    @property
    def could_not_read(self) -> int:
        """Pictures that could not be read plus files and folders that could not be examined."""
        return self.unreadable + self.not_examined


def summary_rows(counts: Counts) -> list[tuple[str, str]]:
    """The summary's labels and values: the seed's four first, in its words, then how every file was accounted for;
    printed by summary_text, shown on the review page."""
    found = counts.scanned + counts.others + counts.not_examined + counts.links
    unique = "Would copy (unique)" if counts.dry_run else "Unique images copied"
    return [
        ("Total images scanned", str(counts.scanned)),
        (unique, str(counts.kept)),
        ("Duplicates skipped", str(counts.removed)),
        ("Duplicate groups found", str(counts.groups)),
        ("Files found", str(found)),
        ("Not pictures (ignored)", str(counts.others)),
        ("Could not be read", f"{counts.could_not_read}" + (" (kept, never removed)" if counts.could_not_read else "")),
        ("Links not followed", str(counts.links)),
    ]


def summary_text(counts: Counts) -> str:
    """The framed deduplication summary, its lines as the seed printed them (`  Total images scanned: 3937`)."""
    title = "Deduplication Summary:" + (" (dry run)" if counts.dry_run else "")
    rows = [f"  {label}: {value}" for label, value in summary_rows(counts)]
    return "\n".join([FRAME_SUMMARY, title, *rows, FRAME_SUMMARY])


def outlier_pairs(pairs: list[DuplicatePair], stats: TimeStatistics) -> list[DuplicatePair]:
    """The pairs above the 95th percentile, largest difference first (printed and on the review page)."""
    return sorted(
        (pair for pair in pairs if pair.difference_seconds > stats.p95), key=lambda pair: (-pair.difference_seconds, pair.removed)
    )


def statistics_text(pairs: list[DuplicatePair]) -> str:
    """The framed statistics block and the files above the 95th percentile, largest first."""
    stats = time_statistics([pair.difference_seconds for pair in pairs])
    lines = [FRAME_STATS, "Timestamp Difference Statistics (Removed vs Kept Duplicates)", FRAME_STATS]
    if stats is None:
        lines += ["No dated duplicates found: there are no timestamp differences to report.", FRAME_STATS]
        return "\n".join(lines)
    lines += [
        _row("Total pairs calculated", f"{stats.count:,}"),
        _row("Mean difference", format_duration(stats.mean)),
        _row("Median difference", format_duration(stats.median)),
        _row("Standard deviation", format_duration(stats.std)),
        _row("Minimum difference", format_duration(stats.minimum)),
        _row("Maximum difference", format_duration(stats.maximum)),
        _row("25th percentile", format_duration(stats.p25)),
        _row("75th percentile", format_duration(stats.p75)),
        _row("90th percentile", format_duration(stats.p90)),
        _row("95th percentile", format_duration(stats.p95)),
        FRAME_STATS,
    ]
    outliers = outlier_pairs(pairs, stats)
    lines += [
        "",
        f"Files with timestamp difference above 95th percentile ({format_duration(stats.p95)}):",
        f"Total: {len(outliers)} files",
    ]
    lines += [f"  {pair.removed}  {format_duration(pair.difference_seconds)}  (duplicate of {pair.kept})" for pair in outliers]
    return "\n".join(lines)
