"""DiscordPicExtract: save every picture a Discord channel posted in a time window.

`python main.py` in a clone; installed, the same program is the `discordpicextract` command. It lives in
picextract/cli/app.py.
"""

from __future__ import annotations

import sys

from picextract.cli.app import DEMO_OUTPUT_DIR, main, rebuild_gallery, run

__all__ = ["DEMO_OUTPUT_DIR", "main", "rebuild_gallery", "run"]

if __name__ == "__main__":
    sys.exit(main())
