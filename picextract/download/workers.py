"""Download workers that never hold up the end of the program.

`concurrent.futures.ThreadPoolExecutor` joins its threads at exit, so one download stuck on a
silent socket would keep Ctrl-C waiting for the read timeout. These threads are daemons: after an
interrupt the run waits a moment for them, then leaves them behind.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Future[Any], Callable[[], Any]]


class DaemonPool:
    """A fixed number of daemon threads running submitted calls in order."""

    def __init__(self, workers: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{n}", daemon=True) for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run `job()` on a worker; its Future holds the result or the exception."""
        future: Future[T] = Future()
        self._jobs.put((future, job))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, call = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:  # handed to whoever waits on the future
                future.set_exception(error)

    def shutdown(self, wait: bool) -> None:
        """Stop the workers once the queued calls are done; with `wait`, wait for that."""
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


def in_background(job: Callable[[], T]) -> Callable[[], T]:
    """Start `job()` in a daemon thread; the returned callable waits for its result or raises its error."""
    outcome: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def work() -> None:
        try:
            outcome.put((True, job()))
        except BaseException as error:  # handed to the caller, raised there
            outcome.put((False, error))

    threading.Thread(target=work, name="background", daemon=True).start()

    def result() -> T:
        ok, value = outcome.get()
        if not ok:
            raise value
        return value

    return result
