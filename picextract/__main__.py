"""`python -m picextract`: the downloader, as `discordpicextract` and `python main.py` run it."""

from __future__ import annotations

import sys

from picextract.cli.app import main

if __name__ == "__main__":
    sys.argv[0] = "python -m picextract"  # what --help names as the program (argparse would say `__main__.py`)
    sys.exit(main())
