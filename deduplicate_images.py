"""Remove re-posted pictures: same pHash and same size on the same date -> keep the earliest.

`python deduplicate_images.py --source DIR --output DIR` in a clone; installed, the same program is the
`discordpicextract-dedup` command. Its command line lives in picextract/dedup/cli.py.
"""

from __future__ import annotations

import sys

from picextract.dedup.cli import build_parser, main, run

__all__ = ["build_parser", "main", "run"]

if __name__ == "__main__":
    sys.exit(main())
