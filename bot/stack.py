"""Start the whole assistant with one command and stop all of it on Ctrl-C.

Four processes: the Rasa server (NLU + dialogue, REST channel, HTTP API behind a
token), the action server, the bot service (helpdesk, agent console) and the
outbox relay that re-delivers tickets filed while the helpdesk was down; a fifth,
the demo mail server, when SMTP_HOST is local (`bot.mail.is_demo_smtp`). The
end-to-end tests start the same `Stack` with their own environment.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.mail import is_demo_smtp

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = PROJECT_ROOT / "models" / "current.tar.gz"


# Derived from the ports when unset; a developer's .env must not pin them in a copy.
DERIVED_VARIABLES = (
    "ACTION_SERVER_URL",
    "HELPDESK_URL",
    "RASA_CORS_ORIGINS",
    "WIDGET_ALLOWED_ORIGINS",
    "RASA_PUBLIC_URL",
    "RASA_URL",
)


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(
    workdir: Path, model: Path, base: Mapping[str, str] | None = None, **extra: str
) -> dict[str, str]:
    """A whole stack's environment on free ports with fresh SQLite files in `workdir`.

    For tests and benchmarks: nothing of a developer's .env (ports, databases,
    activated model) can leak in. `extra` adds or overrides variables.
    """
    env = {
        **(os.environ if base is None else base),
        "RASA_PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
        "BOT_PORT": str(free_port()),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "HELPDESK_API_TOKEN": secrets.token_urlsafe(16),
        "TRACKER_STORE_URL": f"sqlite:///{workdir / 'tracker.db'}",
        "HELPDESK_DB_URL": f"sqlite:///{workdir / 'helpdesk.db'}",
        "HELPDESK_OUTBOX_PATH": str(workdir / "outbox.db"),
        "BILLING_DB_URL": f"sqlite:///{workdir / 'billing.db'}",
        "LOCK_STORE_TYPE": "in_memory",
        "SMTP_HOST": "localhost",
        "SMTP_PORT": str(free_port()),
        "DEMO_MAIL_DIR": str(workdir / "mail"),
        "RASA_MODEL": str(model),
        "RASA_TELEMETRY_ENABLED": "false",
    }
    for derived in (*DERIVED_VARIABLES, "ADMIN_PROJECT_DIR"):
        env.pop(derived, None)
    env.update(extra)
    return env


@dataclass(frozen=True)
class StackConfig:
    """Where each process listens and what it shares; read from the environment."""

    rasa_port: int
    action_port: int
    bot_port: int
    rasa_token: str
    cors_origins: str
    model: Path
    env: Mapping[str, str]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        env = dict(os.environ if environ is None else environ)
        rasa_port = int(env.get("RASA_PORT", "5005"))
        action_port = int(env.get("ACTION_PORT", "5055"))
        bot_port = int(env.get("BOT_PORT", "8000"))
        env.setdefault("ACTION_SERVER_URL", f"http://127.0.0.1:{action_port}/webhook")
        env.setdefault("HELPDESK_URL", f"http://127.0.0.1:{bot_port}")
        env.setdefault("TRACKER_STORE_URL", "sqlite:///var/tracker.db")
        env.setdefault("LOCK_STORE_TYPE", "in_memory")
        env.setdefault("REDIS_HOST", "localhost")
        env.setdefault("REDIS_PORT", "6379")
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        # The chat widget channel (credentials.yml): the demo page may open it, and
        # without a configured secret a fresh one signs this run's sessions.
        env.setdefault(
            "WIDGET_ALLOWED_ORIGINS", f"http://localhost:{bot_port},http://127.0.0.1:{bot_port}"
        )
        env.setdefault("WIDGET_SESSION_SECRET", secrets.token_urlsafe(32))
        # The demo page hands this to the chat widget (bot/config.py reads it too).
        env.setdefault("RASA_PUBLIC_URL", f"http://localhost:{rasa_port}")
        # The agent console reaches Rasa's HTTP API here (widget push, resume) with
        # RASA_TOKEN; both are in this environment, which every process gets.
        env.setdefault("RASA_URL", f"http://127.0.0.1:{rasa_port}")
        env.setdefault("SMTP_HOST", "localhost")
        env.setdefault("SMTP_PORT", "8025")
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if part
        )
        if not env.get("RASA_MODEL", "").strip():
            from bot.training import startup_model  # imports bot.stack: not at the top

            env["RASA_MODEL"] = str(startup_model())
        token = env.get("RASA_TOKEN", "")
        if not token:
            raise SystemExit("RASA_TOKEN is empty: run `make run` (it creates .env) or set it.")
        return cls(
            rasa_port=rasa_port,
            action_port=action_port,
            bot_port=bot_port,
            rasa_token=token,
            cors_origins=env.get("RASA_CORS_ORIGINS", f"http://localhost:{bot_port}"),
            model=Path(env["RASA_MODEL"]),
            env=env,
        )

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    def commands(self) -> dict[str, list[str]]:
        python = sys.executable
        return {
            "bot": [python, "-m", "bot", "serve", "--port", str(self.bot_port)],
            "actions": [
                python,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(self.action_port),
            ],
            "rasa": [
                python,
                "-m",
                "rasa",
                "run",
                "--model",
                str(self.model),
                "--port",
                str(self.rasa_port),
                "--enable-api",
                # One argument: a generated token may start with "-".
                f"--auth-token={self.rasa_token}",
                "--cors",
                self.cors_origins,
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            "outbox": [python, "-m", "actions.outbox"],
            **({"mail": [python, "-m", "bot.mail_server"]} if self.demo_mail else {}),
        }

    @property
    def demo_mail(self) -> bool:
        """Start the demo SMTP server (python -m bot.mail_server) with the rest."""
        try:
            port = int(self.env.get("SMTP_PORT", "8025"))
        except ValueError:
            return False
        return is_demo_smtp(self.env.get("SMTP_HOST", "localhost"), port)

    def health_urls(self) -> dict[str, str]:
        return {
            "bot": f"{self.bot_url}/health",
            "actions": f"http://127.0.0.1:{self.action_port}/health",
            "rasa": f"{self.rasa_url}/status?token={self.rasa_token}",
        }


@dataclass
class Stack:
    config: StackConfig
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self) -> None:
        (PROJECT_ROOT / "var").mkdir(exist_ok=True)
        for name, command in self.config.commands().items():
            output = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                output = open(self.log_dir / f"{name}.log", "ab")
            self.processes[name] = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=dict(self.config.env),
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
            )

    def wait_until_ready(self, timeout: float = 180.0) -> None:
        """Block until every server answers its health check, or fail naming the laggard."""
        deadline = time.monotonic() + timeout
        waiting = dict(self.config.health_urls())
        while waiting:
            for name, url in list(waiting.items()):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with code {process.returncode} while starting"
                    )
                if responds(url):
                    del waiting[name]
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(waiting)}")
            time.sleep(0.5)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def watch(self) -> int:
        """Run until Ctrl-C (or SIGTERM) or until one process dies; then stop the rest."""
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            while True:
                for name, process in self.processes.items():
                    if process.poll() is not None:
                        print(
                            f"{name} stopped (exit code {process.returncode}); stopping the rest."
                        )
                        return 1
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nStopping...")
            return 0
        finally:
            self.stop()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """`kill` stops the stack like Ctrl-C does, children included."""
    raise KeyboardInterrupt


def responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _model_line(model: Path) -> str:
    if model.resolve() == DEFAULT_MODEL.resolve():
        return f"{model.name} (trained from data/)"
    return (
        f"{model.name}, activated in the admin area (models/active.json;"
        " activate another model there, or delete that file to start with current.tar.gz)"
    )


def run_stack() -> int:
    config = StackConfig.from_env()
    if not config.model.exists():
        print(
            f"No trained model at {config.model}: `make run` trains it (or `python -m bot train`)."
        )
        return 2
    stack = Stack(config)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    stack.start()
    try:
        stack.wait_until_ready()
    except (RuntimeError, TimeoutError, KeyboardInterrupt) as error:
        print(f"Could not start: {error}" if str(error) else "Stopped while starting.")
        stack.stop()
        return 1
    print(
        "\nThe assistant is running.\n"
        f"  Demo page + chat: http://localhost:{config.bot_port}/"
        f"  (English: http://localhost:{config.bot_port}/en)\n"
        f"  Chat over REST:   POST {config.rasa_url}/webhooks/rest/webhook"
        ' {"sender": "me", "message": "Voinko siirtää laskun 1001 eräpäivää?"}\n'
        f"  Chat widget:      socket.io at {config.rasa_url}/socket.io"
        f" (pages: {config.env['WIDGET_ALLOWED_ORIGINS']})\n"
        f"  Agent console:    http://localhost:{config.bot_port}/console"
        " (python -m bot users add ... makes an account)\n"
        f"  Admin area:       http://localhost:{config.bot_port}/admin/dashboard"
        " (inbox, labels, training, models; admins only)\n"
        f"  Model:            {_model_line(config.model)}\n"
        f"  Helpdesk API:     {config.bot_url}/api/tickets"
        " (Authorization: Bearer $HELPDESK_API_TOKEN)\n"
        + (
            f"  Demo mail:        {config.env.get('DEMO_MAIL_DIR') or 'var/mail'}/*.eml"
            f" (SMTP on localhost:{config.env['SMTP_PORT']})\n"
            if config.demo_mail
            else ""
        )
        + f"  Health:           {config.bot_url}/health\n"
        "Press Ctrl-C to stop.\n"
    )
    return stack.watch()
