"""Paging ahead: the next page of messages is fetched while this one is planned."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

_END = object()


def _put(buffer: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put `item` unless `stop` is set first; False when the consumer went away."""
    while not stop.is_set():
        try:
            buffer.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _produce(items: Iterator[Any], buffer: queue.Queue[Any], stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(buffer, item, stop):
                return
        _put(buffer, _END, stop)
    except BaseException as error:  # handed to the consumer, raised there
        _put(buffer, error, stop)


def prefetched(items: Iterator[Any], depth: int, stop: threading.Event) -> Iterator[Any]:
    """Run `items` in a background thread, up to `depth` ahead; exceptions reach the consumer; `stop` ends the producer."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    threading.Thread(target=_produce, args=(items, buffer, stop), name="paging", daemon=True).start()
    while True:
        item = buffer.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
