"""The files the fake CDN hosts: small valid pictures, and stand-ins of the kind a captured URL names."""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image

PICTURE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}


def make_picture(seed: int, fmt: str = "PNG", size: tuple[int, int] = (6, 4)) -> bytes:
    """A small, valid picture whose bytes differ for every seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size[0] * size[1])])
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def stand_in(key: str) -> tuple[bytes, str]:
    """(bytes, content type) of a small file of the kind the path names: a picture, a video or a web page."""
    extension = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    if extension in PICTURE_FORMATS:
        image_format = PICTURE_FORMATS[extension]
        return make_picture(seed, image_format), f"image/{image_format.lower()}"
    if extension in ("mp4", "webm", "mov"):
        return b"\x00\x00\x00\x18ftypmp42" + seed.to_bytes(4, "big") + b"\x00" * 32, "video/mp4"
    return b"<!DOCTYPE html><html><body>captured link</body></html>", "text/html; charset=utf-8"
