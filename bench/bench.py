#!/usr/bin/env python3
"""Measures `affrel build` over generated projects of several sizes.

Usage: bench/bench.py [SIZES...]   (default: 1000 10000 100000)

Builds the release binary, generates each project once with generate.py (seeded, so every
run measures the same content), then for each size runs, RUNS times after one warm-up:

  build      a full private build into an empty output folder
  rebuild    the same build again over its own output (nothing changed: no file is rewritten)
  check      validate and render without writing
  hugo       when `hugo` is installed: Hugo building the same records as one page each plus
             an index (hugo_site.py), for a side-by-side with a general static site generator

Each run is a whole process under `/usr/bin/time -v`; the table shows the median wall time,
CPU time (user + system) and peak resident memory. Then the median per-step split of the full
builds, from `--timings` (stderr). Output goes to /dev/shm when it exists (tmpfs), so disk
speed does not blur the figures. Quote them as medians and ratios: a shared machine is noisy.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from generate import AS_OF

RUNS = 5
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BINARY = ROOT / "target" / "release" / "affrel"
STEPS = ["load", "validate", "derive", "render", "swap"]


def timed(command: list[str]) -> dict:
    """Runs `command` under /usr/bin/time -v; returns wall, cpu (s), peak (MiB), step times (ms)."""
    result = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    report = result.stderr

    def field(name: str) -> str:
        return re.search(rf"^\s*{re.escape(name)}: (.+)$", report, re.M).group(1)

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    steps = {
        name: float(ms)
        for name, ms in re.findall(r"^timings: (\w+)\s+([\d.]+) ms", report, re.M)
    }
    return {
        "wall": wall,
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "peak": int(field("Maximum resident set size (kbytes)")) / 1024,
        "steps": steps,
    }


def median_runs(command: list[str], prepare=None) -> list[dict]:
    """One warm-up, then RUNS measured runs; `prepare` runs before each."""
    runs = []
    for index in range(RUNS + 1):
        if prepare:
            prepare()
        measured = timed(command)
        if index > 0:
            runs.append(measured)
    return runs


def median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    sizes = [int(size) for size in sys.argv[1:]] or [1000, 10000, 100000]
    if not Path("/usr/bin/time").exists():
        sys.exit("bench.py needs GNU time: apt-get install time")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    scratch_parent = "/dev/shm" if Path("/dev/shm").is_dir() else None
    print(f"{'referrals':>9}  {'run':<8}  {'wall':>8}  {'cpu':>8}  {'peak':>9}  {'files':>7}")
    splits = []
    with tempfile.TemporaryDirectory(dir=scratch_parent) as scratch:
        for size in sizes:
            project = Path(scratch) / f"p{size}"
            out = Path(scratch) / f"out{size}"
            subprocess.run([sys.executable, HERE / "generate.py", str(size), project], check=True)
            common = ["--root", str(project), "--as-of", AS_OF.isoformat(), "--timings"]
            build = [str(BINARY), "build", *common, "--out", str(out)]
            check = [str(BINARY), "check", *common]
            fresh = median_runs(build, prepare=lambda: shutil.rmtree(out, ignore_errors=True))
            files = sum(len(names) for _, _, names in os.walk(out))
            rows = [("build", fresh), ("rebuild", median_runs(build)), ("check", median_runs(check))]
            hugo_out = Path(scratch) / f"hugo-out{size}"
            if shutil.which("hugo"):
                site = Path(scratch) / f"hugo{size}"
                subprocess.run([sys.executable, HERE / "hugo_site.py", project, site], check=True)
                hugo = ["hugo", "--quiet", "--source", str(site), "--destination", str(hugo_out)]
                rows.append(("hugo", median_runs(hugo, prepare=lambda: shutil.rmtree(hugo_out, ignore_errors=True))))
                shutil.rmtree(site)
            for name, runs in rows:
                print(
                    f"{size:>9}  {name:<8}  {median(runs, 'wall'):>7.2f}s  "
                    f"{median(runs, 'cpu'):>7.2f}s  {median(runs, 'peak'):>6.0f} MiB  "
                    f"{files if name == 'build' else '':>7}"
                )
            splits.append((size, {step: statistics.median(r["steps"].get(step, 0) for r in fresh) for step in STEPS}))
            shutil.rmtree(project)
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(hugo_out, ignore_errors=True)
    print()
    print("median per-step wall time of `build` (ms), from --timings:")
    print(f"{'referrals':>9}  " + "  ".join(f"{step:>8}" for step in STEPS))
    for size, steps in splits:
        print(f"{size:>9}  " + "  ".join(f"{steps[step]:>8.1f}" for step in STEPS))


if __name__ == "__main__":
    main()
