"""Outgoing e-mail over SMTP (aiosmtplib): an agent's reply to a customer who left the chat.

The server is set with SMTP_HOST/SMTP_PORT (STARTTLS with SMTP_STARTTLS=true, a
login with SMTP_USERNAME/SMTP_PASSWORD), the sender with SMTP_FROM. For the
demo, `python -m bot.mail_server` is an SMTP server on localhost that keeps every
message as a file in DEMO_MAIL_DIR; `make run` starts it when SMTP_HOST is local
(see `is_demo_smtp`).
"""

from __future__ import annotations

import logging
import textwrap
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from bot.config import Settings

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 15
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Ports a real mail server listens on; a local SMTP_HOST on any other port is the demo.
MTA_PORTS = (25, 465, 587)
WRAP_WIDTH = 76


class MailError(Exception):
    """The message could not be handed to the SMTP server; the text says why."""


def is_demo_smtp(host: str, port: int) -> bool:
    """True when SMTP_HOST/SMTP_PORT point at the demo server that `make run` starts."""
    return host.strip().lower() in LOCAL_HOSTS and port not in MTA_PORTS


def build_message(
    settings: Settings,
    to: str,
    subject: str,
    body: str,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A plain-text UTF-8 message from SMTP_FROM to `to`."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    sender_domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=sender_domain)
    for name, value in (headers or {}).items():
        message[name] = value
    text = wrap(body)
    # 8bit keeps the message readable as it is (Finnish letters and all); a line
    # over SMTP's 998-byte limit (one enormous word) needs quoted-printable.
    fits = all(len(line.encode()) <= 998 for line in text.splitlines())
    message.set_content(text, cte="8bit" if fits else "quoted-printable")
    return message


def wrap(body: str, width: int = WRAP_WIDTH) -> str:
    """Plain-text lines of at most `width` characters; blank lines and words kept whole."""
    lines = []
    for line in body.splitlines():
        if len(line) <= width:
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False))
    return "\n".join(lines) + "\n"


def valid_address(address: str) -> bool:
    """A single plain address such as name@example.com (what a ticket stores)."""
    try:
        parsed = Address(addr_spec=address.strip())
    except (ValueError, IndexError, TypeError):
        return False
    return bool(parsed.username and "." in parsed.domain)


async def send_mail(
    settings: Settings,
    to: str,
    subject: str,
    body: str,
    headers: dict[str, str] | None = None,
) -> str:
    """Send one message; returns its Message-ID, or raises MailError."""
    if not valid_address(to):
        raise MailError(f"{to!r} is not an e-mail address")
    message = build_message(settings, to, subject, body, headers)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=SEND_TIMEOUT_SECONDS,
        )
    except (aiosmtplib.SMTPException, OSError) as error:
        logger.warning(
            "mail to %s via %s:%s failed: %s", to, settings.smtp_host, settings.smtp_port, error
        )
        raise MailError(
            f"the mail server {settings.smtp_host}:{settings.smtp_port} did not take it ({error})"
        ) from error
    return str(message["Message-ID"])
