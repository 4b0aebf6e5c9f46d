"""Reading pictures: the header check, the content digest and the pHash, with a memory budget.

The pHash is imagehash's `phash` (default settings) computed the same way, step for step, so the
results equal the plain `imagehash.phash(Image.open(path))` for every mode where that works and
means something. Modes where it fails or clips get a documented conversion first (README,
"Unusual picture modes"): LAB -> its lightness channel; La -> LA; 16-bit and 32-bit gray (I;16*, I,
F) -> stretched from their darkest to their lightest value onto 0-255; HSV -> RGB.
"""

from __future__ import annotations

import ctypes
import hashlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy

from picextract.pictures.imaging import Image

HASH_SIDE = 32  # imagehash.phash: hash_size 8 x highfreq_factor 4
HASH_BITS_SIDE = 8
MEMORY_BUDGET_BYTES = 256 * 2**20  # decoded pixels in flight at once; one larger picture runs alone
# Bytes per pixel while hashing: Pillow's storage of the decoded mode plus the 8-bit gray copy.
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_EXTRA_BYTES = {"L": 0, "I": 5, "F": 5, "I;16": 9, "I;16L": 9, "I;16B": 9, "I;16N": 9}
_WIDE_GRAY = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")
_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter (malloc.h)
_MMAP_THRESHOLD_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Header:
    """What a picture's header says, read without decoding the pixels."""

    width: int
    height: int
    mode: str


@dataclass(frozen=True)
class HashOutcome:
    """A content's pHash (hex), or None with the reason it could not be computed (None and no reason: decoded, not hashed)."""

    phash: str | None
    problem: str | None = None


def return_freed_pixels_to_system() -> None:
    """Let glibc hand large freed blocks straight back (mmap), instead of keeping them in each thread's arena.

    Without this, every worker thread keeps the pixels of the largest picture it decoded, and the
    memory budget would not bound the process's memory.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl): it returns large blocks anyway
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def describe_problem(problem: BaseException) -> str:
    """A one-line reason for a file that cannot be read as a picture."""
    if isinstance(problem, Image.DecompressionBombError):
        return f"decompression bomb, skipped ({problem})"
    if isinstance(problem, OSError) and problem.strerror:
        return f"cannot read: {problem.strerror}"
    text = str(problem).splitlines()[0] if str(problem) else type(problem).__name__
    return f"cannot decode: {text}"


def read_header(path: str | Path) -> tuple[Header | None, str | None]:
    """The size and mode from the file's header, or None and the reason it is no readable picture."""
    try:
        with Image.open(path) as image:
            return Header(image.width, image.height, image.mode), None
    except Exception as problem:  # Pillow raises many types for foreign or broken files; all mean "unreadable"
        return None, describe_problem(problem)


def file_digest(path: str | Path) -> str:
    """BLAKE2b of the file's bytes: byte-identical files share one pHash computation."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "blake2b").hexdigest()


def hashing_bytes(header: Header) -> int:
    """Memory the pHash of this picture needs at its peak (decoded pixels plus the gray copy)."""
    pixels = header.width * header.height
    return pixels * (_STORAGE_BYTES.get(header.mode, 4) + _EXTRA_BYTES.get(header.mode, 1))


def to_gray(image: Image.Image) -> Image.Image:
    """The 8-bit gray picture the pHash is taken of (the plain `convert("L")` where that is meaningful)."""
    mode = image.mode
    if mode == "L":
        return image  # imagehash's convert("L") would copy it; the pixels are the same
    if mode == "LAB":
        return image.getchannel("L")
    if mode == "La":
        return image.convert("LA").convert("L")
    if mode == "HSV":
        return image.convert("RGB").convert("L")
    if mode in _WIDE_GRAY:
        wide = image if mode in ("I", "F") else image.convert("I")
        low, high = (float(value) for value in wide.getextrema())  # type: ignore[arg-type]  # one band: (min, max)
        scale = 255.0 / (high - low) if high > low else 0.0
        return wide.point(lambda value: (value - low) * scale).convert("L")
    return image.convert("L")


def phash_of_gray(gray: Image.Image) -> str:
    """imagehash.phash on an 8-bit gray picture, as hex."""
    import scipy.fftpack  # type: ignore[import-untyped]

    pixels = numpy.asarray(gray.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS))
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = dct[:HASH_BITS_SIDE, :HASH_BITS_SIDE]
    bits = (low > numpy.median(low)).flatten()
    # imagehash.ImageHash.__str__: the bits, most significant first, as zero-padded hex.
    value = int("".join("1" if bit else "0" for bit in bits), 2)
    return f"{value:0{HASH_BITS_SIDE * HASH_BITS_SIDE // 4}x}"


def picture_phash(path: str | Path) -> HashOutcome:
    """The pHash of the picture at `path` (its first frame), or the reason it cannot be computed."""
    try:
        with Image.open(path) as image:
            image.load()
            gray = to_gray(image)
            return HashOutcome(phash_of_gray(gray))
    except Exception as problem:  # any decoder failure means "cannot be hashed": the file is kept, never removed
        return HashOutcome(None, describe_problem(problem))


def picture_decodes(path: str | Path) -> HashOutcome:
    """Decode the picture fully without hashing it: HashOutcome(None) when it decodes, else the reason."""
    try:
        with Image.open(path) as image:
            image.load()
            return HashOutcome(None)
    except Exception as problem:  # any decoder failure: the file is kept, never removed
        return HashOutcome(None, describe_problem(problem))


class MemoryBudget:
    """Admits work while the bytes in flight stay within the budget; a larger job waits to run alone."""

    def __init__(self, budget_bytes: int = MEMORY_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._in_flight = 0
        self._condition = threading.Condition()

    @contextmanager
    def reserve(self, cost_bytes: int) -> Iterator[None]:
        """Wait until `cost_bytes` fit (or nothing else runs), hold them while the block runs."""
        with self._condition:
            while self._in_flight and self._in_flight + cost_bytes > self.budget_bytes:
                self._condition.wait()
            self._in_flight += cost_bytes
        try:
            yield
        finally:
            with self._condition:
                self._in_flight -= cost_bytes
                self._condition.notify_all()
