"""Password hashing (argon2id via argon2-cffi) and generated passwords.

Nothing here stores or logs a password; only argon2 hashes ($argon2id$...) reach
the database. Verification costs tens of milliseconds and some memory on purpose,
so the sign-in page runs it in a worker thread.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 copes with any length; this keeps requests small

# argon2-cffi's defaults follow RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB).
_hasher = PasswordHasher()


class PasswordRuleError(ValueError):
    """A chosen password is too short or too long; the message says which."""


def check_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRuleError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRuleError(f"a password may have at most {MAX_LENGTH} characters")


def generate_password() -> str:
    """A random password to hand to a person once: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


def hash_password(password: str) -> str:
    check_rules(password)
    return _hasher.hash(password)


def rehash(password: str) -> str:
    """A fresh hash of a password that just verified (no length rules: it is in use)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches; False for a mismatch or a damaged hash."""
    if not password or len(password) > MAX_LENGTH:
        # Still spend the same work, so the answer's timing says nothing.
        _spend_time()
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True if the hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(18))


def _spend_time() -> None:
    try:
        _hasher.verify(_dummy_hash(), "not the password")
    except VerificationError:
        pass


def verify_nobody(password: str) -> bool:
    """Work as long as a real check for a user that doesn't exist; always False."""
    _spend_time()
    return False
