"""The bot service (helpdesk API, demo page and chat widget): a Sanic app built from Settings."""

from __future__ import annotations

import uuid

from sanic import Sanic

from bot.accounts.pages import accounts_blueprint
from bot.admin.log_cache import LogCache
from bot.admin.views import admin_blueprint
from bot.config import Settings
from bot.console import console_blueprint
from bot.console.rasa import RasaClient
from bot.db import create_engine
from bot.errors import register_error_handlers
from bot.health import health_blueprint
from bot.tickets.api import tickets_blueprint
from bot.tickets.feedback import feedback_blueprint
from bot.tickets.hours_api import hours_blueprint
from bot.tickets.live import LiveHub
from bot.widget import widget_blueprint

MAX_BODY_BYTES = 1_000_000


def create_app(settings: Settings) -> Sanic:
    """Build the app; the database engine is made when the server starts.

    The name is unique per call because Sanic keeps a registry of app names and
    tests build several apps in one process.
    """
    settings.validate()
    app = Sanic(f"bot_{uuid.uuid4().hex[:12]}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.ctx.settings = settings
    # Ticket changes for the console's live views, and who of the agents is online.
    app.ctx.live = LiveHub()
    # The console's calls to Rasa (widget push, resume, rating question).
    app.ctx.rasa = RasaClient(settings)
    register_error_handlers(app)
    for blueprint in (
        health_blueprint(),
        tickets_blueprint(),
        feedback_blueprint(),
        hours_blueprint(),
        widget_blueprint(),
        accounts_blueprint(),
        console_blueprint(),
        admin_blueprint(),
    ):
        app.blueprint(blueprint)

    @app.before_server_start
    async def open_database(app: Sanic, _loop) -> None:
        app.ctx.engine = create_engine(settings.helpdesk_db_url)
        # Rasa's tracker store, read by the admin inbox and dashboard.
        app.ctx.tracker_engine = create_engine(settings.tracker_store_url)
        app.ctx.log_cache = LogCache()

    @app.before_server_stop
    async def end_live_streams(app: Sanic, _loop) -> None:
        app.ctx.live.close()  # open console pages' event streams finish now

    @app.after_server_stop
    async def close_database(app: Sanic, _loop) -> None:
        await app.ctx.rasa.close()
        app.ctx.engine.dispose()
        app.ctx.tracker_engine.dispose()

    return app
