"""Placing the kept pictures in the output folder: copy (or hard-link) through a `.part` file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from picextract.dedup.groups import ImageFile


@dataclass(frozen=True)
class Placed:
    """How many kept pictures were copied now and how many were already in the output."""

    new: int
    already: int


def place(image: ImageFile, output: Path, link: bool) -> bool:
    """Copy (or hard-link) a kept file to the same relative path in `output`; False when an equal-size copy is there."""
    target = output / image.name
    if target.is_file() and target.stat().st_size == image.size:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f"{target.name}.part")
    try:
        if link:
            try:
                part.unlink(missing_ok=True)
                os.link(image.path, part)
            except OSError:  # another file system, or links not allowed: copy instead
                shutil.copy2(image.path, part)
        else:
            shutil.copy2(image.path, part)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return True


def place_all(kept: Sequence[ImageFile], output: Path, link: bool, workers: int) -> Placed:
    """Place every kept picture; the output folder is created when missing."""
    output.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        new = sum(pool.map(lambda image: place(image, output, link), kept))
    return Placed(new, len(kept) - new)
