#!/usr/bin/env python3
"""Measures what many warnings cost: `affrel build` of a generated project whose sales carry
their amounts, against the same project with nine sales in ten written without one (a
warning each).

Usage: bench/warnings.py [SIZE]   (default: 20000 referrals)

Runs the two builds in turn, RUNS times each after a warm-up, each a whole process under
`/usr/bin/time -v`, and prints the median wall time, CPU time and peak memory of each, their
ratio, and how many warnings the quiet build printed against how many it found
(`--all-warnings`).
"""
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import BINARY, HERE, ROOT, timed
from generate import AS_OF

RUNS = 7


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    scratch_parent = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=scratch_parent) as scratch:
        builds = {}
        for name, flags in [("with amounts", []), ("without amounts", ["--sales-without-amount"])]:
            project = Path(scratch) / name.replace(" ", "-")
            subprocess.run([sys.executable, HERE / "generate.py", str(size), project, *flags], check=True)
            out = Path(scratch) / f"out-{project.name}"
            builds[name] = (project, out)
        results = {name: [] for name in builds}
        for index in range(RUNS + 1):
            for name, (project, out) in builds.items():
                shutil.rmtree(out, ignore_errors=True)
                command = [str(BINARY), "build", "--root", str(project), "--out", str(out), "--as-of", AS_OF.isoformat()]
                measured = timed(command)
                if index > 0:
                    results[name].append(measured)
        print(f"{size} referrals, median of {RUNS} builds each")
        for name, runs in results.items():
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = statistics.median(r["peak"] for r in runs)
            spread = max(r["wall"] for r in runs) - min(r["wall"] for r in runs)
            print(f"  {name:<16} wall {wall:6.2f}s (spread {spread:.2f}s)  cpu {cpu:6.2f}s  peak {peak:5.0f} MiB")
        ratio = statistics.median(r["wall"] for r in results["without amounts"]) / statistics.median(
            r["wall"] for r in results["with amounts"]
        )
        print(f"  without / with: {ratio:.2f}")
        project, _ = builds["without amounts"]
        for flags in ([], ["--all-warnings"]):
            check = subprocess.run(
                [str(BINARY), "check", "--root", str(project), "--as-of", AS_OF.isoformat(), *flags],
                capture_output=True, text=True, check=False,
            )
            shown = check.stderr.count(": warning: ")
            print(f"  check {' '.join(flags) or '(default)':<15} prints {shown} warnings, {len(check.stderr.splitlines())} lines of stderr")


if __name__ == "__main__":
    main()
