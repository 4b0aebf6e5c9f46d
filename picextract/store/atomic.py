"""One way to replace a file the program writes whole: a kill leaves the old file or the new one, never half."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8, newlines as given) to `name.part` beside `path`, then move it into place."""
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
