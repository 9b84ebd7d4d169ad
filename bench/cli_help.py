"""Whole-process time of ``tutopanda --help`` (target: median <= 0.3 s on the 2-core reference machine).

Runs the installed console script (next to this interpreter) several times and prints
``name: value unit`` lines. Start-up time matters because every command pays it.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15


def _script() -> list[str]:
    candidate = Path(sys.executable).with_name("tutopanda")
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("tutopanda")
    if found:
        return [found]
    return [sys.executable, "-m", "tutopanda"]


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    command = _script()
    _time([*command, "--help"])  # warm the OS file cache and .pyc files
    help_times = [_time([*command, "--help"]) for _ in range(RUNS)]
    bare = [_time([sys.executable, "-c", "pass"]) for _ in range(RUNS)]
    print(f"cli_help_median: {statistics.median(help_times):.3f} s")
    print(f"cli_help_max: {max(help_times):.3f} s")
    print(f"python_startup_median: {statistics.median(bare):.3f} s")


if __name__ == "__main__":
    main()
