"""Signed session tokens for the chat widget.

A token is `<session id>.<signature>`: the signature is HMAC-SHA256 of the id with
the channel's secret, base64url without padding. The session id is the Rasa
conversation id, so a client can only reach a conversation it was given a token
for; a bare id, a forged signature or anything malformed verifies to nothing and
the caller issues a new session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

# Session ids we issue are uuid4 hex; accept only that shape back.
_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
# Refuse obviously weak secrets (and the unexpanded placeholder of .env.example).
MIN_SECRET_LENGTH = 16


class SessionSigner:
    """Issues and verifies widget session tokens."""

    def __init__(self, secret: str) -> None:
        secret = (secret or "").strip()
        if len(secret) < MIN_SECRET_LENGTH or secret == "<generate>":
            raise ValueError(
                f"the widget session secret must be at least {MIN_SECRET_LENGTH} characters "
                "(WIDGET_SESSION_SECRET; `python -m bot init-env` generates one)"
            )
        self._key = secret.encode("utf-8")

    def _signature(self, session_id: str) -> str:
        digest = hmac.new(self._key, session_id.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def token_for(self, session_id: str) -> str:
        return f"{session_id}.{self._signature(session_id)}"

    def new_session(self) -> tuple[str, str]:
        """A fresh (session id, token)."""
        session_id = uuid.uuid4().hex
        return session_id, self.token_for(session_id)

    def verify(self, token: object) -> str | None:
        """The session id inside a valid token, else None (never raises)."""
        if not isinstance(token, str) or len(token) > 200:
            return None
        session_id, dot, signature = token.partition(".")
        if not dot or not _SESSION_ID.match(session_id):
            return None
        expected = self._signature(session_id)
        if hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
            return session_id
        return None
