"""DiscordPicExtract: the parts behind main.py and deduplicate_images.py."""

__version__ = "1.1.0"
