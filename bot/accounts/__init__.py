"""Staff accounts: sign-in for the agent console and the admin area.

- `guard.require_user(role)`: decorator for Sanic handlers (session, role, CSRF);
  `guard.csrf_token(request)`: the token for forms and the X-CSRF-Token header.
- `models.User`: who is signed in (`request.ctx.user`).
- `web.staff_templates(folder)` / `web.render_staff(...)`: pages that extend
  `staff_base.html` (blocks `title` and `content`; nav with Queue, Admin, Sign out).
- `pages.accounts_blueprint()`: /console/login, /console/logout, /console/me, /admin.
- `cli`: `python -m bot users add|list|unlock|reset-password|remove|ensure-demo`.

Passwords are argon2id hashes; session cookies (`console_session`) are HttpOnly,
SameSite=Lax and Secure with COOKIE_SECURE=true, and only their SHA-256 is stored.
"""

from bot.accounts.guard import csrf_token, require_user
from bot.accounts.models import User

__all__ = ["User", "csrf_token", "require_user"]
