"""The stack's processes under supervisord, which restarts whatever dies.

`make run` used to stop everything when one child died; now supervisord (the
`supervisor` package: well kept, pure Python, no server or daemon left behind, a
documented XML-RPC interface) keeps each one running. We chose it over honcho
(which, like a Procfile runner, stops all when one exits) and circus (ZeroMQ
and tornado beside Rasa's pins) because restarting is its whole job:

- a child that dies after it was up is started again at once, and a line in the
  log says what died (`exited: rasa (terminated by SIGKILL; not expected)`) and
  when it came back (`spawned: 'rasa' with pid ...`, `success: rasa entered
  RUNNING state`);
- one that dies again during its first seconds is retried after 1, 2, 3 ...
  seconds (supervisord's backoff) and given up only after `START_RETRIES`;
- Ctrl-C or SIGTERM to supervisord stops every child (TERM, then KILL after
  `STOP_WAIT_SECONDS`); children are in their own process groups, so Ctrl-C in
  the terminal reaches them only through supervisord, in order.

Tests and `bot.stack` talk to it over its XML-RPC socket (`Supervisor`).
"""

from __future__ import annotations

import ctypes
import http.client
import os
import shlex
import signal
import socket
import xmlrpc.client
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A child must stay up this long to count as started; dying sooner means backoff.
START_SECONDS = 3
# Retries of a child that keeps dying while starting (waits 1, 2, ... N seconds).
START_RETRIES = 100
STOP_WAIT_SECONDS = 20
# supervisord's states of a child (supervisor.states.ProcessStates names).
ALIVE_STATES = frozenset({"STARTING", "RUNNING"})
# What asking supervisord can raise: not there (yet), or shutting down (a Fault).
RPC_ERRORS = (OSError, xmlrpc.client.Error, http.client.HTTPException)
GAVE_UP_STATES = frozenset({"FATAL"})


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stop_when_parent_dies() -> None:
    """For Popen's preexec_fn: supervisord gets SIGTERM (and stops its children) when
    the process that started it dies, even by `kill -9`, so nothing is left running."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's own stop() still works
        pass


@dataclass(frozen=True)
class Program:
    """One supervised child: its command and where its output goes."""

    name: str
    command: Sequence[str]
    log_file: Path | None  # None: supervisord's own stdout (the terminal of `make run`)


def _escape(value: str) -> str:
    """supervisord reads its config with %-interpolation: a literal % is %%."""
    return value.replace("%", "%%")


def render_config(
    programs: Sequence[Program], run_dir: Path, socket_path: Path, directory: Path
) -> str:
    """supervisord.conf for `programs`; the children inherit supervisord's environment."""
    lines = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_escape(str(run_dir / 'supervisord.log'))}",
        "logfile_maxbytes=0",
        f"pidfile={_escape(str(run_dir / 'supervisord.pid'))}",
        f"childlogdir={_escape(str(run_dir))}",
        f"directory={_escape(str(directory))}",
        "loglevel=info",
    ]
    if os.geteuid() == 0:
        # Stay root (as whoever ran make run) without supervisord's warning about it.
        lines.append("user=root")
    lines += [
        "",
        "[unix_http_server]",
        f"file={_escape(str(socket_path))}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    ]
    for program in programs:
        output = str(program.log_file) if program.log_file is not None else "/dev/stdout"
        lines += [
            "",
            f"[program:{program.name}]",
            f"command={_escape(shlex.join(program.command))}",
            f"directory={_escape(str(directory))}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(output)}",
            "stdout_logfile_maxbytes=0",
        ]
    return "\n".join(lines) + "\n"


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over supervisord's unix socket."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        self.socket_path = path
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _UnixConnection(self.socket_path, self.timeout)


class Supervisor:
    """The XML-RPC side of a running supervisord (states, pids, stop/start one child)."""

    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.proxy = xmlrpc.client.ServerProxy(
            "http://localhost/RPC2", transport=_UnixTransport(str(socket_path), timeout)
        )

    def processes(self) -> dict[str, dict[str, Any]]:
        """Name -> supervisord's process info (`statename`, `pid`, `spawnerr`, ...)."""
        return {info["name"]: info for info in self.proxy.supervisor.getAllProcessInfo()}

    def states(self) -> dict[str, str]:
        return {name: info["statename"] for name, info in self.processes().items()}

    def pids(self) -> dict[str, int]:
        """The current pid of every child that runs (0 while it is down)."""
        return {name: int(info["pid"]) for name, info in self.processes().items()}

    def stop(self, name: str) -> None:
        """Stop one child (it stays down until `start`): an outage on purpose."""
        self.proxy.supervisor.stopProcess(name)

    def start(self, name: str) -> None:
        self.proxy.supervisor.startProcess(name)

    def is_up(self) -> bool:
        """supervisord answers on its socket."""
        try:
            return self.proxy.supervisor.getState()["statename"] == "RUNNING"
        except RPC_ERRORS:
            return False

