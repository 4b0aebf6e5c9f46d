"""What became of a picture is one closed set (`SaveStatus`): the summary counts every member, and
nothing else passes for a status."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import get_type_hints

import pytest

from picextract.download.results import SaveResult, SaveStatus, Summary
from picextract.pictures.refs import PictureRef

COUNTERS = [field.name for field in fields(Summary) if field.type == "int"]
POSTED = datetime(2026, 1, 1, tzinfo=UTC)
REF = PictureRef("attachment:1", "https://cdn/a.png", None, "a.png", "image/png", 10, 1, "2", POSTED, "attachment")


def _counted(status: SaveStatus | str) -> dict[str, int]:
    """The summary's counters one result of `status` moves (bytes aside)."""
    summary = Summary()
    summary.add(SaveResult(REF, "a.png", status, size_bytes=10))  # a str, as a caller mypy does not check may pass
    return {name: getattr(summary, name) for name in COUNTERS if getattr(summary, name) and name != "bytes_downloaded"}


def test_the_status_of_a_save_result_is_typed_as_the_closed_set() -> None:
    assert get_type_hints(SaveResult)["status"] is SaveStatus


@pytest.mark.parametrize("status", list(SaveStatus))
def test_the_summary_counts_every_status_once(status: SaveStatus) -> None:
    """A new status without its counter fails here (and in mypy: the summary's match is exhaustive)."""
    assert len(_counted(status)) == 1, _counted(status)


def test_each_status_has_its_own_counter() -> None:
    counters = [next(iter(_counted(status))) for status in SaveStatus]
    assert len(set(counters)) == len(SaveStatus), dict(zip(SaveStatus, counters))


@pytest.mark.parametrize("text", ["downloaded", "downloded", "failed", ""])
def test_a_status_written_as_text_is_refused_not_counted_as_failed(text: str) -> None:
    with pytest.raises(AssertionError):
        _counted(text)
