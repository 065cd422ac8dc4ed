"""Accounts and sessions in the database: plain functions over an Engine.

Each function is one transaction. The sign-in rules (lock-out, session expiry)
live here so the web pages and the CLI share them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.accounts.models import ROLES, User, users, web_sessions
from bot.accounts.passwords import hash_password

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# How often a session's "last seen" time is written (not on every request).
TOUCH_EVERY = timedelta(minutes=1)


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class Account:
    """A user row as the admin page and the CLI show it (never the hash)."""

    user: User
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    last_seen_at: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class Credentials:
    """What sign-in needs to know about a username."""

    user: User
    password_hash: str
    failed_attempts: int
    locked_until: datetime | None


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user: User
    created_at: datetime
    last_seen_at: datetime


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME.fullmatch(name):
        raise AccountError(
            "a username has 2 to 64 characters: lower-case letters a-z, digits, '.', '_' or '-',"
            " starting with a letter or digit"
        )
    return name


def _user(row: sa.engine.Row) -> User:
    return User(id=row.id, username=row.username, first_name=row.first_name, role=row.role)


def _account(row: sa.engine.Row) -> Account:
    return Account(
        user=_user(row),
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
    )


# --- users -------------------------------------------------------------------


def create_user(
    engine: Engine, username: str, first_name: str, role: str, password: str, now: datetime
) -> User:
    """Add a user; AccountError if the name is taken or a field is not acceptable."""
    name = check_username(username)
    first = first_name.strip()
    if not first or len(first) > 100:
        raise AccountError("a first name is needed (customers see it), at most 100 characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    password_hash = hash_password(password)
    try:
        with engine.begin() as connection:
            new_id = connection.execute(
                users.insert().values(
                    username=name,
                    first_name=first,
                    role=role,
                    password_hash=password_hash,
                    failed_attempts=0,
                    created_at=now,
                )
            ).inserted_primary_key[0]
    except IntegrityError:
        raise AccountError(f"there already is a user {name!r}") from None
    return User(id=new_id, username=name, first_name=first, role=role)


def count_users(connection: Connection) -> int:
    return connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()


def list_accounts(engine: Engine) -> list[Account]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(users).order_by(users.c.username)).fetchall()
    return [_account(row) for row in rows]


def credentials(engine: Engine, username: str) -> Credentials | None:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(users).where(users.c.username == normalize_username(username))
        ).first()
    if row is None:
        return None
    return Credentials(
        user=_user(row),
        password_hash=row.password_hash,
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
    )


def unlock(engine: Engine, username: str) -> bool:
    """Clear a lock-out and the failure count; False if there is no such user."""
    with engine.begin() as connection:
        result = connection.execute(
            users.update()
            .where(users.c.username == normalize_username(username))
            .values(failed_attempts=0, locked_until=None)
        )
    return result.rowcount > 0


def set_password(engine: Engine, username: str, password: str) -> bool:
    """Replace the password, clear any lock-out and end the user's sessions."""
    password_hash = hash_password(password)
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(users.c.id).where(users.c.username == normalize_username(username))
        ).first()
        if row is None:
            return False
        connection.execute(
            users.update()
            .where(users.c.id == row.id)
            .values(password_hash=password_hash, failed_attempts=0, locked_until=None)
        )
        connection.execute(web_sessions.delete().where(web_sessions.c.user_id == row.id))
    return True


def remove_user(engine: Engine, username: str) -> bool:
    """Delete a user and their sessions; False if there is no such user."""
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(users.c.id).where(users.c.username == normalize_username(username))
        ).first()
        if row is None:
            return False
        connection.execute(web_sessions.delete().where(web_sessions.c.user_id == row.id))
        connection.execute(users.delete().where(users.c.id == row.id))
    return True


def create_first_users(
    engine: Engine, wanted: Sequence[tuple[str, str, str, str]], now: datetime
) -> bool:
    """Create (username, first_name, role, password) users only if there are none yet.

    One transaction: two `make run`s started together cannot both create them.
    """
    with engine.connect() as connection:
        if count_users(connection):
            return False  # the usual case: skip the password hashing
    hashed = [
        (check_username(name), first, role, hash_password(password))
        for name, first, role, password in wanted
    ]
    with engine.begin() as connection:
        if count_users(connection):
            return False
        for name, first, role, password_hash in hashed:
            connection.execute(
                users.insert().values(
                    username=name,
                    first_name=first,
                    role=role,
                    password_hash=password_hash,
                    failed_attempts=0,
                    created_at=now,
                )
            )
    return True


# --- failed sign-ins ---------------------------------------------------------


def record_failure(
    engine: Engine, user_id: int, max_failures: int, lock_for: timedelta, now: datetime
) -> bool:
    """Count a failed sign-in; lock the account at `max_failures`. True if now locked."""
    with engine.begin() as connection:
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(failed_attempts=users.c.failed_attempts + 1)
        )
        failures = connection.execute(
            sa.select(users.c.failed_attempts).where(users.c.id == user_id)
        ).scalar_one()
        if failures < max_failures:
            return False
        # Locked: the count starts again for the attempts after the lock ends.
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(failed_attempts=0, locked_until=now + lock_for)
        )
    return True


def record_success(engine: Engine, user_id: int, new_hash: str | None, now: datetime) -> None:
    values: dict = {"failed_attempts": 0, "locked_until": None, "last_seen_at": now}
    if new_hash:
        values["password_hash"] = new_hash
    with engine.begin() as connection:
        connection.execute(users.update().where(users.c.id == user_id).values(**values))


# --- sessions ----------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(engine: Engine, user_id: int, now: datetime, max_age: timedelta) -> str:
    """Start a session and return the cookie's token (only its hash is stored).

    Sessions past `max_age` are swept here, so the table does not grow forever.
    """
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(web_sessions.delete().where(web_sessions.c.created_at < now - max_age))
        connection.execute(
            web_sessions.insert().values(
                token_hash=token_hash(token), user_id=user_id, created_at=now, last_seen_at=now
            )
        )
    return token


def session_for(
    engine: Engine, token: str, now: datetime, idle: timedelta, max_age: timedelta
) -> SessionInfo | None:
    """The live session for a cookie token, or None (an expired one is deleted)."""
    query = (
        sa.select(
            web_sessions.c.id.label("session_id"),
            web_sessions.c.created_at.label("session_created_at"),
            web_sessions.c.last_seen_at.label("session_last_seen_at"),
            users.c.id,
            users.c.username,
            users.c.first_name,
            users.c.role,
        )
        .select_from(web_sessions.join(users, users.c.id == web_sessions.c.user_id))
        .where(web_sessions.c.token_hash == token_hash(token))
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    if row.session_last_seen_at + idle <= now or row.session_created_at + max_age <= now:
        end_session(engine, token)
        return None
    if now - row.session_last_seen_at >= TOUCH_EVERY:
        with engine.begin() as connection:
            connection.execute(
                web_sessions.update()
                .where(web_sessions.c.id == row.session_id)
                .values(last_seen_at=now)
            )
            connection.execute(users.update().where(users.c.id == row.id).values(last_seen_at=now))
    return SessionInfo(
        id=row.session_id,
        user=_user(row),
        created_at=row.session_created_at,
        last_seen_at=row.session_last_seen_at,
    )


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            web_sessions.delete().where(web_sessions.c.token_hash == token_hash(token))
        )
