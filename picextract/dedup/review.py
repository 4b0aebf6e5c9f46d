"""The dedup review page: each group's kept picture beside its removed copies, a histogram of the
gaps with the 95th percentile marked, the outliers, and the numbers the dedup printed.

The page is static HTML with no script at all (its Content-Security-Policy allows none); every
text from file names goes through html.escape.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from urllib.parse import quote

from picextract.dedup.groups import DedupResult, ImageFile, keeper_order
from picextract.dedup.report import (
    Counts,
    DuplicatePair,
    TimeStatistics,
    format_duration,
    outlier_pairs,
    summary_rows,
    time_statistics,
)
from picextract.store.atomic import write_atomic

HISTOGRAM_BINS = 24
SVG_WIDTH, SVG_HEIGHT, SVG_MARGIN = 760, 220, 40
_STYLE = """
body { margin: 0; padding: 16px 24px; background: #1e1f22; color: #dbdee1; font: 14px/1.4 system-ui, sans-serif; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; } td, th { padding: 2px 12px 2px 0; text-align: left; vertical-align: top; }
.numbers td:last-child { font-variant-numeric: tabular-nums; }
.group { background: #2b2d31; border-radius: 8px; padding: 10px 12px; margin: 12px 0; }
.group h3 { margin: 0 0 8px; font-size: 14px; font-weight: 600; }
.row { display: flex; flex-wrap: wrap; gap: 12px; }
.pic { margin: 0; width: 220px; border: 2px solid #444; border-radius: 6px; padding: 6px; background: #111214; }
.pic.kept { border-color: #3ba55d; } .pic.removed { border-color: #ed4245; }
.pic img { display: block; width: 100%; height: 150px; object-fit: contain; }
.pic figcaption { font-size: 12px; margin-top: 4px; overflow-wrap: anywhere; unicode-bidi: isolate; }
.label { font-weight: 700; text-transform: uppercase; font-size: 11px; } .kept .label { color: #3ba55d; } .removed .label { color: #ed4245; }
.stats { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.muted { color: #949ba4; } a { color: #00a8fc; } svg text { fill: #dbdee1; font-size: 11px; }
"""
_CSP = "default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'"


def picture_url(picture: Path, page_folder: Path) -> str:
    """The picture's address relative to the page (an absolute file: URL when none exists)."""
    try:
        relative = Path(os.path.relpath(picture.resolve(), page_folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return picture.resolve().as_uri()
    return quote(relative, safe="/")


def groups_of(result: DedupResult) -> list[tuple[ImageFile, list[ImageFile]]]:
    """(kept picture, its removed copies), groups in keeper order, copies in time order."""
    copies: dict[str, list[ImageFile]] = {}
    keepers: dict[str, ImageFile] = {}
    for removed, kept in result.removed:
        keepers[kept.name] = kept
        copies.setdefault(kept.name, []).append(removed)
    ordered = sorted(keepers.values(), key=keeper_order)
    return [(kept, sorted(copies[kept.name], key=keeper_order)) for kept in ordered]


def histogram_counts(values: Sequence[float], bins: int = HISTOGRAM_BINS) -> tuple[float, float, list[int]]:
    """(low, width of a bin, counts): equal-width bins from the smallest to the largest value."""
    low, high = min(values), max(values)
    width = (high - low) / bins if high > low else 1.0
    counts = [0] * (bins if high > low else 1)
    for value in values:
        counts[min(int((value - low) / width), len(counts) - 1)] += 1
    return low, width, counts


def _anchor(x: float) -> str:
    """Where a label at x hangs so it stays inside the picture."""
    if x > SVG_WIDTH - 140:
        return "end"
    return "start" if x < 140 else "middle"


def histogram_svg(values: Sequence[float], p95: float) -> str:
    """An inline SVG histogram of the gaps with the 95th percentile as a dashed line."""
    low, width, counts = histogram_counts(values)
    plot_width, plot_height = SVG_WIDTH - 2 * SVG_MARGIN, SVG_HEIGHT - 2 * SVG_MARGIN
    span = width * len(counts)
    tallest = max(counts)
    bar_width = plot_width / len(counts)
    parts = []
    for number, count in enumerate(counts):
        height = plot_height * count / tallest
        x, y = SVG_MARGIN + number * bar_width, SVG_MARGIN + plot_height - height
        start, end = low + number * width, low + (number + 1) * width
        parts.append(
            f'<rect class="bar" data-count="{count}" x="{x:.1f}" y="{y:.1f}" width="{max(bar_width - 1, 1):.1f}" '
            f'height="{height:.1f}" fill="#5865f2"><title>{escape(format_duration(start))} to '
            f"{escape(format_duration(end))}: {count}</title></rect>"
        )
    p95_x = SVG_MARGIN + plot_width * ((p95 - low) / span if span else 0.5)
    bottom = SVG_MARGIN + plot_height
    parts += [
        f'<line x1="{SVG_MARGIN}" y1="{bottom}" x2="{SVG_MARGIN + plot_width}" y2="{bottom}" stroke="#949ba4"/>',
        f'<text x="{SVG_MARGIN}" y="{bottom + 16}">{escape(format_duration(low))}</text>',
        f'<text x="{SVG_MARGIN + plot_width}" y="{bottom + 16}" text-anchor="end">{escape(format_duration(low + span))}</text>',
        f'<text x="{SVG_MARGIN - 6}" y="{SVG_MARGIN + 4}" text-anchor="end">{tallest}</text>',
        f'<text x="{SVG_MARGIN + plot_width / 2:.1f}" y="{bottom + 30}" text-anchor="middle">gap: removed copy minus kept picture '
        f"({len(values)} pairs)</text>",
        f'<line id="p95" x1="{p95_x:.1f}" y1="{SVG_MARGIN - 12}" x2="{p95_x:.1f}" y2="{bottom}" stroke="#ed4245" '
        'stroke-width="2" stroke-dasharray="5 3"/>',
        f'<text x="{p95_x:.1f}" y="{SVG_MARGIN - 16}" text-anchor="{_anchor(p95_x)}">95th percentile {escape(format_duration(p95))}</text>',
    ]
    return (
        f'<svg class="histogram" role="img" aria-label="Histogram of the time gaps" width="{SVG_WIDTH}" height="{SVG_HEIGHT}" '
        f'viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}">{"".join(parts)}</svg>'
    )


def statistics_rows(stats: TimeStatistics) -> list[tuple[str, str]]:
    """The rows of the printed statistics (report.statistics_text), label and value."""
    return [
        ("Total pairs calculated", f"{stats.count:,}"),
        ("Mean difference", format_duration(stats.mean)),
        ("Median difference", format_duration(stats.median)),
        ("Standard deviation", format_duration(stats.std)),
        ("Minimum difference", format_duration(stats.minimum)),
        ("Maximum difference", format_duration(stats.maximum)),
        ("25th percentile", format_duration(stats.p25)),
        ("75th percentile", format_duration(stats.p75)),
        ("90th percentile", format_duration(stats.p90)),
        ("95th percentile", format_duration(stats.p95)),
    ]


def _table(rows: Sequence[tuple[str, str]], css_class: str) -> str:
    cells = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in rows)
    return f'<table class="{css_class}">{cells}</table>'


def _picture(image: ImageFile, status: str, url: Callable[[ImageFile], str], gap: str) -> str:
    when = image.taken_at.strftime("%Y-%m-%d %H:%M:%S") if image.taken_at else "undated"
    return (
        f'<figure class="pic {status}"><img loading="lazy" src="{escape(url(image))}" alt="{escape(image.name)}">'
        f'<figcaption><span class="label">{status}</span> <span class="when">{escape(when)}</span>'
        f'{escape(gap)}<br><span class="name" dir="auto">{escape(image.name)}</span></figcaption></figure>'
    )


def _gap_text(removed: ImageFile, kept: ImageFile) -> str:
    if removed.taken_at is None or kept.taken_at is None:
        return " · gap unknown"
    return f" · +{format_duration((removed.taken_at - kept.taken_at).total_seconds())}"


def _group_html(number: int, kept: ImageFile, copies: list[ImageFile], url: Callable[[ImageFile], str]) -> str:
    cards = [_picture(kept, "kept", url, "")] + [_picture(copy, "removed", url, _gap_text(copy, kept)) for copy in copies]
    removed = f"{len(copies)} {'copy' if len(copies) == 1 else 'copies'} removed"
    return (
        f'<section class="group" id="group-{number}"><h3>Group {number} · {removed}</h3>'
        f'<div class="row">{"".join(cards)}</div></section>'
    )


def _statistics_html(pairs: list[DuplicatePair], group_numbers: dict[str, int]) -> str:
    stats = time_statistics([pair.difference_seconds for pair in pairs])
    if stats is None:
        return '<p class="muted">No dated duplicates found: there are no timestamp differences to report.</p>'
    outliers = outlier_pairs(pairs, stats)
    rows = "".join(
        f'<tr><td><a href="#group-{group_numbers.get(pair.kept, 0)}" dir="auto">{escape(pair.removed)}</a></td>'
        f'<td>{escape(format_duration(pair.difference_seconds))}</td><td dir="auto">{escape(pair.kept)}</td></tr>'
        for pair in outliers
    )
    return (
        f'<div class="stats">{_table(statistics_rows(stats), "numbers statistics")}'
        f"{histogram_svg([pair.difference_seconds for pair in pairs], stats.p95)}</div>"
        + f"<h2>Above the 95th percentile ({escape(format_duration(stats.p95))}): {len(outliers)} files</h2>"
        + f'<table class="outliers"><tr><th>removed</th><th>gap</th><th>duplicate of</th></tr>{rows}</table>'
    )


def review_html(source: Path, page_folder: Path, counts: Counts, result: DedupResult) -> str:
    """The whole review page."""
    groups = groups_of(result)
    group_numbers = {kept.name: number for number, (kept, _) in enumerate(groups, 1)}

    def url(image: ImageFile) -> str:
        return picture_url(source / image.name, page_folder)

    summary = summary_rows(counts)
    body = [
        f'<h1>Deduplication review: <span dir="auto">{escape(str(source))}</span></h1>',
        _table(summary, "numbers summary"),
        "<h2>Timestamp difference statistics (removed vs kept)</h2>",
        _statistics_html(result.pairs, group_numbers),
        f"<h2>Groups ({len(groups)})</h2>",
        *(_group_html(number, kept, copies, url) for number, (kept, copies) in enumerate(groups, 1)),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Dedup review · {escape(source.name)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_review_page(path: Path, source: Path, counts: Counts, result: DedupResult) -> None:
    """Write the review page to `path` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, review_html(source, path.parent, counts, result))
