"""`from discord_downloader import DiscordDownloader` in a clone; the class lives in picextract/download/downloader.py."""

from __future__ import annotations

from picextract.download.downloader import DiscordDownloader

__all__ = ["DiscordDownloader"]
