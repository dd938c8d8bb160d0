#!/usr/bin/env python3
"""Writes a synthetic affrel project with N referrals, for benchmarking.

Usage: generate.py N DIR [--sales-without-amount]
  DIR gets content/ copied from the demo plus N referrals. With --sales-without-amount, nine
  sales in ten are written without their amount (the events are otherwise the same), so that
  a build warns about most sales.
"""
import random
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 11, 24)  # the date bench.py builds as of; no event lies after it
KINDS = ["welcome_sent", "nudge_sent", "reply", "sale", "follow_up_sent", "help_given", "congratulated"]


def referral(rng: random.Random, index: int, drop_amount: random.Random | None) -> str:
    referred = date(2026, 1, 5) + timedelta(days=rng.randrange(0, 320))
    lines = [
        f"name: Person {index} Example",
        f"email: person{index}@example.com",
        f"program: {rng.choice(['acme', 'inkwell', 'bountyboard'])}",
        f"referred_on: {referred}",
        "motivation: Build something of my own",
        "tags: [synthetic]",
        "events:",
    ]
    day = referred
    for _ in range(rng.randrange(0, 14)):
        day += timedelta(days=rng.randrange(1, 15))
        if day > AS_OF:
            break
        kind = rng.choice(KINDS)
        extra = ""
        if kind == "sale":
            extra = f", amount: {rng.randrange(5, 200)}.00"
            if drop_amount and drop_amount.random() < 0.9:
                extra = ""
        elif kind == "reply":
            extra = f", interest: {rng.choice(['low', 'high'])}"
        lines.append(f"  - {{ date: {day}, type: {kind}{extra} }}")
    if lines[-1] == "events:":
        lines.pop()
    return "\n".join(lines) + "\n"


def main() -> None:
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    # A second generator, so that dropping amounts leaves every other draw the same.
    drop_amount = random.Random(7) if "--sales-without-amount" in sys.argv[3:] else None
    demo = Path(__file__).resolve().parent.parent / "content"
    shutil.rmtree(out, ignore_errors=True)
    (out / "content" / "referrals").mkdir(parents=True)
    shutil.copy(demo / "config.yaml", out / "content" / "config.yaml")
    shutil.copytree(demo / "emails", out / "content" / "emails")
    rng = random.Random(42)
    for index in range(count):
        folder = out / "content" / "referrals" / f"batch-{index // 500:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"person-{index:06d}.yaml").write_text(referral(rng, index, drop_amount))


if __name__ == "__main__":
    main()
