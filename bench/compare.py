#!/usr/bin/env python3
"""Side by side, in one run: affrel now, affrel at a baseline commit, Hugo and the I/O floor.

Usage: bench/compare.py [--baseline REV] [SIZES...]   (default sizes: 10000 100000)

The baseline (default: the commit that recorded tests/fixtures/output-1000.sha256, the last
one before the work on speed) is built in a git worktree of its own with `cargo build
--release`. For each size, generate.py writes the seeded project once; then each contender
runs RUNS times after a warm-up, each run a whole process under `/usr/bin/time -v`, output
on tmpfs: affrel's full private build (now and baseline), Hugo over the same records
(hugo_site.py; skipped when `hugo` is not installed) and the floor (floor.c, in plain C),
twice: reading every referral file and writing one file of the same size per referral (the
floor of the input), and reading them and writing exactly the folders and file sizes of
affrel's output (the floor of the output: the same bytes a build must write). The table
shows median wall time and peak memory, and each wall time as a multiple of both floors.
Quote ratios and medians: a shared machine is noisy.
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

RUNS = 5
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


def run_once(command: list[str], fresh: Path) -> dict:
    """One run of `command` into an empty `fresh` folder."""
    shutil.rmtree(fresh, ignore_errors=True)
    if command[0] == "FLOOR":
        fresh.mkdir(parents=True)
        return timed([str(HERE / "floor"), *command[1:]])
    return timed(command)


def measure(contenders: dict[str, list[str]], fresh: Path) -> dict[str, dict]:
    """A warm-up of each, then RUNS rounds in which each contender runs once in turn, so
    that a machine whose speed drifts slows them all alike; median wall time and peak."""
    runs: dict[str, list[dict]] = {name: [] for name in contenders}
    for round_index in range(RUNS + 1):
        for name, command in contenders.items():
            result = run_once(command, fresh)
            if round_index > 0:
                runs[name].append(result)
    return {
        name: {key: statistics.median(run[key] for run in results) for key in ("wall", "peak")}
        for name, results in runs.items()
    }


def write_shape(out: Path, shape: Path) -> None:
    """The folders (size -1, parents first) and file sizes of a build's output, for floor.c."""
    lines = []
    for folder, folders, files in os.walk(out):
        folders.sort()
        relative = Path(folder).relative_to(out)
        if folder != str(out):
            lines.append(f"-1 {relative}")
        lines.extend(f"{(Path(folder) / name).stat().st_size} {relative / name}" for name in sorted(files))
    shape.write_text("\n".join(lines) + "\n")


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
            print(f"{'referrals':>9}  {'run':<20}  {'wall':>8}  {'peak':>9}  {'× floor in':>10}  {'× floor out':>11}")
            for size in sizes:
                project = scratch / f"p{size}"
                out = scratch / f"out{size}"
                shape = scratch / f"shape{size}"
                subprocess.run([sys.executable, HERE / "generate.py", str(size), project], check=True)
                common = ["--root", str(project), "--as-of", AS_OF.isoformat()]
                referrals = str(project / "content" / "referrals")
                affrel_now = [str(ROOT / "target" / "release" / "affrel"), "build", *common, "--out", str(out)]
                run_once(affrel_now, out)
                write_shape(out, shape)
                contenders = {
                    "floor (C), input": ["FLOOR", referrals, str(out)],
                    "floor (C), output": ["FLOOR", referrals, str(out), str(shape)],
                    "affrel now": affrel_now,
                    "affrel baseline": [str(baseline), "build", *common, "--out", str(out)],
                }
                site = scratch / f"hugo{size}"
                if shutil.which("hugo"):
                    subprocess.run([sys.executable, HERE / "hugo_site.py", project, site], check=True)
                    contenders["hugo"] = ["hugo", "--quiet", "--source", str(site), "--destination", str(out)]
                figures = measure(contenders, out)
                shutil.rmtree(site, ignore_errors=True)
                rows = list(figures.items())
                now = figures["affrel now"]
                floor_in, floor_out = rows[0][1]["wall"], rows[1][1]["wall"]
                for name, result in rows:
                    print(f"{size:>9}  {name:<20}  {result['wall']:>7.2f}s  {result['peak']:>6.0f} MiB  "
                          f"{result['wall'] / floor_in:>9.1f}×  {result['wall'] / floor_out:>10.1f}×")
                print(f"{size:>9}  now ÷ baseline {now['wall'] / figures['affrel baseline']['wall']:.2f}", end="")
                if "hugo" in figures:
                    print(f", now ÷ hugo {now['wall'] / figures['hugo']['wall']:.2f} "
                          f"(1/{figures['hugo']['wall'] / now['wall']:.1f})", end="")
                print()
                shape.unlink()
                shutil.rmtree(project)
                shutil.rmtree(out, ignore_errors=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree_parent / "baseline")],
                           cwd=ROOT, check=False, capture_output=True)
            shutil.rmtree(worktree_parent, ignore_errors=True)


if __name__ == "__main__":
    main()
