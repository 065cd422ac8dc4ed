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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.mail import is_demo_smtp
from bot.supervision import (
    ALIVE_STATES,
    GAVE_UP_STATES,
    RPC_ERRORS,
    STOP_WAIT_SECONDS,
    Program,
    Supervisor,
    render_config,
    stop_when_parent_dies,
)

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
        "WIDGET_STORE_URL": f"sqlite:///{workdir / 'widget.db'}",
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
        env.setdefault("WIDGET_STORE_URL", "sqlite:///var/widget.db")
        env.setdefault("HELPDESK_OUTBOX_PATH", "var/outbox.db")
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
    """The processes of `config` under supervisord (`bot.supervision`), which restarts
    any that dies. `programs` limits it to some of them (e.g. one more Rasa replica)."""

    config: StackConfig
    log_dir: Path | None = None
    programs: tuple[str, ...] | None = None
    supervisord: subprocess.Popen | None = None
    run_dir: Path | None = None

    @property
    def supervisor(self) -> Supervisor:
        assert self.run_dir is not None, "the stack is not started"
        return Supervisor(self.run_dir / "supervisor.sock")

    def start(self) -> None:
        (PROJECT_ROOT / "var").mkdir(exist_ok=True)
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        # Short and private: a unix socket path has a length limit, and whoever can
        # open it controls the processes.
        self.run_dir = Path(tempfile.mkdtemp(prefix="support-stack-"))
        programs = [
            Program(name, command, self.log_dir / f"{name}.log" if self.log_dir else None)
            for name, command in self.config.commands().items()
            if self.programs is None or name in self.programs
        ]
        config_file = self.run_dir / "supervisord.conf"
        config_file.write_text(
            render_config(programs, self.run_dir, self.run_dir / "supervisor.sock", PROJECT_ROOT)
        )
        output = None
        if self.log_dir is not None:
            output = open(self.log_dir / "supervisord.log", "ab")
        self.supervisord = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "--configuration", str(config_file)],
            cwd=PROJECT_ROOT,
            env=dict(self.config.env),
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            preexec_fn=stop_when_parent_dies,
        )
        if output is not None:
            output.close()

    def pids(self) -> dict[str, int]:
        """Each process's current pid (0 while it is down and being restarted)."""
        return self.supervisor.pids()

    def problems(self) -> dict[str, str]:
        """Processes that are not up now, with supervisord's state of each."""
        if self.supervisord is None or self.supervisord.poll() is not None:
            return {"supervisord": "EXITED"}
        try:
            states = self.supervisor.states()
        except RPC_ERRORS:  # e.g. shutting down after Ctrl-C: its exit says the rest
            return {"supervisord": "NOT ANSWERING"}
        return {name: state for name, state in states.items() if state not in ALIVE_STATES}

    def wait_until_ready(self, timeout: float = 180.0) -> None:
        """Block until every server answers its health check, or fail naming the laggard."""
        deadline = time.monotonic() + timeout
        waiting = {
            name: url
            for name, url in self.config.health_urls().items()
            if self.programs is None or name in self.programs
        }
        while waiting or not self.supervisor.is_up():
            assert self.supervisord is not None
            if self.supervisord.poll() is not None:
                raise RuntimeError(
                    f"supervisord exited with code {self.supervisord.returncode} while starting"
                )
            if self.supervisor.is_up():
                gave_up = {
                    name: state
                    for name, state in self.problems().items()
                    if state in GAVE_UP_STATES
                }
                if gave_up:
                    raise RuntimeError(f"{', '.join(gave_up)} kept exiting while starting")
                for name, url in list(waiting.items()):
                    if responds(url):
                        del waiting[name]
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(waiting)}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop supervisord and with it every child (TERM, KILL after a grace time)."""
        if self.supervisord is not None and self.supervisord.poll() is None:
            self.supervisord.terminate()
            try:
                self.supervisord.wait(timeout=STOP_WAIT_SECONDS + 10)
            except subprocess.TimeoutExpired:
                self.supervisord.kill()
                self.supervisord.wait()
        self.supervisord = None
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None

    def watch(self) -> int:
        """Run until Ctrl-C (or SIGTERM); supervisord restarts what dies meanwhile.

        Ends early only if supervisord itself ends or gives a process up for good.
        """
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        assert self.supervisord is not None
        try:
            while True:
                code = self.supervisord.poll()
                if code is not None:
                    # 0: it was asked to stop (Ctrl-C reaches it too, as part of this job).
                    print("Stopped." if code == 0 else f"supervisord failed (exit code {code}).")
                    return 0 if code == 0 else 1
                gave_up = [n for n, s in self.problems().items() if s in GAVE_UP_STATES]
                if gave_up:
                    print(f"{', '.join(gave_up)} kept exiting; stopping the rest (see its log).")
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
        "A process that stops is restarted (see the supervisord lines). Press Ctrl-C to stop.\n",
        flush=True,
    )
    return stack.watch()
