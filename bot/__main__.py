"""Command line of the bot service: `python -m bot serve|migrate|users|run|train|init-env`.

The only place that reads `.env`. To add a subcommand: write `cmd_<name>(args,
settings)` and add its parser in `build_parser`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from dotenv import load_dotenv

from bot.accounts.cli import add_users_parser
from bot.app import create_app
from bot.config import ConfigError, Settings
from bot.migrations import upgrade

logger = logging.getLogger("bot")


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Bring the helpdesk database schema up to date."""
    upgrade(settings.helpdesk_db_url)
    logger.info("helpdesk database is up to date")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate, then serve the helpdesk in this one process."""
    cmd_migrate(args, settings)
    host = args.host or settings.host
    port = args.port or settings.port
    create_app(settings).run(host=host, port=port, workers=1, access_log=False, motd=False)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start Rasa, the action server, the bot service and the outbox relay."""
    from bot.stack import run_stack

    return run_stack()


def cmd_train(args: argparse.Namespace) -> int:
    """Train the Rasa model if config, domain or data changed since the last training."""
    from bot.training import train_if_changed

    return train_if_changed(force=args.force)


def cmd_init_env(args: argparse.Namespace) -> int:
    """Create .env from .env.example with generated secrets; add new variables to an old one."""
    from bot.envfile import write_env
    from bot.stack import PROJECT_ROOT

    target = PROJECT_ROOT / ".env"
    existed = target.exists()
    added = write_env(PROJECT_ROOT / ".env.example", target)
    if not existed:
        print(f"Created {target.name} with generated secrets.")
    elif added:
        print(f"Added to {target.name}: {', '.join(added)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help=cmd_serve.__doc__)
    serve.add_argument("--host", help="interface to listen on (default: BOT_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: BOT_PORT)")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help=cmd_migrate.__doc__)
    migrate.set_defaults(handler=cmd_migrate)

    # `users add|list|unlock|reset-password|remove|ensure-demo` (bot/accounts/cli.py)
    add_users_parser(commands)

    # Developer commands: they don't need the service's settings.
    run = commands.add_parser("run", help=cmd_run.__doc__)
    run.set_defaults(plain_handler=cmd_run)
    train = commands.add_parser("train", help=cmd_train.__doc__)
    train.add_argument("--force", action="store_true", help="train even if nothing changed")
    train.set_defaults(plain_handler=cmd_train)
    init_env = commands.add_parser("init-env", help=cmd_init_env.__doc__)
    init_env.set_defaults(plain_handler=cmd_init_env)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    if hasattr(args, "plain_handler"):
        return args.plain_handler(args)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"bot: cannot start. {error}", file=sys.stderr)
        return 2
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    return handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
