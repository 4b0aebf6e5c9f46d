"""Table tests for the filter rules (picextract/pictures/filters.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from picextract.download.run import resume_point
from picextract.pictures.filters import (
    Author,
    FilterGate,
    MessageFilter,
    message_author,
    message_text,
    parse_filter,
    unknown_authors,
    unknown_authors_message,
)

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "discord_fixtures"

ALICE = {"id": "101", "username": "alice_t", "global_name": "Alice"}
BOB = {"id": "102", "username": "bob", "global_name": None}
BOT = {"id": "103", "username": "signalbot", "global_name": None, "bot": True}


def _message(author: dict[str, Any], content: str = "", **extra: Any) -> dict[str, Any]:
    return {"id": "1", "author": author, "content": content, "embeds": [], **extra}


def _passes(message_filter: MessageFilter, message: dict[str, Any]) -> bool | None:
    return FilterGate(message_filter).see(message)


@pytest.mark.parametrize(
    ("authors", "message", "verdict"),
    [
        (["101"], _message(ALICE), True),  # user id
        (["alice_t"], _message(ALICE), True),  # user name
        (["Alice"], _message(ALICE), True),  # display name
        (["@alice_t"], _message(ALICE), True),  # a leading @ is ignored
        (["bob,Alice"], _message(ALICE), True),  # comma list
        (["bob", "carol"], _message(ALICE), False),  # repeated flag, nobody matches
        (["Bob"], _message(BOB), None),  # only ignoring case: held until the source's authors are known
        (["10"], _message(ALICE), False),  # no prefix matching
        (["Ali"], _message(ALICE), False),
        (["Alice"], _message(ALICE, member={"nick": "Al"}), True),
        (["Al"], _message(ALICE, member={"nick": "Al"}), True),  # server nickname
    ],
)
def test_author(authors: list[str], message: dict[str, Any], verdict: bool | None) -> None:
    assert _passes(parse_filter(authors, None, None), message) is verdict


def test_forward_counts_its_forwarding_author() -> None:
    forward = _message(BOB, message_reference={"type": 1}, message_snapshots=[{"message": {"content": "from Alice"}}])
    assert _passes(parse_filter(["bob"], None, None), forward) is True
    assert _passes(parse_filter(["Alice"], None, None), forward) is False


@pytest.mark.parametrize(
    ("source", "message", "verdict"),
    [
        ("bots", _message(BOT), True),
        ("bots", _message(ALICE), False),
        ("bots", _message({"id": "55", "username": "Captain Hook"}, webhook_id="55"), True),  # webhooks are bots
        ("people", _message({"id": "55", "username": "Captain Hook"}, webhook_id="55"), False),
        ("people", _message(ALICE), True),
        ("people", _message(BOT), False),
        ("all", _message(BOT), True),
        ("PEOPLE", _message(ALICE), True),
    ],
)
def test_from(source: str, message: dict[str, Any], verdict: bool) -> None:
    assert _passes(parse_filter(None, source, None), message) is verdict


EMBED = {"type": "rich", "title": "SPX Signal", "description": "Breakout above 5000", "image": {"url": "https://x.test/a.png"}}


@pytest.mark.parametrize(
    ("contains", "message", "verdict"),
    [
        ("spx", _message(ALICE, "SPX long here"), True),  # ignoring case
        ("spx", _message(ALICE, "ES long"), False),
        ("spx signal", _message(BOT, embeds=[EMBED]), True),  # embed title
        ("BREAKOUT", _message(BOT, embeds=[EMBED]), True),  # embed description
        ("spx", _message(BOB, message_snapshots=[{"message": {"content": "spx from elsewhere"}}]), True),  # forwarded text
        ("spx", _message(BOB, message_snapshots=[{"message": {"embeds": [EMBED]}}]), True),
        ("re:break(out|down)", _message(BOT, embeds=[EMBED]), True),
        ("re:^ES\\b", _message(ALICE, "es long"), True),  # the pattern ignores case too
        ("re:^ES\\b", _message(ALICE, "long ES"), False),
        ("re:5\\d{3}", _message(ALICE, "5000"), True),
        ("re:5\\d{3}", _message(ALICE, "500"), False),
    ],
)
def test_contains(contains: str, message: dict[str, Any], verdict: bool) -> None:
    assert _passes(parse_filter(None, None, contains), message) is verdict


def test_filters_combine_with_and() -> None:
    message_filter = parse_filter(["Alice"], "people", "spx")
    assert _passes(message_filter, _message(ALICE, "spx")) is True
    assert _passes(message_filter, _message(ALICE, "es")) is False
    assert _passes(message_filter, _message(BOB, "spx")) is False
    assert _passes(parse_filter(["signalbot"], "people", None), _message(BOT)) is False


@pytest.mark.parametrize(
    ("authors", "source", "contains", "error"),
    [
        (None, "robots", None, "--from must be one of all, bots, people"),
        (None, None, "re:(unclosed", "--contains: bad regular expression '(unclosed'"),
        (None, None, "re:*", "--contains: bad regular expression"),
        (None, None, "  ", "--contains needs some text"),
        ([" , "], None, None, "--author needs"),
    ],
)
def test_bad_filter_flags(authors: list[str] | None, source: str | None, contains: str | None, error: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_filter(authors, source, contains)
    assert str(caught.value).startswith(error)
    assert "\n" not in str(caught.value)


def test_exact_name_wins_over_a_name_that_differs_in_case() -> None:
    upper = {"id": "201", "username": "u1", "global_name": "Alice"}
    lower = {"id": "202", "username": "u2", "global_name": "alice"}
    gate = FilterGate(parse_filter(["alice"], None, None))
    assert gate.see(_message(upper)) is None  # held: an exact "alice" may still come
    assert gate.see(_message(lower)) is True
    assert [keep for _, keep in gate.release()] == [False]
    nobody_exact = FilterGate(parse_filter(["ALICE"], None, None))
    assert nobody_exact.see(_message(upper)) is None and nobody_exact.see(_message(lower)) is None
    assert [keep for _, keep in nobody_exact.release()] == [True, True]
    assert nobody_exact.release() == []


def test_exact_name_known_from_an_earlier_run_counts() -> None:
    gate = FilterGate(parse_filter(["alice"], None, None), known=[Author("202", "u2", "alice")])
    assert gate.see(_message({"id": "201", "username": "u1", "global_name": "Alice"})) is None
    assert [keep for _, keep in gate.release()] == [False]


def test_gate_remembers_every_author_even_without_filters() -> None:
    gate = FilterGate(MessageFilter())
    assert gate.see(_message(ALICE)) is True and gate.see(_message(BOT)) is True
    assert set(gate.authors) == {"101", "103"} and gate.authors["103"].is_bot


def test_key_is_stable_and_empty_without_filters() -> None:
    assert MessageFilter().key == "" and not MessageFilter().active
    assert parse_filter(["b", "a"], None, None).key == parse_filter(["a,b"], "all", None).key
    assert parse_filter(["a"], None, None).key != parse_filter(["a"], "bots", None).key
    assert parse_filter(None, None, "spx").key != parse_filter(None, None, "re:spx").key


def test_describe() -> None:
    assert MessageFilter().describe() == ""
    text = parse_filter(["alice,bob"], "people", "re:spx|es").describe()
    assert text == "by alice or bob, from people, with text matching /spx|es/"


def test_unknown_authors_lists_who_was_seen() -> None:
    known = [Author("101", "alice_t", "Alice"), Author("103", "signalbot", is_bot=True)]
    message_filter = parse_filter(["alice", "Alcie", "103"], None, None)
    assert unknown_authors(message_filter, known) == ["Alcie"]
    text = unknown_authors_message(["Alcie"], known)
    assert text == "--author: nobody named 'Alcie' posted in the window; authors seen: Alice (@alice_t), signalbot"
    assert unknown_authors_message(["x"], []).endswith("no authors were seen in the window")


def test_text_and_author_of_real_forward_fixture() -> None:
    path = FIXTURES / "message_forwarded_snapshot_rich_embeds_multi_image.json"
    if not path.is_file():
        pytest.skip("../shared/discord_fixtures is not present")
    message = json.loads(path.read_text())
    assert message_author(message) == Author("112760500130975744", "minimus", "minimus")
    # The forward's own content is empty; the tweet text is in the snapshot's embed description.
    assert _passes(parse_filter(["minimus"], None, "hideaki anno"), message) is True
    assert _passes(parse_filter(None, None, "re:fixupx\\.com/i/status"), message) is True
    assert "humanity" in message_text(message)


@pytest.mark.parametrize(
    ("coverages", "after", "expected"),
    [
        ([None, None], 10, (10, None)),  # nothing read yet
        ([(5, 20), None], 10, (20, (5, 20))),  # this filter's own progress
        ([(5, 20), (0, 30)], 10, (30, (0, 30))),  # an unfiltered run read further
        ([(5, 20), (11, 30)], 10, (20, (5, 20))),  # the unfiltered run started later than this window
        ([(0, 10)], 10, (10, None)),  # covered up to the window's start only
    ],
)
def test_resume_point(coverages: list[tuple[int, int] | None], after: int, expected: tuple[int, object]) -> None:
    assert resume_point(coverages, after) == expected
