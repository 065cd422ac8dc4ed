"""Demo SMTP server: keeps every message it receives as a file, so you can read it.

    python -m bot.mail_server [--host 127.0.0.1] [--port SMTP_PORT] [--dir DEMO_MAIL_DIR]

Listens on localhost (aiosmtpd) and writes each message to
`DEMO_MAIL_DIR/<UTC time>-<id>.eml` (default var/mail), with the envelope's
sender and recipients as the first two headers (X-Envelope-From, X-Envelope-To).
`make run` starts it with the rest of the stack when SMTP_HOST is local
(`bot.mail.is_demo_smtp`). Nothing is ever relayed onwards. Not for production:
it accepts any message from anyone who can reach the port.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger("bot.mail_server")

DEFAULT_PORT = 8025
DEFAULT_DIR = "var/mail"
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class SaveToFolder:
    """aiosmtpd handler: every accepted message becomes one .eml file in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        recipients = ", ".join(envelope.rcpt_tos)
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {recipients}\r\n"
        ).encode()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        target = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = target.with_suffix(".part")
        partial.write_bytes(header + content)
        partial.replace(target)  # readers never see half a message
        logger.info("mail to %s: %s -> %s", recipients, subject_of(content), target)
        return "250 Message accepted for delivery"


def subject_of(content: bytes) -> str:
    raw = message_from_bytes(content).get("Subject", "")
    try:
        return str(make_header(decode_header(raw)))
    except (ValueError, LookupError):
        return raw


def start(host: str, port: int, folder: Path) -> Controller:
    """Start the server in a background thread; `.stop()` it when done."""
    controller = Controller(
        SaveToFolder(folder),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        # Customers' names in UTF-8 headers (RFC 6531) are fine.
        enable_SMTPUTF8=True,
    )
    controller.start()
    return controller


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    load_dotenv()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
    parser = argparse.ArgumentParser(prog="python -m bot.mail_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("SMTP_PORT") or DEFAULT_PORT),
        help=f"port (default SMTP_PORT, else {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--dir",
        default=os.environ.get("DEMO_MAIL_DIR") or DEFAULT_DIR,
        help=f"where messages are kept (default DEMO_MAIL_DIR, else {DEFAULT_DIR})",
    )
    args = parser.parse_args(argv)
    folder = Path(args.dir).resolve()
    try:
        controller = start(args.host, args.port, folder)
    except (OSError, RuntimeError) as error:
        print(
            f"mail_server: cannot listen on {args.host}:{args.port} ({error}). "
            "Is another one running? Set SMTP_PORT to a free port.",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    logger.info("demo SMTP server on %s:%s; messages go to %s", args.host, args.port, folder)
    print(f"READY {args.host}:{args.port}", flush=True)
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
