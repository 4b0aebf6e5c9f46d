"""What the benchmarks share: a child process timed with its own peak memory, and main.py's environment."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from config import Settings  # the scripts put the repository first on sys.path before importing this

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ChildRun:
    """One finished child: wall seconds, peak resident memory in MB (measured by the child itself), stdout."""

    seconds: float
    peak_mb: int
    stdout: str


def timed(command: Sequence[str], env: Mapping[str, str] | None = None, ok_codes: Collection[int] = (0,)) -> ChildRun:
    """Run `python script args...` under tests/peak_rss.py; a status outside `ok_codes` ends the benchmark."""
    peak_file = Path(tempfile.mkstemp(prefix="peak-")[1])
    wrapped = [command[0], str(ROOT / "tests" / "peak_rss.py"), str(peak_file), *command[1:]]
    started = time.perf_counter()
    process = subprocess.run(wrapped, env=env, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    peak_mb = int(peak_file.read_text() or 0) // 1024
    peak_file.unlink()
    if process.returncode not in ok_codes:
        raise SystemExit(f"{command[1]} failed with status {process.returncode}: {process.stderr[-2000:]}")
    return ChildRun(elapsed, peak_mb, process.stdout)


def tool_env(api_base: str, bot_token: str) -> dict[str, str]:
    """main.py's environment against a fake server with a bot token: no setting or token of the caller's leaks in."""
    settings_names = {field.name for field in fields(Settings)}
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_") and key not in settings_names}
    # A bot token: the rate-limit headers alone set the pace (RATE_LIMIT_DELAY is for user tokens).
    env.update(DISCORD_API_BASE=api_base, DISCORD_BOT_TOKEN=bot_token, PYTHONPATH=str(ROOT), TZ="UTC")
    return env
