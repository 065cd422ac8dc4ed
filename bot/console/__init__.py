"""The agent console: agents pick up handed-off conversations and talk to the customer live.

- `views.console_blueprint()`: the queue (`/console`), a ticket (`/console/tickets/<n>`),
  live updates (`/console/events`, server-sent events) and the JSON the pages use
  (`/console/api/...`); signed-in agents only (`bot.accounts.guard.require_user`).
- `workflow`: what claim, reply, waiting, resolve, reopen and notes do, including
  the calls to Rasa (`rasa.RasaClient`: widget push, resume, rating question) and
  the e-mail to a customer who left the chat (`bot.mail`).
- `canned`: the canned replies of `canned_replies.yml`, in Finnish and English.
- `templates/`, `static/`: server-rendered HTML and a little vanilla JS; customer
  text is always put in the page as text.
"""

from bot.console.views import console_blueprint

__all__ = ["console_blueprint"]
