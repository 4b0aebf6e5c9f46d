"""Pure reporting for deduplicate_images.py: timestamp statistics and the printed report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy

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


def summary_text(scanned: int, kept: int, removed: int, groups: int) -> str:
    """The framed deduplication summary."""
    return "\n".join(
        [
            FRAME_SUMMARY,
            "Deduplication Summary:",
            f"  Total images scanned: {scanned}",
            f"  Unique images copied: {kept}",
            f"  Duplicates skipped: {removed}",
            f"  Duplicate groups found: {groups}",
            FRAME_SUMMARY,
        ]
    )


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
