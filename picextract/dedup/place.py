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
    """How many kept pictures were copied now, how many were already in the output, which could not be read."""

    new: int
    already: int
    unreadable: tuple[str, ...] = ()


def place(image: ImageFile, output: Path, link: bool) -> str:
    """Copy (or hard-link) a kept file to the same relative path in `output`: "new", "already" or "unreadable".

    A source file that cannot be read is reported by the caller; any other error (the output's disk) is raised.
    """
    target = output / image.name
    if target.is_file() and target.stat().st_size == image.size:
        return "already"
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
    except OSError as problem:
        part.unlink(missing_ok=True)
        if problem.filename == str(image.path):
            return "unreadable"
        raise
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return "new"


def place_all(kept: Sequence[ImageFile], output: Path, link: bool, workers: int) -> Placed:
    """Place every kept picture; the output folder is created when missing."""
    output.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda image: place(image, output, link), kept))
    unreadable = tuple(image.name for image, outcome in zip(kept, outcomes) if outcome == "unreadable")
    return Placed(outcomes.count("new"), outcomes.count("already"), unreadable)
