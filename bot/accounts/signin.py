"""The sign-in decision: password check, lock-out and its kind wording.

Unknown usernames are treated like real ones, as far as an outsider can tell:
the same password work is done (against a dummy hash), the same message is
shown, and they "lock" after the same number of tries (counted in memory).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy.engine import Engine

from bot.accounts import passwords, store
from bot.accounts.models import User
from bot.config import Settings


class Outcome(Enum):
    SIGNED_IN = "signed_in"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    user: User | None = None


class UnknownNames:
    """Failed tries per unknown username, so they lock like real accounts.

    Bounded: the oldest names are forgotten first, so nobody can fill memory.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._tries: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()

    def locked(self, name: str, now: datetime) -> bool:
        _, until = self._tries.get(name, (0, None))
        return until is not None and until > now

    def fail(self, name: str, max_failures: int, lock_for: timedelta, now: datetime) -> bool:
        count, _ = self._tries.pop(name, (0, None))
        count += 1
        locked = count >= max_failures
        self._tries[name] = (0, now + lock_for) if locked else (count, None)
        while len(self._tries) > self.limit:
            self._tries.popitem(last=False)
        return locked


async def _in_thread(function, *args):
    """argon2 takes tens of milliseconds: keep the event loop free meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


async def sign_in(
    engine: Engine,
    settings: Settings,
    unknown: UnknownNames,
    username: str,
    password: str,
    now: datetime,
) -> Result:
    name = store.normalize_username(username)[:64]
    lock_for = timedelta(minutes=settings.signin_lock_minutes)
    found = store.credentials(engine, name) if name else None
    if found is None:
        await _in_thread(passwords.verify_nobody, password)
        if unknown.locked(name, now):
            return Result(Outcome.LOCKED)
        if unknown.fail(name, settings.signin_max_failures, lock_for, now):
            return Result(Outcome.LOCKED)
        return Result(Outcome.WRONG)
    matches = await _in_thread(passwords.verify_password, found.password_hash, password)
    if found.locked_until is not None and found.locked_until > now:
        return Result(Outcome.LOCKED)  # even the right password waits for the lock to end
    if not matches:
        locked = store.record_failure(
            engine, found.user.id, settings.signin_max_failures, lock_for, now
        )
        return Result(Outcome.LOCKED if locked else Outcome.WRONG)
    new_hash = None
    if passwords.needs_rehash(found.password_hash):
        new_hash = await _in_thread(passwords.rehash, password)
    store.record_success(engine, found.user.id, new_hash, now)
    return Result(Outcome.SIGNED_IN, found.user)


def login_csrf_token() -> str:
    return secrets.token_urlsafe(32)
