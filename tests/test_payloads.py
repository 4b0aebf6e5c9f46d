"""Issue 22 part 4: generated message payloads through every rule the downloader applies to them.

Messages are drawn from Discord's published message schema (tests/payloads.py), valid ones and
mutated ones (missing fields, wrong types, nulls, huge strings, odd Unicode, nested forwards and
components), sent through the wire as the client reads it, then through picture extraction, the
filters, name planning, index rows, the state file and the gallery records. The invariants: no
exception (a message without a usable id is the one refusal); every attachment and embed picture of
a valid message is found; every name is valid on Windows and Linux and keeps the path under the
limit. The default run keeps few examples; `pytest -m payloads_long` runs thousands.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from picextract.gallery.page import folder_files, read_index
from picextract.gallery.records import gallery_items
from picextract.gallery.shards import month_of, row_line
from picextract.pictures.filenames import MAX_PATH_CHARS, fit_name, max_name_chars, name_candidates
from picextract.pictures.filters import FilterGate, MessageFilter, parse_filter
from picextract.pictures.media import has_media_extension, has_picture_extension, is_picture_content_type
from picextract.pictures.refs import DEFAULT_KINDS, KIND_RULES, MalformedMessage, MessagePictures, read_message
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, parse_template, render_name
from picextract.pictures.urls import is_emoji_url, normalize_url
from picextract.store.index import index_row
from picextract.store.index_sync import IndexSync, index_rows
from picextract.store.state import StateStore
from tests.payloads import JUNK, mutated, spec_messages, through_the_wire

UTC = timezone.utc
LONG_RUN = os.environ.get("PAYLOADS_EXAMPLES")  # `pytest -m payloads_long` sets its own count; this overrides it
EXAMPLES = {"valid": 25, "mutated": 40, "long": int(LONG_RUN or 2000)}
TEMPLATES = [
    DEFAULT_NAME_TEMPLATE,
    parse_template("{guild}_{channel}_{author}_{date}_{time}_{message_id}_{attachment_id}_{name}.{ext}"),
]
FILTERS = [
    MessageFilter(),
    parse_filter(["Signals", "80351110224678912"], "people", "re:chart|\\d"),
    parse_filter(["signals"], "bots", "x"),
]
# Windows: https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file (Linux: no "/" or NUL, 255 bytes).
WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³"}


def name_problems(name: str, folder_chars: int) -> list[str]:
    """Why a file name would fail on Windows or Linux, or break the path limit ([] when it is fine)."""
    problems = []
    if name in ("", ".", "..") or WINDOWS_FORBIDDEN.search(name):
        problems.append("empty or a forbidden character")
    if name.endswith((" ", ".")):
        problems.append("ends with a space or a dot")
    if name.split(".")[0].rstrip(" ").upper() in WINDOWS_DEVICES:
        problems.append("a Windows device name")
    if len(f"{name}.0123abcd.part".encode("utf-8", "surrogatepass")) > 255 or re.search("[\ud800-\udfff]", name):
        problems.append("its download's `.part` name over 255 bytes, or no UTF-8 form")
    units = len(name.encode("utf-16-le", "surrogatepass")) // 2  # path_chars, which a lone surrogate would break
    if folder_chars + 1 + units >= MAX_PATH_CHARS:
        problems.append(f"path of {folder_chars + 1 + units} characters")
    return problems


def planned_names(pictures: MessagePictures, folder_chars: int) -> Iterator[tuple[Any, str]]:
    """Each picture's candidate names under each template, as FileNames plans them (the extension from the bytes added)."""
    max_chars = max_name_chars(folder_chars)
    for ref in pictures.pictures:
        for template in TEMPLATES:
            base = fit_name(render_name(template, ref, UTC, "spx-realtime-aws", "Space Exploration"), max_chars)
            for planned in (base,) if has_media_extension(base) else (base, base + ".png"):
                for name in name_candidates(planned, ref, max_chars):
                    yield ref, name


def filtered(message: Mapping[str, Any]) -> None:
    """Every filter sees the message, as the run's FilterGate does."""
    for message_filter in FILTERS:
        gate = FilterGate(message_filter)
        gate.see(dict(message))
        gate.release()


def recorded(pictures: MessagePictures, names: dict[str, str]) -> None:
    """Files under the planned names, their rows in the state file and index.csv, read back as the gallery reads them."""
    rows = [
        index_row(ref, names[ref.identity], "#spx-realtime-aws", "", (ref.width or "", ref.height or ""))
        for ref in pictures.pictures
    ]
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        state = StateStore(folder)
        try:
            for ref, row in zip(pictures.pictures, rows):
                (folder / str(row[0])).write_bytes(b"picture")  # the name is one this file system takes
                state.record(ref.identity, str(row[0]), 7, ref.message_id, ref.channel_id, row)
            IndexSync(folder, state).rebuild()  # index.csv written whole from the state file
            written = {row[0] for row in index_rows(folder, state)}
        finally:
            state.close()
        assert written == set(names.values())
        items = gallery_items(read_index(folder), folder_files(folder), {})
        assert {item.file for item in items} == written
        texts = {ref.text for ref in pictures.pictures}  # as the message had it, or clipped (MAX_INDEX_TEXT_CHARS)
        assert all(any(text.startswith(item.text.removesuffix("…")) for text in texts) for item in items)
        for item in items:  # each picture's line in its month file
            assert month_of(item) and row_line(item, None).endswith(b"\n")


