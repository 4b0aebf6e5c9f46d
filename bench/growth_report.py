"""The growth benchmark's results and how they print: the table, what a quiet rerun wrote, issue 19's goals."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

BASELINE, GROWN, LARGEST = 200, 10_000, 100_000  # the goals: 10,000 against 200, and 100,000 on its own
NEW_PICTURES = 20


def format_bytes(count: int) -> str:
    return f"{count / 1e6:.2f} MB" if count >= 100_000 else f"{count / 1e3:.1f} KB"


def describe_written(files: dict[str, int]) -> str:
    """`index.csv 1.2 MB, .gallery/thumbs/ (3 files, 4 KB)`: what a run wrote, a folder of many files as one entry."""
    by_folder: dict[str, list[str]] = {}
    for path in files:
        by_folder.setdefault(os.path.dirname(path), []).append(path)
    parts = []
    for folder, paths in sorted(by_folder.items()):
        if len(paths) > 3:
            parts.append(f"{folder or '.'}/ ({len(paths)} files, {format_bytes(sum(files[path] for path in paths))})")
        else:
            parts.extend(f"{path} {format_bytes(files[path])}" for path in sorted(paths))
    return ", ".join(parts) or "nothing"


@dataclass(frozen=True)
class WatchResult:
    """A `--watch` measured: one quiet poll, and a picture posted while it ran (None: not within the timeout)."""

    poll_cpu_seconds: float
    requests_per_poll: float
    saved_after: float | None
    in_gallery_after: float | None


@dataclass
class SizeResult:
    """Everything measured on one size of channel."""

    pictures: int
    load_average: float = 0.0  # of the last minute when this size began: the machine's other work slows every figure
    first_seconds: float = 0.0
    first_peak_mb: int = 0
    quiet_seconds: float = 0.0
    quiet_written: dict[str, int] = field(default_factory=dict)
    new_seconds: float = 0.0
    watch: WatchResult | None = None

    @property
    def quiet_bytes(self) -> int:
        return sum(self.quiet_written.values())


def after(seconds: float | None, timeout: float) -> str:
    return f"never (timeout {timeout:g} s)" if seconds is None else f"{seconds:.1f} s"


def print_table_header(interval: float) -> None:
    print(
        f"| pictures | first run | peak MB | rerun, nothing new | written by it | rerun, {NEW_PICTURES} new "
        f"| quiet `--watch {interval:g}` poll: CPU | API requests / poll | posted during the watch: saved / in the gallery |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")


def print_written(results: list[SizeResult]) -> None:
    """Under the table: each size's load and the files its rerun with nothing new wrote."""
    print()
    for result in results:
        print(
            f"- {result.pictures:,}: load average {result.load_average:.1f} at the start; the rerun with nothing new wrote "
            f"{describe_written(result.quiet_written)}"
        )


def print_row(result: SizeResult, timeout: float) -> None:
    watch = result.watch
    assert watch is not None
    print(
        f"| {result.pictures:,} | {result.first_seconds:.1f} s ({1000 * result.first_seconds / result.pictures:.2f} ms/picture) "
        f"| {result.first_peak_mb} | {result.quiet_seconds:.2f} s | {format_bytes(result.quiet_bytes)} | {result.new_seconds:.2f} s "
        f"| {1000 * watch.poll_cpu_seconds:.0f} ms | {watch.requests_per_poll:.1f} "
        f"| {after(watch.saved_after, timeout)} / {after(watch.in_gallery_after, timeout)} |",
        flush=True,
    )


@dataclass(frozen=True)
class Goal:
    """One of issue 19's goals, what was measured for it, and whether it is met."""

    text: str
    measured: str
    met: bool


def within_goal(what: str, base: float, grown: float) -> Goal:
    """`grown` (at 10,000) within 1.5x (+0.5 s) of `base` (at 200)."""
    bound = 1.5 * base + 0.5
    return Goal(
        f"{what} at {GROWN:,} within 1.5x (+0.5 s) of {BASELINE}",
        f"{grown:.2f} s against {base:.2f} s: {grown / base:.1f}x (bound {bound:.2f} s)",
        grown <= bound,
    )


def growth_goals(base: SizeResult, grown: SizeResult) -> list[Goal]:
    return [
        within_goal("rerun with nothing new", base.quiet_seconds, grown.quiet_seconds),
        Goal(
            f"that rerun at {GROWN:,} writes under 1 MB outside the state file",
            format_bytes(grown.quiet_bytes),
            grown.quiet_bytes < 1_000_000,
        ),
        within_goal(f"rerun with {NEW_PICTURES} new", base.new_seconds, grown.new_seconds),
    ]


def largest_goals(largest: SizeResult, grown: SizeResult | None) -> list[Goal]:
    assert largest.watch is not None
    cpu_ms = 1000 * largest.watch.poll_cpu_seconds
    goals = [
        Goal(f"rerun with nothing new at {LARGEST:,} under 2 s", f"{largest.quiet_seconds:.2f} s", largest.quiet_seconds < 2),
        Goal(f"quiet watch poll at {LARGEST:,} under 50 ms of CPU", f"{cpu_ms:.0f} ms", cpu_ms < 50),
        Goal(f"first run at {LARGEST:,}: peak memory under 300 MB", f"{largest.first_peak_mb} MB", largest.first_peak_mb < 300),
    ]
    if grown is not None:
        ratio = (largest.first_seconds / LARGEST) / (grown.first_seconds / GROWN)
        goals.append(
            Goal(
                f"first run linear: time per picture at {LARGEST:,} within 1.25x of that at {GROWN:,}",
                f"{ratio:.2f}x",
                ratio <= 1.25,
            )
        )
    return goals


def watch_goal(results: list[SizeResult], interval: float) -> Goal:
    """A picture posted during the watch is in the gallery within one interval of being saved, at every size."""
    lags = []
    for result in results:
        assert result.watch is not None
        saved, shown = result.watch.saved_after, result.watch.in_gallery_after
        lags.append(None if saved is None or shown is None else shown - saved)
    measured = ", ".join(f"{r.pictures:,}: " + ("never" if lag is None else f"{lag:.1f} s") for r, lag in zip(results, lags))
    return Goal(
        f"a picture posted during `--watch {interval:g}` is in the gallery within {interval:g} s of being saved",
        measured,
        all(lag is not None and lag <= interval for lag in lags),
    )


def print_goals(results: list[SizeResult], interval: float) -> None:
    by_size = {result.pictures: result for result in results}
    goals = []
    if BASELINE in by_size and GROWN in by_size:
        goals.extend(growth_goals(by_size[BASELINE], by_size[GROWN]))
    if LARGEST in by_size:
        goals.extend(largest_goals(by_size[LARGEST], by_size.get(GROWN)))
    goals.append(watch_goal(results, interval))
    print()
    print("| goal (issue 19) | measured | met |")
    print("| --- | --- | --- |")
    for goal in goals:
        print(f"| {goal.text} | {goal.measured} | {'yes' if goal.met else '**no**'} |")
