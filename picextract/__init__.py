"""DiscordPicExtract: the package behind the `discordpicextract` and `discordpicextract-dedup` commands.

A clone's main.py and deduplicate_images.py are front doors over the same code; the version is
pyproject.toml's (`picextract.version`).
"""
