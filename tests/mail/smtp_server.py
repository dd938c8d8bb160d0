#!/usr/bin/env python3
"""A real SMTP server for affrel's mail tests: aiosmtpd on 127.0.0.1 with STARTTLS (or TLS
from the first byte) and AUTH, keeping every message it accepts as a file.

Usage: smtp_server.py --port N --cert PEM --key PEM --user U --password P --store DIR
                      [--implicit-tls] [--accept N] [--refuse ADDRESS]

Each accepted message is written to DIR as NNN.eml (the bytes received), with NNN.json
beside it (envelope sender and recipients, the authenticated user). With --accept N, the
server accepts N messages and then drops every connection (a server going away mid-run).
With --refuse ADDRESS, that recipient is refused with 550. Prints "ready" once listening.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    """Keeps what the server accepts; counts to know when to go away."""

    def __init__(self, folder: Path, accept: int | None, refuse: str | None):
        self.folder = folder
        self.accept = accept
        self.refuse = refuse
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address.lower() == self.refuse.lower():
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.accept is not None and self.count >= self.accept:
            session.transport.abort()
            return "421 going away"
        self.count += 1
        name = f"{self.count:03d}"
        (self.folder / f"{name}.eml").write_bytes(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated": session.authenticated,
        }
        (self.folder / f"{name}.json").write_text(json.dumps(meta))
        return "250 Message accepted"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--accept", type=int)
    parser.add_argument("--refuse")
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok, handled=False)

    store = Store(Path(args.store), args.accept, args.refuse)
    options = dict(
        hostname="127.0.0.1",
        port=args.port,
        authenticator=authenticate,
        auth_required=True,
        # aiosmtpd counts only STARTTLS as TLS; with TLS from the first byte every session is.
        auth_require_tls=not args.implicit_tls,
        ready_timeout=10,
    )
    if args.implicit_tls:
        controller = Controller(store, ssl_context=context, **options)
    else:
        controller = Controller(store, tls_context=context, require_starttls=True, **options)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
