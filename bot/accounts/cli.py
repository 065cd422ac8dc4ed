"""`python -m bot users ...`: manage staff accounts from the server's shell.

Passwords are generated and printed once (or read from stdin with
--password-stdin); only their argon2 hashes are stored.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from bot.accounts import store
from bot.accounts.models import ADMIN, AGENT, ROLES
from bot.accounts.passwords import PasswordRuleError, generate_password
from bot.config import Settings
from bot.db import create_engine
from bot.migrations import upgrade

DEMO_USERS = (
    ("demo-agent", "Aino", AGENT),
    ("demo-admin", "Ilmari", ADMIN),
)


def login_url(settings: Settings) -> str:
    host = settings.host
    if host in ("127.0.0.1", "0.0.0.0", "::", "::1", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/console/login"


def _engine(settings: Settings) -> Engine:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the point
    upgrade(settings.helpdesk_db_url)
    return create_engine(settings.helpdesk_db_url)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _password_from(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated): from stdin's first line with --password-stdin, else new."""
    if not args.password_stdin:
        return generate_password(), True
    if sys.stdin.isatty():  # typed by hand: hidden, and asked twice
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise PasswordRuleError("the two passwords differ")
        return first, False
    return sys.stdin.readline().rstrip("\r\n"), False


def _fail(message: str) -> int:
    print(f"bot users: {message}", file=sys.stderr)
    return 1


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Create an agent or admin; prints the generated password once."""
    try:
        password, generated = _password_from(args)
    except PasswordRuleError as error:
        return _fail(str(error))
    engine = _engine(settings)
    try:
        user = store.create_user(
            engine, args.username, args.first_name, args.role, password, _now()
        )
    except (store.AccountError, PasswordRuleError) as error:
        return _fail(str(error))
    finally:
        engine.dispose()
    print(f"Created {user.role} {user.username} ({user.first_name}).")
    if generated:
        print(f"Password (shown only now, pass it on safely): {password}")
    print(f"Sign in at {login_url(settings)}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the staff accounts (never their passwords)."""
    engine = _engine(settings)
    try:
        accounts = store.list_accounts(engine)
    finally:
        engine.dispose()
    if not accounts:
        print(
            "No users yet: python -m bot users add --username NAME --first-name NAME --role agent"
        )
        return 0
    now = _now()
    rows = [("USERNAME", "FIRST NAME", "ROLE", "LAST SEEN (UTC)", "STATUS")]
    for account in accounts:
        if account.locked(now):
            status = f"locked until {account.locked_until:%Y-%m-%d %H:%M} UTC"
        elif account.failed_attempts:
            status = f"{account.failed_attempts} failed sign-in(s)"
        else:
            status = "active"
        seen = f"{account.last_seen_at:%Y-%m-%d %H:%M}" if account.last_seen_at else "never"
        user = account.user
        rows.append((user.username, user.first_name, user.role, seen, status))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_unlock(args: argparse.Namespace, settings: Settings) -> int:
    """Lift a lock-out after too many failed sign-ins."""
    engine = _engine(settings)
    try:
        found = store.unlock(engine, args.username)
    finally:
        engine.dispose()
    if not found:
        return _fail(f"there is no user {args.username!r}")
    print(f"Unlocked {store.normalize_username(args.username)}: they can sign in again.")
    return 0


def cmd_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    """Give a user a new password (printed once) and sign them out everywhere."""
    try:
        password, generated = _password_from(args)
    except PasswordRuleError as error:
        return _fail(str(error))
    engine = _engine(settings)
    try:
        found = store.set_password(engine, args.username, password)
    except PasswordRuleError as error:
        return _fail(str(error))
    finally:
        engine.dispose()
    if not found:
        return _fail(f"there is no user {args.username!r}")
    name = store.normalize_username(args.username)
    print(f"New password for {name}; their old sessions have ended.")
    if generated:
        print(f"Password (shown only now, pass it on safely): {password}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Delete a user and end their sessions."""
    engine = _engine(settings)
    try:
        found = store.remove_user(engine, args.username)
    finally:
        engine.dispose()
    if not found:
        return _fail(f"there is no user {args.username!r}")
    print(f"Removed {store.normalize_username(args.username)}.")
    return 0


def cmd_ensure_demo(args: argparse.Namespace, settings: Settings) -> int:
    """For the local demo: if there are no users, create demo-agent and demo-admin."""
    wanted = [(name, first, role, generate_password()) for name, first, role in DEMO_USERS]
    engine = _engine(settings)
    try:
        created = store.create_first_users(engine, wanted, _now())
    finally:
        engine.dispose()
    url = login_url(settings)
    if not created:
        print(f"Agent console: {url} (accounts: python -m bot users list)")
        return 0
    print(
        "\nCreated demo staff accounts. The passwords are shown only this once: note them down.\n"
        f"  Sign in at {url}"
    )
    for name, first, role, password in wanted:
        print(f"    {role:<6} {name:<11} {'(' + first + ')':<9} password: {password}")
    print("  Lost one? python -m bot users reset-password demo-agent\n")
    return 0


def add_users_parser(commands: argparse._SubParsersAction) -> None:
    """Add `users` and its subcommands to the main parser."""
    users = commands.add_parser("users", help="manage staff accounts (agents and admins)")
    actions = users.add_subparsers(dest="users_command", required=True)

    add = actions.add_parser("add", help=cmd_add.__doc__)
    add.add_argument("--username", required=True, help="sign-in name: a-z, 0-9, '.', '_', '-'")
    add.add_argument("--first-name", required=True, help="shown to customers in the chat")
    add.add_argument("--role", choices=ROLES, default=AGENT, help="default: agent")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin instead (asked twice, hidden, at a terminal)",
    )
    add.set_defaults(handler=cmd_add)

    listing = actions.add_parser("list", help=cmd_list.__doc__)
    listing.set_defaults(handler=cmd_list)

    unlock = actions.add_parser("unlock", help=cmd_unlock.__doc__)
    unlock.add_argument("username")
    unlock.set_defaults(handler=cmd_unlock)

    reset = actions.add_parser("reset-password", help=cmd_reset_password.__doc__)
    reset.add_argument("username")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the new password from stdin instead"
    )
    reset.set_defaults(handler=cmd_reset_password)

    remove = actions.add_parser("remove", help=cmd_remove.__doc__)
    remove.add_argument("username")
    remove.set_defaults(handler=cmd_remove)

    demo = actions.add_parser("ensure-demo", help=cmd_ensure_demo.__doc__)
    demo.set_defaults(handler=cmd_ensure_demo)
