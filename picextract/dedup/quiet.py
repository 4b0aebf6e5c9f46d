"""Quiet decoding: warnings of Pillow, libtiff and friends are captured and counted, not printed.

Python warnings (Pillow's `UserWarning`s, `DecompressionBombWarning`) are recorded through the
warnings module for the whole process while reading; C libraries such as libtiff write to file
descriptor 2 directly, so that descriptor points at a temporary file meanwhile. The caller gets a
stream on the real stderr for its progress bar.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class CapturedWarnings:
    """What the image libraries said while reading, one entry a line."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """warnings.showwarning replacement: remember the warning's text."""
        with self.lock:
            self.lines.append(f"{category.__name__}: {message}")


@contextmanager
def captured_library_output(capture: bool) -> Iterator[tuple[CapturedWarnings, TextIO]]:
    """Count Python warnings and native stderr lines while the block runs (unless `capture` is False).

    Yields the record and a text stream on the real stderr (for a progress bar).
    """
    captured = CapturedWarnings()
    if not capture:
        yield captured, sys.stderr
        return
    sys.stderr.flush()
    saved_fd = os.dup(2)
    real_stderr = os.fdopen(os.dup(saved_fd), "w", encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace")
    with tempfile.TemporaryFile() as native, warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = captured.record
        os.dup2(native.fileno(), 2)
        try:
            yield captured, real_stderr
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            real_stderr.close()
            native.seek(0)
            text = native.read().decode("utf-8", "backslashreplace")
            captured.lines.extend(line for line in text.splitlines() if line.strip())
