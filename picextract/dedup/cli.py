"""Remove re-posted pictures: same pHash and same size on the same date -> keep the earliest.

The command line only: flags, then the dedup in picextract/dedup (scan -> read -> decide -> place
-> report) inside the error boundary.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from picextract.config import Settings, env_file_places, find_env_file, load_settings, read_environment, settings_for_help
from picextract.dedup.cache import default_cache_path
from picextract.dedup.run import DedupOptions, run_dedup
from picextract.errors import EXIT_CODES_HELP, ExitCode, error_boundary
from picextract.store.layout import clean_root

DEDUP_EXIT_NOTE = "For the dedup, 1 means some files could not be read (they are listed, kept and never removed)."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"error: {message} (see --help)\n")


def build_parser(settings: Settings, cache: Path) -> argparse.ArgumentParser:
    """The flags of deduplicate_images.py."""
    parser = _Parser(
        description="Copy one picture of each group of re-posts (same pHash and size, same date) to a clean folder.",
        epilog=f"{EXIT_CODES_HELP} {DEDUP_EXIT_NOTE}",
    )
    source, output = settings.DEFAULT_OUTPUT_DIR, str(clean_root(Path(settings.DEFAULT_OUTPUT_DIR)))
    parser.add_argument("--source", default=source, help=f"folder with the downloaded pictures (default {source})")
    parser.add_argument("--output", default=output, help=f"folder for the unique pictures (default {output})")
    parser.add_argument("--dry-run", action="store_true", help="report only, copy nothing")
    parser.add_argument("--report", type=Path, help="write every file's decision to FILE.json or FILE.csv")
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="write a review page: each group's kept picture beside its copies"
    )
    parser.add_argument("--link", action="store_true", help="hard-link instead of copying (copies across file systems)")
    parser.add_argument(
        "--window", type=float, metavar="SECONDS", help="group re-posts at most SECONDS apart instead of by calendar date"
    )
    parser.add_argument(
        "--max-distance",
        type=int,
        default=0,
        metavar="N",
        help="near duplicates: pHash distance up to N, any size (decodes every dated file)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="threads for reading and hashing")
    parser.add_argument(
        "--follow-links", action="store_true", help="follow symbolic links that stay inside the source (default: skip links)"
    )
    parser.add_argument("--cache", type=Path, default=cache, help=f"hash cache file (default {cache})")
    parser.add_argument("--no-cache", action="store_true", help="read every file, keep no hash cache")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and the image libraries' warnings")
    return parser


def run(argv: list[str] | None = None) -> int:
    """Parse the flags and run the dedup; returns the exit code."""
    env_file = find_env_file(None, env_file_places(Path.cwd()))
    args = build_parser(settings_for_help(env_file), default_cache_path(os.environ)).parse_args(argv)
    load_settings(read_environment(env_file))  # a broken .env or setting stops a real run (one line, exit 2), never --help
    options = DedupOptions(
        source=Path(args.source).expanduser(),
        output=Path(args.output).expanduser(),
        dry_run=args.dry_run,
        report=args.report,
        html=args.html.expanduser() if args.html else None,
        link=args.link,
        window_seconds=args.window,
        max_distance=args.max_distance,
        workers=args.workers,
        follow_links=args.follow_links,
        cache=None if args.no_cache else args.cache.expanduser(),
        debug=args.debug,
    )
    return run_dedup(options)


def main(argv: list[str] | None = None) -> int:
    """The error boundary: one line on stderr and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    return error_boundary(lambda: run(argv), debug, interrupted="Interrupted; the source folder is unchanged.")


if __name__ == "__main__":
    sys.exit(main())
