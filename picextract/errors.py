"""Exit codes shared by both programs, the project's exception base, and the one error boundary."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from enum import IntEnum


class ExitCode(IntEnum):
    """What each program's exit status means (README "Exit codes"; httpie's ExitStatus is the model)."""

    OK = 0
    SOME_FAILED = 1  # finished, but some pictures failed or message parts could not be read (dedup: need a look)
    USAGE = 2  # bad flag, missing value, bad setting
    DISCORD_REFUSED = 3  # token refused, no access, unknown channel or server
    STORAGE = 4  # disk full, read-only or locked folder, damaged state file
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 some pictures failed (or parts of messages could not be read), 2 usage or configuration error, 3 Discord refused, "
    "4 local storage error, 130 interrupted."
)


class PicExtractError(Exception):
    """An error the user can act on: the boundary prints its message on one line and exits with its code."""

    exit_code = ExitCode.USAGE


class UsageError(PicExtractError):
    """A missing or invalid value from the user or the settings."""

    exit_code = ExitCode.USAGE


class StorageError(PicExtractError):
    """The local disk refused: full, read-only, locked, or a damaged state file."""

    exit_code = ExitCode.STORAGE


def describe_os_error(problem: OSError) -> str:
    """`[Errno 28] No space left on device: 'x'` -> `No space left on device: x`."""
    text = problem.strerror or str(problem)
    return f"{text}: {problem.filename}" if problem.filename else text


def error_boundary(run: Callable[[], int], debug: bool, interrupted: str = "Interrupted.") -> int:
    """Run a program; map the project's errors to one line on stderr and their exit code.

    Anything else is a bug and shows its traceback. With `debug`, every error shows its traceback.
    """
    try:
        return int(run())
    except KeyboardInterrupt:
        print(f"\n{interrupted}", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except PicExtractError as problem:
        if debug:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return problem.exit_code
    except OSError as problem:
        if debug:
            raise
        print(f"error: {describe_os_error(problem)}", file=sys.stderr)
        return ExitCode.STORAGE
    except sqlite3.DatabaseError as problem:
        if debug:
            raise
        print(f"error: the state file cannot be used ({problem}); move it away and run again", file=sys.stderr)
        return ExitCode.STORAGE
