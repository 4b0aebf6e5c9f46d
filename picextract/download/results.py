"""What a run produces: a SaveResult per picture, the Summary, and the Reporter callbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, assert_never

from picextract.pictures.filters import Author
from picextract.pictures.refs import PictureRef, UnreadablePart


class SaveStatus(Enum):
    """What became of one picture; never text, so a misspelt status is a type error, not a failure."""

    DOWNLOADED = "downloaded"
    SKIPPED = "skipped"  # already on disk
    FAILED = "failed"  # tried again next run
    PLANNED = "planned"  # a dry run's: would be downloaded
    NOT_PICTURE = "not_picture"  # a web page or another non-picture: recorded, not fetched again
    GIVEN_UP = "given_up"  # given up on an earlier run: not tried again


@dataclass(frozen=True)
class SaveResult:
    """What became of one picture."""

    ref: PictureRef
    filename: str
    status: SaveStatus
    size_bytes: int = 0
    error: str | None = None
    refreshed: bool = False
    http_status: int | None = None


@dataclass
class Summary:
    """Totals of one run."""

    messages_scanned: int = 0
    pictures_found: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    planned: int = 0
    refreshed: int = 0
    threads_scanned: int = 0
    threads_skipped: int = 0
    bytes_downloaded: int = 0
    api_requests: int = 0
    elapsed_seconds: float = 0.0
    not_pictures: int = 0  # links that answered a web page or another non-picture: recorded, not fetched again
    given_up: int = 0  # pictures given up on an earlier run, not tried again
    malformed: int = 0  # messages skipped because they have no usable id
    unreadable: list[UnreadablePart] = field(default_factory=list)  # parts of messages that could not be read
    interrupted: bool = False
    failures: list[SaveResult] = field(default_factory=list)
    filters_on: bool = False
    left_out: int = 0  # pictures of messages the filters left out
    authors_seen: dict[str, Author] = field(default_factory=dict)  # id -> author, for the --author check
    source_errors: list[str] = field(default_factory=list)  # channels or threads whose paging stopped

    @property
    def has_errors(self) -> bool:
        """Some picture failed, some part of a message (which may have held a picture) could not be read,
        or some channel could not be read to its end."""
        return bool(self.failed or self.unreadable or self.source_errors)

    def add(self, result: SaveResult) -> None:
        """Count one finished picture."""
        self.refreshed += result.refreshed
        match result.status:
            case SaveStatus.DOWNLOADED:
                self.downloaded += 1
                self.bytes_downloaded += result.size_bytes
            case SaveStatus.SKIPPED:
                self.skipped += 1
            case SaveStatus.PLANNED:
                self.planned += 1
            case SaveStatus.NOT_PICTURE:
                self.not_pictures += 1
            case SaveStatus.GIVEN_UP:
                self.given_up += 1
            case SaveStatus.FAILED:
                self.failed += 1
                self.failures.append(result)
            case unknown:  # mypy checks every status has its case; a plain string lands here
                assert_never(unknown)


class Reporter(Protocol):
    """Progress callbacks; main.py decides how (or whether) to show them."""

    def message_scanned(self) -> None: ...

    def picture_found(self) -> None: ...

    def picture_done(self, result: SaveResult) -> None: ...

    def note(self, text: str) -> None: ...


class NullReporter:
    """Shows nothing."""

    def message_scanned(self) -> None:
        pass

    def picture_found(self) -> None:
        pass

    def picture_done(self, result: SaveResult) -> None:
        pass

    def note(self, text: str) -> None:
        pass
