#!/usr/bin/env python3
"""A real SMTP server for affrel's mail tests: aiosmtpd on 127.0.0.1 with STARTTLS (or TLS
from the first byte) and AUTH, keeping every message it accepts as a file.

Usage: smtp_server.py --port N --cert PEM --key PEM --user U --password P --store DIR
                      [--implicit-tls] [--accept N] [--refuse ADDRESS] [--token T]
                      [--tempfail-after N]

Each accepted message is written to DIR as NNN.eml (the bytes received), with NNN.json
beside it (envelope sender and recipients, the authenticated user, when it arrived). With
--accept N, the server accepts N messages and then drops every connection (a server going
away mid-run). With --refuse ADDRESS, that recipient is refused with 550. With --token T,
the user may also log in with SASL XOAUTH2 or OAUTHBEARER and that access token; another
token gets the mechanisms' error challenge and then 535, as Gmail and Outlook answer. With
--tempfail-after N, every recipient after the Nth accepted message is refused for now with
451 4.7.0 (a provider's burst limit). Prints "ready" once listening.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import time
from base64 import b64decode
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    """Keeps what the server accepts; counts to know when to go away."""

    def __init__(self, folder: Path, args: argparse.Namespace):
        self.folder = folder
        self.accept = args.accept
        self.refuse = args.refuse
        self.tempfail_after = args.tempfail_after
        self.user = args.user
        self.token = args.token
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address.lower() == self.refuse.lower():
            return "550 5.1.1 mailbox unavailable"
        if self.tempfail_after is not None and self.count >= self.tempfail_after:
            return "451 4.7.0 rate limited, try again in 10 minutes"
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
            "login": getattr(session, "login_mechanism", None),
            "received_at": time.time(),
        }
        (self.folder / f"{name}.json").write_text(json.dumps(meta))
        return "250 Message accepted"

    async def auth_XOAUTH2(self, server, args):
        """Google's XOAUTH2: `user=U^Aauth=Bearer T^A^A`."""
        return await self.token_login(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        """RFC 7628: a GS2 header `n,a=U,` then `^Aauth=Bearer T^A^A`."""
        return await self.token_login(server, args, "OAUTHBEARER")

    async def token_login(self, server, args, mechanism):
        if self.token is None:
            return AuthResult(success=False, handled=False, message="504 5.5.4 Unrecognized authentication type")
        if len(args) > 1:
            try:
                initial = b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        else:
            initial = await server.challenge_auth("")
            if not isinstance(initial, bytes):
                return AuthResult(success=False, handled=True)
        header, *pairs = initial.split(b"\x01")
        fields = dict(p.split(b"=", 1) for p in [header, *pairs] if b"=" in p)
        if mechanism == "OAUTHBEARER":
            user = next((f[2:] for f in header.split(b",") if f.startswith(b"a=")), b"")
        else:
            user = fields.get(b"user", b"")
        user = user.replace(b"=2C", b",").replace(b"=3D", b"=").decode()
        if user == self.user and fields.get(b"auth") == f"Bearer {self.token}".encode():
            server.session.login_mechanism = mechanism
            return AuthResult(success=True, auth_data=user)
        error = '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
        answer = await server.challenge_auth(error)
        if not isinstance(answer, bytes):
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


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
    parser.add_argument("--token")
    parser.add_argument("--tempfail-after", type=int)
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        if ok:
            session.login_mechanism = mechanism
        return AuthResult(success=ok, handled=False)

    store = Store(Path(args.store), args)
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
