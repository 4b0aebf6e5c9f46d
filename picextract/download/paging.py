"""Paging ahead: the next page of messages is fetched while this one is planned; a bot pages parts of the window at once."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from datetime import datetime, timezone
from functools import partial
from typing import Any

from picextract.discord.client import PAGE_LIMIT, DiscordClient
from picextract.pictures.ids import snowflake
from picextract.pictures.refs import datetime_to_snowflake

_END = object()
PARTS = 4  # a bot's window is paged in up to this many ranges at once
PART_DEPTH = 1000  # messages a range reads ahead of the one being handed on


def _put(buffer: queue.Queue[Any], item: Any, stops: tuple[threading.Event, ...]) -> bool:
    """Put `item` unless one of `stops` is set first; False when the consumer went away."""
    while not any(stop.is_set() for stop in stops):
        try:
            buffer.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _produce(items: Iterator[Any], buffer: queue.Queue[Any], *stops: threading.Event) -> None:
    try:
        for item in items:
            if not _put(buffer, item, stops):
                return
        _put(buffer, _END, stops)
    except BaseException as error:  # handed to the consumer, raised there
        _put(buffer, error, stops)


def prefetched(items: Iterator[Any], depth: int, stop: threading.Event) -> Iterator[Any]:
    """Run `items` in a background thread, up to `depth` ahead; exceptions reach the consumer; `stop` ends the producer."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    threading.Thread(target=_produce, args=(items, buffer, stop), name="paging", daemon=True).start()
    yield from _in_order([buffer])


def _part_ids(first_page: list[Any]) -> list[int]:
    """The usable ids of the messages of the first page."""
    ids = (snowflake(message.get("id")) if isinstance(message, dict) else None for message in first_page)
    return [message_id for message_id in ids if message_id is not None]


def part_bounds(after: int, cursor: int, before: int | None, upper: int, parts: int) -> list[tuple[int, int | None]]:
    """Split `cursor < id < before` (or up to `upper`, now) into up to `parts` ranges (after, before), oldest
    first; `after`..`cursor` is what the first page covered: the count follows how many pages that predicts.
    The last range keeps `before`, so messages newer than `upper` are read and checked as ever."""
    end = before if before is not None else upper
    covered = max(cursor - max(after, 0), 1)
    parts = min(parts, (end - cursor) // covered)
    if parts < 2:
        return []
    step = (end - cursor) // parts
    edges = [cursor + step * number for number in range(1, parts)]
    highs: list[int | None] = [*edges, before]
    return list(zip([cursor, *[edge - 1 for edge in edges]], highs))


def _in_order(buffers: list[queue.Queue[Any]]) -> Iterator[Any]:
    """The items of each buffer in turn, until its end mark; an exception put there is raised here."""
    for buffer in buffers:
        while True:
            item = buffer.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            yield item


def paged_in_parts(
    pages: Callable[[int, int | None], Iterator[Any]], after: int, before: int | None, upper: int, stop: threading.Event
) -> Iterator[Any]:
    """Messages with after < id < before, oldest first, from `pages(after, before)` (a paging iterator).

    `upper` is the snowflake of now: the end of the window when `before` is None.

    A bot may send API requests in parallel (its rate-limit headers set the pace): after the first
    page, the rest of the window (up to `upper`, now) is split into snowflake ranges paged at once,
    each in its own thread, buffered up to PART_DEPTH messages, and handed on in order, so the
    caller sees exactly the sequence one paging iterator would give.
    """
    first = pages(after, before)
    first_page: list[Any] = []
    try:
        first_page.extend(itertools.islice(first, PAGE_LIMIT))
    except BaseException:  # an error on the first page: the messages before it are handed on first, as ever
        yield from first_page
        raise
    ids = _part_ids(first_page)
    bounds = part_bounds(after, max(ids), before, upper, PARTS) if len(first_page) == PAGE_LIMIT and ids else []
    if not bounds:
        yield from first_page
        yield from first
        return
    if isinstance(first, Generator):
        first.close()
    done = threading.Event()
    buffers: list[queue.Queue[Any]] = [queue.Queue(maxsize=PART_DEPTH) for _ in bounds]
    for (low, high), buffer in zip(bounds, buffers):
        threading.Thread(target=_produce, args=(pages(low, high), buffer, stop, done), name="paging", daemon=True).start()
    try:
        yield from first_page
        yield from _in_order(buffers)
    finally:
        done.set()


def channel_messages(
    client: DiscordClient, channel_id: str, after: int, before: int | None, stop: threading.Event
) -> Iterator[Any]:
    """The messages of a channel with after < id < before, oldest first; a bot pages parts of the window at once, a user token never."""
    if not client.is_bot:
        return client.iter_messages(channel_id, after, before)
    upper = datetime_to_snowflake(datetime.now(timezone.utc))
    return paged_in_parts(partial(client.iter_messages, channel_id), after, before, upper, stop)
