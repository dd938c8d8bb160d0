#!/usr/bin/env python3
"""Measures `affrel sync` over a large mailbox: wall time and peak memory.

Usage: bench/sync.py [--referrals N] [--inbox N] [--sent N] [--runs N]

Builds the release binary, generates a project with generate.py (1000 referrals by default),
and starts Debian's Dovecot (/usr/sbin/dovecot) on 127.0.0.1 with a config file of its own in
a temporary folder, never the system's. The mailbox is filled by writing message files
straight into its maildir: 5000 messages in INBOX and 2000 in Sent by default, dated within
the 30 days before generate.py's AS_OF, about one in ten from or to a referral, the rest from
strangers; plus ten strangers' messages with a 20 MB header and a 1 MB body each. Then
`affrel sync` (a dry run: it writes nothing) runs RUNS times after one warm-up, each under
`/usr/bin/time -v`, with today fixed at AS_OF.

Read the figures as medians with the spread beside them: a shared machine is noisy. The point
of the peak memory column is that it does not grow with what strangers put in their headers:
sync asks the server for the few header fields it uses, at most 64 KiB of them per message.
"""
import argparse
import email.utils
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from generate import AS_OF

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BINARY = ROOT / "target" / "release" / "affrel"
USER = "sam@example.com"
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dovecot_config(root: Path, port: int, as_root: bool) -> str:
    me = "dovecot" if as_root else os.environ.get("USER", "root")
    login = "dovenull" if as_root else me
    return f"""base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {me}
default_internal_group = {me}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={me} gid={me} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    auto = create
    special_use = \\Sent
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def message(sender: str, to: str, subject: str, when: datetime, number: int, extra: str = "", body: str = "Hello.\r\n") -> bytes:
    head = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {email.utils.format_datetime(when)}\r\n"
        f"Message-ID: <bench-{number}@mail.example>\r\n{extra}\r\n"
    )
    return head.encode() + body.encode()


def fill(maildir: Path, referrals: list[str], inbox: int, sent: int, rng: random.Random) -> None:
    """Writes the messages as maildir files, as a delivery agent would."""
    start = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=timezone.utc) - timedelta(days=29)
    number = 0

    def put(folder: Path, data: bytes) -> None:
        nonlocal number
        number += 1
        (folder / "cur").mkdir(parents=True, exist_ok=True)
        (folder / "new").mkdir(parents=True, exist_ok=True)
        (folder / "tmp").mkdir(parents=True, exist_ok=True)
        (folder / "cur" / f"{number}.bench:2,S").write_bytes(data)

    def when() -> datetime:
        return start + timedelta(minutes=rng.randrange(0, 29 * 24 * 60))

    for _ in range(inbox):
        sender = rng.choice(referrals) if rng.random() < 0.1 else f"stranger{rng.randrange(10**6)}@elsewhere.example"
        put(maildir, message(sender, USER, "Re: hello", when(), number))
    for _ in range(sent):
        to = rng.choice(referrals) if rng.random() < 0.1 else f"friend{rng.randrange(10**6)}@elsewhere.example"
        put(maildir / ".Sent", message(USER, to, "A note", when(), number))
    junk = "X-Junk:" + (" " + "j" * 2040 + "\r\n") * (20 * 1024 // 2)
    for _ in range(10):
        put(maildir, message("huge@elsewhere.example", USER, "big", when(), number, junk, "b" * (1024 * 1024)))


def timed(command: list[str], env: dict) -> dict:
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")

    def field(name: str) -> str:
        return re.search(rf"^\s*{re.escape(name)}: (.+)$", result.stderr, re.M).group(1)

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {
        "wall": wall,
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "peak": int(field("Maximum resident set size (kbytes)")) / 1024,
        "first": result.stdout.splitlines()[0] if result.stdout else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--referrals", type=int, default=1000)
    parser.add_argument("--inbox", type=int, default=5000)
    parser.add_argument("--sent", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("sync.py needs GNU time: apt-get install time")
    if not Path("/usr/sbin/dovecot").exists():
        sys.exit("sync.py needs Dovecot: apt-get install dovecot-imapd")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    as_root = os.geteuid() == 0
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        project = scratch / "project"
        subprocess.run([sys.executable, HERE / "generate.py", str(args.referrals), project], check=True)
        referrals = []
        for path in sorted((project / "content" / "referrals").rglob("*.yaml")):
            found = re.search(r"^email: (\S+)", path.read_text(), re.M)
            if found:
                referrals.append(found.group(1))
        server = scratch / "dovecot"
        (server / "home" / USER).mkdir(parents=True)
        (server / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        fill(server / "home" / USER / "Maildir", referrals, args.inbox, args.sent, random.Random(7))
        if as_root:
            os.chmod(server, 0o755)
            os.chmod(scratch, 0o755)
            subprocess.run(["chown", "-R", "dovecot:dovecot", server / "home"], check=True)
        port = free_port()
        config = server / "dovecot.conf"
        config.write_text(dovecot_config(server, port, as_root))
        with open(project / "content" / "config.yaml", "a") as out:
            out.write(
                f"mail:\n  imap:\n    host: 127.0.0.1\n    port: {port}\n    security: none\n"
                f"    user: {USER}\n    sent: Sent\n    inbox: [INBOX]\n"
            )
        dovecot = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        sys.exit(f"Dovecot did not start:\n{(server / 'dovecot.log').read_text() if (server / 'dovecot.log').exists() else ''}")
                    time.sleep(0.1)
            midnight = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=timezone.utc)
            env = dict(os.environ, AFFREL_MAIL_PASSWORD=PASSWORD, SOURCE_DATE_EPOCH=str(int(midnight.timestamp())), TZ="UTC")
            command = [str(BINARY), "sync", "--root", str(project)]
            runs = [timed(command, env) for _ in range(args.runs + 1)][1:]
        finally:
            dovecot.send_signal(signal.SIGTERM)
            dovecot.wait(timeout=20)
    messages = args.inbox + args.sent + 10
    walls = [run["wall"] for run in runs]
    print(f"affrel says: {runs[0]['first']}")
    print(f"{'messages':>8}  {'wall':>8}  {'spread':>8}  {'cpu':>8}  {'peak':>9}")
    print(
        f"{messages:>8}  {statistics.median(walls):>7.2f}s  {max(walls) - min(walls):>7.2f}s  "
        f"{statistics.median(r['cpu'] for r in runs):>7.2f}s  {statistics.median(r['peak'] for r in runs):>6.0f} MiB"
    )


if __name__ == "__main__":
    main()
