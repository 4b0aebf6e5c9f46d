"""What a downloader does on every run, set once when it is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from picextract.pictures.filters import MessageFilter
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, NameTemplate


@dataclass(frozen=True)
class RunOptions:
    """What a downloader does on every run: set once, when it is made."""

    output_dir: Path
    tz: tzinfo | None
    workers: int
    kinds: frozenset[str]
    threads: bool
    dry_run: bool
    message_filter: MessageFilter = MessageFilter()
    name_template: NameTemplate = DEFAULT_NAME_TEMPLATE
    gallery: bool = False  # keep the folder's index.html up to date as pictures are saved
