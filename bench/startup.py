"""Training and start: how long a full training takes and how soon `make run` answers.

Both are measured the way a developer meets them: training is `rasa train` exactly as
`python -m bot train --force` runs it, but into a work folder and with an empty Rasa cache
(a warm cache would reuse trained components and hide the real cost); the start is the
whole stack as `make run` starts it (`bot.stack.Stack`, after the demo seed and demo
users), on free ports with its own SQLite files, timed until the first REST answer.
`bench.pipelines` serves its models through `started_stack` too, so the same code is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.admin.project import copy_project
from bot.stack import PROJECT_ROOT, Stack, StackConfig, isolated_env
from bot.training import rasa_train_command

ROOT = PROJECT_ROOT
FIRST_MESSAGE = "hei"


def tail(path: Path, lines: int = 20) -> str:
    """The end of a log, for an error message that says what went wrong."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def train(config: Path, out: Path, name: str, cache: Path) -> dict[str, Any]:
    """Train one model with `config` on the project's data; wall-clock seconds and size."""
    command = rasa_train_command(ROOT, out, name)
    command[command.index("--config") + 1] = str(config)
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"{name}-train.log"
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache), "RASA_TELEMETRY_ENABLED": "false"}
    started = time.perf_counter()
    with log.open("wb") as output:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    model = out / f"{name}.tar.gz"
    if result.returncode != 0 or not model.is_file():
        raise RuntimeError(f"training {config.name} failed ({result.returncode}):\n{tail(log)}")
    return {
        "config": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config),
        "seconds": round(seconds, 1),
        "model_bytes": model.stat().st_size,
        "model": str(model),
        "cache": "empty",
    }


def stack_env(workdir: Path, model: Path) -> dict[str, str]:
    """Everything `make run` reads from .env, but on free ports and with fresh files here."""
    # The admin area reads and writes a project folder: never this checkout's data/.
    return isolated_env(workdir, model, ADMIN_PROJECT_DIR=str(copy_project(workdir / "project")))


def prelude(env: Mapping[str, str], log: Path) -> None:
    """What `make run` does before `python -m bot run`: demo invoices and demo users."""
    for command in (
        [sys.executable, "-m", "actions.billing", "seed", "--if-empty"],
        [sys.executable, "-m", "bot", "users", "ensure-demo"],
    ):
        with log.open("ab") as output:
            result = subprocess.run(
                command, cwd=ROOT, env=dict(env), stdout=output, stderr=subprocess.STDOUT
            )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command[1:])} failed:\n{tail(log)}")


def rest_answer(rasa_url: str, sender: str, message: str, timeout: float = 10) -> list[Any]:
    """One message over the REST channel; the bot's replies (empty when none)."""
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"[]")


def wait_for_answer(stack: Stack, deadline: float) -> None:
    """Poll with the first message until the bot replies, failing fast if a process died."""
    url = stack.config.rasa_url
    while time.perf_counter() < deadline:
        down = stack.problems()
        if {"EXITED", "BACKOFF", "FATAL"} & set(down.values()):
            raise RuntimeError(f"{', '.join(down)} exited while starting")
        try:
            if rest_answer(url, "bench-first-answer", FIRST_MESSAGE, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError("no answer to the first message in time")


@dataclass
class StartedStack:
    """A running stack and how long each step of its start took (seconds)."""

    config: StackConfig
    workdir: Path
    timings: dict[str, float] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)  # for profilers and samplers

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"


@contextmanager
def started_stack(workdir: Path, model: Path, timeout: float = 300) -> Iterator[StartedStack]:
    """Start the whole assistant with `model` as `make run` would; stop it all afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = stack_env(workdir, model)
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    began = time.perf_counter()
    prelude(env, logs / "prelude.log")
    prelude_done = time.perf_counter()
    stack = Stack(StackConfig.from_env(env), log_dir=logs)
    stack.start()
    try:
        try:
            wait_for_answer(stack, prelude_done + timeout)
            answered = time.perf_counter()
            stack.wait_until_ready(timeout=timeout)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}\nrasa log:\n{tail(logs / 'rasa.log')}") from error
        ready = time.perf_counter()
        pids = stack.pids()
        started = StartedStack(stack.config, workdir, pids=pids)
        started.timings = {
            "prelude_seconds": round(prelude_done - began, 2),
            "stack_to_first_answer_seconds": round(answered - prelude_done, 2),
            "first_answer_seconds": round(answered - began, 2),
            "all_healthy_seconds": round(max(ready, answered) - began, 2),
        }
        yield started
    finally:
        stack.stop()


def first_answer(workdir: Path, model: Path) -> dict[str, Any]:
    """`make run` on a warm machine: from the first command to the first answer."""
    with started_stack(workdir, model) as stack:
        return {"model": str(model), **stack.timings}


def measure(
    workdir: Path,
    training: dict[str, Any] | None = None,
    start: dict[str, Any] | None = None,
    model: Path | None = None,
    train_model: bool = True,
) -> dict[str, Any]:
    """Full training time and time to first answer; reuses figures measured elsewhere."""
    result: dict[str, Any] = {}
    reused = [name for name, given in (("training", training), ("start", start)) if given]
    if reused:
        result["reused_from_pipelines"] = reused  # the same run's project pipeline
    if training is not None:
        result["training"] = training
    elif train_model:
        result["training"] = train(
            ROOT / "config.yml", workdir / "models", "startup", workdir / "cache"
        )
    model = model or Path(result.get("training", {}).get("model") or ROOT / "models/current.tar.gz")
    result["start"] = start if start is not None else first_answer(workdir / "stack", model)
    return result
