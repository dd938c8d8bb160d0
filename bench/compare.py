#!/usr/bin/env python3
"""Side by side, in one run: affrel now, affrel at a baseline commit, Hugo and the I/O floor.

Usage: bench/compare.py [--baseline REV] [SIZES...]   (default sizes: 10000 100000)

The baseline (default: the commit that recorded tests/fixtures/output-1000.sha256, the last
one before the work on speed) is built in a git worktree of its own with `cargo build
--release`. For each size, generate.py writes the seeded project once; then each contender
runs RUNS times after a warm-up, each run a whole process under `/usr/bin/time -v`, output
on tmpfs: affrel's full private build (now and baseline), Hugo over the same records
(hugo_site.py; skipped when `hugo` is not installed) and the floor (floor.c: read every
referral file and write as many files, in plain C). The table shows median wall time and
peak memory, and each wall time as a multiple of the floor's. Quote ratios and medians: a
shared machine is noisy.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import ROOT, timed
from generate import AS_OF

RUNS = 3
HERE = Path(__file__).resolve().parent


def baseline_commit() -> str:
    return subprocess.run(
        ["git", "log", "--format=%H", "-1", "--diff-filter=A", "--", "tests/fixtures/output-1000.sha256"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()


def build_baseline(rev: str, scratch: Path) -> Path:
    tree = scratch / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(tree), rev], cwd=ROOT, check=True,
                   capture_output=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=tree, check=True,
                   env={**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target" / "baseline")})
    return ROOT / "target" / "baseline" / "release" / "affrel"


def measure(command: list[str], fresh: Path) -> dict:
    runs = []
    for index in range(RUNS + 1):
        shutil.rmtree(fresh, ignore_errors=True)
        if command[0] == "FLOOR":
            fresh.mkdir(parents=True)
            result = timed([str(HERE / "floor"), *command[1:]])
        else:
            result = timed(command)
        if index > 0:
            runs.append(result)
    return {key: statistics.median(run[key] for run in runs) for key in ("wall", "peak")}


def main() -> None:
    args = sys.argv[1:]
    rev = None
    if args[:1] == ["--baseline"]:
        rev, args = args[1], args[2:]
    sizes = [int(size) for size in args] or [10000, 100000]
    rev = rev or baseline_commit()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    subprocess.run(["gcc", "-O2", "-o", str(HERE / "floor"), str(HERE / "floor.c")], check=True)
    scratch_parent = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=scratch_parent) as scratch_name:
        scratch = Path(scratch_name)
        worktree_parent = Path(tempfile.mkdtemp())
        try:
            baseline = build_baseline(rev, worktree_parent)
            print(f"baseline: {rev[:12]}")
            print(f"{'referrals':>9}  {'run':<16}  {'wall':>8}  {'peak':>9}  {'× floor':>8}")
            for size in sizes:
                project = scratch / f"p{size}"
                out = scratch / f"out{size}"
                subprocess.run([sys.executable, HERE / "generate.py", str(size), project], check=True)
                common = ["--root", str(project), "--as-of", AS_OF.isoformat()]
                rows = [
                    ("floor (C)", measure(["FLOOR", str(project / "content" / "referrals"), str(out)], out)),
                    ("affrel now", measure([str(ROOT / "target" / "release" / "affrel"), "build", *common, "--out", str(out)], out)),
                    ("affrel baseline", measure([str(baseline), "build", *common, "--out", str(out)], out)),
                ]
                if shutil.which("hugo"):
                    site = scratch / f"hugo{size}"
                    subprocess.run([sys.executable, HERE / "hugo_site.py", project, site], check=True)
                    rows.append(("hugo", measure(["hugo", "--quiet", "--source", str(site), "--destination", str(out)], out)))
                    shutil.rmtree(site)
                floor = rows[0][1]["wall"]
                for name, figures in rows:
                    print(f"{size:>9}  {name:<16}  {figures['wall']:>7.2f}s  {figures['peak']:>6.0f} MiB  "
                          f"{figures['wall'] / floor:>7.1f}×")
                shutil.rmtree(project)
                shutil.rmtree(out, ignore_errors=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree_parent / "baseline")],
                           cwd=ROOT, check=False, capture_output=True)
            shutil.rmtree(worktree_parent, ignore_errors=True)


if __name__ == "__main__":
    main()
