"""Pillow with a decoder for every picture type of the media table.

Pillow reads PNG, JPEG, GIF, WebP, BMP, TIFF and AVIF itself; HEIC/HEIF (iPhone photos) come from
pillow-heif's plugin (https://pillow-heif.readthedocs.io/en/latest/), registered here once.
Modules that open pictures import `Image` from here, never from PIL directly.
"""

from __future__ import annotations

from PIL import Image
from pillow_heif import register_heif_opener

register_heif_opener()

__all__ = ["Image"]
