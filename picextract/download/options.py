"""What a downloader does on every run: one frozen value, the same for every channel of an invocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from picextract.config import MAX_WORKERS
from picextract.pictures.filters import MessageFilter
from picextract.pictures.refs import DEFAULT_KINDS
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, NameTemplate


@dataclass(frozen=True)
class RunOptions:
    """What a downloader does on every run (its folder is given apart: each channel has its own)."""

    tz: tzinfo | None = None
    workers: int = MAX_WORKERS
    kinds: frozenset[str] = DEFAULT_KINDS
    threads: bool = True
    dry_run: bool = False
    message_filter: MessageFilter = MessageFilter()
    name_template: NameTemplate = DEFAULT_NAME_TEMPLATE
    gallery: bool = True  # keep the folder's index.html up to date as pictures are saved (not in a dry run)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
