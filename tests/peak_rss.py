"""Run a Python script and record its own peak memory: `python tests/peak_rss.py OUT script.py args...`.

`ru_maxrss` of a child starts at its parent's size at fork (Linux keeps it across exec), and
`os.wait4` reports the largest child on some sandboxes. So the child reads its own high-water
mark (VmHWM in /proc/self/status, reset by exec) and writes it in KB to OUT when it exits.
"""

from __future__ import annotations

import atexit
import resource
import runpy
import sys
from pathlib import Path


def peak_kb() -> int:
    """This process's peak resident memory in KB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _write_peak(out: Path) -> None:
    out.write_text(str(peak_kb()))


if __name__ == "__main__":
    out, script, *arguments = sys.argv[1:]
    atexit.register(_write_peak, Path(out))
    sys.argv = [script, *arguments]
    sys.path.insert(0, str(Path(script).resolve().parent))
    runpy.run_path(script, run_name="__main__")
