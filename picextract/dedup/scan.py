"""Walking the source folder: every file sorted into pictures, other files, skipped links and problems.

Only regular files are ever opened. Symbolic links are not followed; with `follow_links` a link is
followed only when its target lies inside the source folder, and each folder is walked once, so a
link loop cannot hang the run. Hidden files and folders (names starting with `.`, such as the
downloader's state file) are left out. A folder or file that cannot be listed or examined is
reported and the walk goes on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from picextract.pictures.media import PICTURE_EXTENSIONS


def display_name(name: str) -> str:
    """A file name as text: bytes that are not valid UTF-8 are shown as `\\xe9` escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class FoundFile:
    """A regular file under the source folder."""

    path: str  # a plain string: a rerun handles every file, and Path objects cost time
    relative: str  # relative to the source, `/`-separated, as the file system gives it (may hold surrogates)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Problem:
    """A file or folder that could not be used, and why."""

    name: str  # relative to the source, for display
    reason: str


@dataclass
class ScanResult:
    """Everything under the source folder, each file in exactly one list."""

    pictures: list[FoundFile] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    links_skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


class _Walker:
    def __init__(self, source: Path, follow_links: bool) -> None:
        self.root = os.path.realpath(source)
        self.follow_links = follow_links
        self.result = ScanResult()
        self.seen_folders: set[tuple[int, int]] = set()
        self.pending: list[tuple[str, str]] = []

    def walk(self) -> ScanResult:
        self._enter(self.root, "")
        while self.pending:
            folder, prefix = self.pending.pop()
            self._list(folder, prefix)
        self.result.pictures.sort(key=lambda found: found.relative)
        return self.result

    def _enter(self, folder: str, prefix: str) -> None:
        try:
            info = os.stat(folder)
        except OSError as problem:
            self.result.problems.append(Problem(display_name(prefix or "."), f"cannot open folder: {problem.strerror}"))
            return
        if (info.st_dev, info.st_ino) in self.seen_folders:
            self.result.links_skipped.append(display_name(prefix))  # a loop, or a second way into one folder
            return
        self.seen_folders.add((info.st_dev, info.st_ino))
        self.pending.append((folder, prefix))

    def _list(self, folder: str, prefix: str) -> None:
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError as problem:
            self.result.problems.append(Problem(display_name(prefix or "."), f"cannot open folder: {problem.strerror}"))
            return
        for entry in listed:
            if not entry.name.startswith("."):
                self._visit(entry, prefix + entry.name)

    def _visit(self, entry: os.DirEntry[str], relative: str) -> None:
        try:
            if entry.is_symlink():
                self._visit_link(entry, relative)
            elif entry.is_dir(follow_symlinks=False):
                self._enter(entry.path, relative + "/")
            elif entry.is_file(follow_symlinks=False):
                self._add_file(entry.path, relative, entry.stat(follow_symlinks=False))
            else:
                self.result.others.append(display_name(relative))  # a socket, pipe or device: never opened
        except OSError as problem:
            self.result.problems.append(Problem(display_name(relative), f"cannot examine: {problem.strerror}"))

    def _visit_link(self, entry: os.DirEntry[str], relative: str) -> None:
        target = os.path.realpath(entry.path)
        if not self.follow_links or not _inside(target, self.root):
            self.result.links_skipped.append(display_name(relative))
        elif os.path.isdir(target):
            self._enter(target, relative + "/")
        elif os.path.isfile(target):
            self._add_file(entry.path, relative, os.stat(target))
        else:
            self.result.links_skipped.append(display_name(relative))  # dangling

    def _add_file(self, path: str, relative: str, info: os.stat_result) -> None:
        if os.path.splitext(relative)[1].lower() in PICTURE_EXTENSIONS:  # the media table's extensions
            self.result.pictures.append(FoundFile(path, relative, info.st_size, info.st_mtime_ns))
        else:
            self.result.others.append(display_name(relative))


def scan_source(source: Path, follow_links: bool = False) -> ScanResult:
    """Every file under `source`: pictures (by the media table's extensions), others, links skipped, problems."""
    return _Walker(source, follow_links).walk()