def downstream(message: Any, kinds: frozenset[str], folder_chars: int) -> MessagePictures | None:
    """A message through every rule a run applies; None when it has no usable id (skipped whole, counted)."""
    try:
        pictures = read_message(message, kinds)
    except MalformedMessage:
        raw_id = message.get("id") if isinstance(message, Mapping) else None
        usable = isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) and re.fullmatch("[0-9]+", str(raw_id))
        assert not (usable and 0 < int(raw_id) < 2**63), message  # skipped whole only without a usable id
        return None
    identities = [ref.identity for ref in pictures.pictures]
    assert len(identities) == len(set(identities))
    filtered(message)
    names: dict[str, str] = {}
    for ref, name in planned_names(pictures, folder_chars):
        assert name_problems(name, folder_chars) == [], (name, folder_chars)
        names[ref.identity] = name
    recorded(pictures, names)
    return pictures


def expected_pictures(message: Mapping[str, Any]) -> set[str]:
    """The attachment and embed pictures of a valid message and of its forwards, by normalised URL (DEFAULT_KINDS)."""
    wanted = set()
    for source in [message, *(snapshot["message"] for snapshot in message.get("message_snapshots", []))]:
        for attachment in source.get("attachments", []):
            content_type = attachment.get("content_type")
            if is_picture_content_type(content_type) if content_type else has_picture_extension(attachment["filename"]):
                wanted.add(attachment["url"])
        for embed in source.get("embeds", []):
            media: dict[str, Any] = {}
            if embed["type"] == "image":  # a pasted link: its picture is the thumbnail (KIND_RULES)
                media = embed.get("thumbnail") or embed.get("image") or {}
                media = {**media, "url": media.get("url") or embed.get("url") or media.get("proxy_url")}
            elif embed["type"] in ("rich", "article") and embed.get("image"):
                media = {**embed["image"], "url": embed["image"].get("url") or embed["image"].get("proxy_url")}
            if str(media.get("url")).startswith(("http://", "https://")) and is_picture_content_type(
                media.get("content_type") or "image/png"
            ):
                wanted.add(media["url"])
    return {normalize_url(url) for url in wanted if url and not is_emoji_url(url)}


def check_valid(message: dict[str, Any], folder_chars: int) -> None:
    message = through_the_wire(message)
    pictures = downstream(message, DEFAULT_KINDS, folder_chars)
    assert pictures is not None and pictures.unreadable == []
    found = {normalize_url(ref.url) for ref in pictures.pictures}
    assert expected_pictures(message) <= found
    downstream(message, frozenset(KIND_RULES), folder_chars)


def check_mutated(message: Any, folder_chars: int) -> None:
    message = through_the_wire(message)
    for kinds in (DEFAULT_KINDS, frozenset(KIND_RULES)):
        downstream(message, kinds, folder_chars)


FOLDERS = st.integers(1, 150)  # the output folder's length: names shrink to keep the whole path under the limit
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None)
# Now and then no message at all (one_of would flatten JUNK's branches and draw them far more often).
MUTATED = st.integers(0, 9).flatmap(lambda number: JUNK if number == 0 else spec_messages().flatmap(mutated))


@settings(FAST, max_examples=EXAMPLES["valid"])
@given(spec_messages(), FOLDERS)
def test_valid_messages_lose_no_picture(message: dict[str, Any], folder_chars: int) -> None:
    check_valid(message, folder_chars)


@settings(FAST, max_examples=EXAMPLES["mutated"])
@given(MUTATED, FOLDERS)
@example({"id": "¹", "content": ""}, 10)  # str.isdigit() is True for "¹", int() refuses it
@example(
    {"id": "1157854642810654821", "content": "x" * 200_000, "attachments": [{"url": "https://a/b.png", "filename": "b.png"}]}, 9
)
@example(
    {"id": "1157854642810654821", "content": "see http://[::1/x.png", "embeds": [{"type": "image", "url": "http://[::1/"}]}, 200
)
def test_mutated_messages_never_raise(message: Any, folder_chars: int) -> None:
    check_mutated(message, folder_chars)


@pytest.mark.payloads_long
@settings(FAST, max_examples=EXAMPLES["long"])
@given(spec_messages(), MUTATED, FOLDERS)
def test_many_payloads(message: dict[str, Any], broken: Any, folder_chars: int) -> None:
    check_valid(message, folder_chars)
    check_mutated(broken, folder_chars)


@pytest.mark.parametrize("name", ["CON.png", "com¹.png", "nul .tar.gz", "ࠀ" * 81 + ".png", "x.", "a<b>.png", "\ud83d.png"])
def test_the_name_check_can_fail(name: str) -> None:
    assert name_problems(name, 10) != []


def test_the_picture_check_can_fail() -> None:
    """The oracle finds an embed picture the extraction would lose (a rule that dropped rich embeds)."""
    message = {"id": "1157854642810654821", "embeds": [{"type": "rich", "image": {"url": "https://x.test/a.png"}}]}
    assert expected_pictures(message) == {"https://x.test/a.png"}
    assert expected_pictures(message) - {
        normalize_url(ref.url) for ref in read_message(message, frozenset({"attachments"})).pictures
    }
