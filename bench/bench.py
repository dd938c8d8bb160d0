#!/usr/bin/env python3
"""Times `affrel check` and `affrel build` over generated content of several sizes.

Usage: bench/bench.py [SIZES...]   (default: 500 2000 5000)

Builds the release binary, generates each project once with generate.py, runs every command
RUNS times after one warm-up, and prints the median wall time and the median per referral.
Medians over repeated runs keep the figures steady on a busy machine; compare them as ratios.
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BINARY = ROOT / "target" / "release" / "affrel"


def median_seconds(command: list[str]) -> float:
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    sizes = [int(size) for size in sys.argv[1:]] or [500, 2000, 5000]
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    print(f"{'referrals':>9}  {'command':<6}  {'median':>9}  {'per referral':>12}")
    with tempfile.TemporaryDirectory() as scratch:
        for size in sizes:
            project = Path(scratch) / f"p{size}"
            subprocess.run([sys.executable, HERE / "generate.py", str(size), project], check=True)
            common = ["--root", str(project), "--as-of", "2026-11-24"]
            commands = {
                "check": [str(BINARY), "check", *common],
                "build": [str(BINARY), "build", *common, "--out", str(Path(scratch) / "out")],
            }
            for name, command in commands.items():
                seconds = median_seconds(command)
                per = seconds / size * 1e6
                print(f"{size:>9}  {name:<6}  {seconds * 1e3:>7.0f}ms  {per:>10.0f}µs")


if __name__ == "__main__":
    main()
