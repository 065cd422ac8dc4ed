"""Load benchmark: simulated customers chatting through the widget channel and REST.

Each simulated customer loops over scripted conversations (bench.scripts) until the
run's duration is over, with a random think time between messages (seeded, so the
widget and REST runs of one level send the same scripts with the same pauses), and
the customers start staggered over a ramp-up. The default think time, 5-15 s, is
what a person needs to read a reply of one or two paragraphs and type the next
message; `--think 1,3` is a stress test (every customer answers within 3 s). Every
conversation is a new session, as a new visitor of the page: a handoff pauses the bot
for that session.

- widget: socket.io over websocket, like browsers (bench.engineio_client); per
  conversation a connection, `session_request` (which makes the server greet the
  customer: the greeting is timed as `session_start_s`), then `user_uttered` per
  message. Receipt time: sent -> the `receipt` with our message_id. Answer time:
  sent -> the first `bot_uttered`. The next message waits for `typing {on: false}`
  (the bot finished the turn), so replies of one turn are never taken for the next.
- rest: POST /webhooks/rest/webhook on the same Rasa server and model; `/greet`
  with the page language first (what the widget does at session start), then the
  same messages. Answer time: sent -> the HTTP response is read. No receipt (None).

Errors (counted by kind, a failed conversation is abandoned): `connect` (the socket
or HTTP connection failed), `timeout` (no answer within `answer_timeout_s`),
`http_<status>`, `error_event:<code>` (the widget's `error` event), `no_answer`
(the bot finished the turn without replying), `disconnected`.

Percentiles use linear interpolation between closest ranks (numpy's default,
Hyndman & Fan type 7), see `percentile`.

CLI (starts its own stack on free ports with fresh SQLite files and demo data):
    python -m bench.load --customers 10,50,100 --duration 60 --channels widget,rest \
        [--out bench/results/load.json]
    python -m bench.load --smoke
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import random
import secrets
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

import aiohttp

from bench.engineio_client import Event, SocketIOClient, SocketIOError
from bench.processes import ProcessSampler, machine
from bench.scripts import ALL_SCRIPTS, Script
from bot.stack import DEFAULT_MODEL, Stack, StackConfig, isolated_env

# Seconds between a reply and the customer's next message: reading and typing.
THINK_TIME_S = (5.0, 15.0)

Channel = Literal["widget", "rest"]
CHANNELS: tuple[Channel, ...] = ("widget", "rest")
ANSWER_TIMEOUT_S = 30.0
PERCENTILES = (50, 95, 99)


# --- statistics ----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks.

    Numpy's default method (Hyndman & Fan type 7): rank = q/100 * (n - 1) on the
    sorted values, interpolated between its neighbours. None for no values.
    """
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50/p95/p99, mean and max of latencies in seconds (None when empty)."""
    summary: dict[str, float | int | None] = {"count": len(values)}
    for q in PERCENTILES:
        value = percentile(values, q)
        summary[f"p{q}"] = None if value is None else round(value, 4)
    summary["mean"] = round(sum(values) / len(values), 4) if values else None
    summary["max"] = round(max(values), 4) if values else None
    return summary


# --- results -------------------------------------------------------------------------


@dataclass
class LoadResult:
    """The figures of one run (one channel at one number of customers)."""

    channel: Channel
    customers: int
    duration_s: float
    ramp_up_s: float
    think_time_s: tuple[float, float]
    seed: int
    elapsed_s: float
    messages_sent: int
    messages_answered: int
    conversations_started: int
    conversations_completed: int
    # Latency summaries in seconds (count, p50, p95, p99, mean, max).
    receipt_s: dict[str, Any] | None
    answer_s: dict[str, Any]
    answer_s_by_language: dict[str, dict[str, Any]]
    session_start_s: dict[str, Any]
    # Customer messages answered per second: over the whole run, and between the
    # end of the ramp-up and the end of the duration (all customers active).
    throughput_per_s: float
    steady_throughput_per_s: float | None
    errors: dict[str, int]
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["think_time_s"] = list(self.think_time_s)
        data["error_count"] = self.error_count
        return data


class TurnFailed(Exception):
    """A conversation cannot go on; the message is the error kind."""


@dataclass
class Recorder:
    """What the customers of one run measured (one event loop: no locks needed)."""

    started: float
    ramp_end: float
    deadline: float
    receipts: list[float] = field(default_factory=list)
    answers: list[tuple[float, float, str]] = field(default_factory=list)  # (at, s, lang)
    session_starts: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    conversations_started: int = 0
    conversations_completed: int = 0

    def over(self) -> bool:
        return time.perf_counter() >= self.deadline

    def answered(self, sent_at: float, at: float, language: str) -> None:
        self.answers.append((at, at - sent_at, language))

    def steady_throughput(self) -> float | None:
        window = self.deadline - self.ramp_end
        if window <= 0:
            return None
        count = sum(1 for at, _, _ in self.answers if self.ramp_end <= at <= self.deadline)
        return round(count / window, 3)


@dataclass(frozen=True)
class RunSettings:
    channel: Channel
    rasa_url: str
    origin: str
    think_time_s: tuple[float, float]
    answer_timeout_s: float
    run_tag: str


# --- one simulated customer ------------------------------------------------------------


async def think(recorder: Recorder, rng: random.Random, think_time_s: tuple[float, float]) -> bool:
    """Pause like a customer reading and typing; False if the run is over meanwhile."""
    pause = rng.uniform(*think_time_s)
    remaining = recorder.deadline - time.perf_counter()
    await asyncio.sleep(max(0.0, min(pause, remaining)))
    return not recorder.over()


async def widget_turn(
    client: SocketIOClient, message_id: str | None, timeout: float
) -> tuple[Event | None, Event]:
    """Events of one turn until the bot stops typing: (receipt, first bot_uttered).

    `message_id` None is the greeting after `session_request` (no receipt).
    """
    deadline = time.perf_counter() + timeout
    receipt: Event | None = None
    answer: Event | None = None
    typing = False
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TurnFailed("timeout")
        try:
            event = await client.next_event(remaining)
        except asyncio.TimeoutError:
            raise TurnFailed("timeout") from None
        data = event.data if isinstance(event.data, dict) else {}
        if event.name == "receipt" and data.get("message_id") == message_id:
            receipt = event
        elif event.name == "error":
            raise TurnFailed(f"error_event:{data.get('code')}")
        elif event.name == "bot_uttered" and answer is None:
            answer = event
        elif event.name == "typing" and data.get("on"):
            typing = True
        elif event.name == "typing" and answer is not None:
            return receipt, answer
        elif event.name == "typing" and typing:
            raise TurnFailed("no_answer")


async def widget_conversation(
    settings: RunSettings, recorder: Recorder, script: Script, rng: random.Random
) -> None:
    """One visitor of the page: connect, start a session, say the script's messages."""
    client = SocketIOClient(settings.rasa_url, settings.origin)
    timeout = settings.answer_timeout_s
    opened = False
    try:
        started = time.perf_counter()
        await client.connect()
        opened = True
        recorder.conversations_started += 1
        metadata = {"language": script.language, "page": f"bench:{script.name}"}
        await client.emit("session_request", {"metadata": metadata})
        confirm = await client.wait_for("session_confirm", timeout)
        token = confirm.data["session_id"]
        _, greeting = await widget_turn(client, None, timeout)
        recorder.session_starts.append(greeting.at - started)
        for text in script.messages:
            if not await think(recorder, rng, settings.think_time_s):
                return
            message_id = uuid.uuid4().hex
            sent_at = time.perf_counter()
            await client.emit(
                "user_uttered", {"message": text, "message_id": message_id, "session_id": token}
            )
            recorder.sent += 1
            receipt, answer = await widget_turn(client, message_id, timeout)
            if receipt is not None:
                recorder.receipts.append(receipt.at - sent_at)
            recorder.answered(sent_at, answer.at, script.language)
        recorder.conversations_completed += 1
    except TurnFailed as failure:
        recorder.errors[str(failure)] += 1
    except asyncio.TimeoutError:
        recorder.errors["timeout"] += 1
    except SocketIOError:
        recorder.errors["disconnected" if opened else "connect"] += 1
    finally:
        await client.close()


async def rest_say(
    http: aiohttp.ClientSession, settings: RunSettings, sender: str, text: str, language: str
) -> list[Any]:
    """One REST turn: the bot's messages, or TurnFailed."""
    body = {"sender": sender, "message": text, "metadata": {"language": language}}
    try:
        async with http.post(
            f"{settings.rasa_url}/webhooks/rest/webhook",
            json=body,
            timeout=aiohttp.ClientTimeout(total=settings.answer_timeout_s),
        ) as response:
            if response.status != 200:
                raise TurnFailed(f"http_{response.status}")
            messages = await response.json()
    except asyncio.TimeoutError:
        raise TurnFailed("timeout") from None
    except aiohttp.ClientError:
        raise TurnFailed("connect") from None
    if not isinstance(messages, list) or not messages:
        raise TurnFailed("no_answer")
    return messages


async def rest_conversation(
    settings: RunSettings,
    recorder: Recorder,
    script: Script,
    rng: random.Random,
    http: aiohttp.ClientSession,
    sender: str,
) -> None:
    """The same conversation over REST: `/greet` (the widget's session start), then the script."""
    try:
        recorder.conversations_started += 1
        started = time.perf_counter()
        await rest_say(http, settings, sender, "/greet", script.language)
        recorder.session_starts.append(time.perf_counter() - started)
        for text in script.messages:
            if not await think(recorder, rng, settings.think_time_s):
                return
            sent_at = time.perf_counter()
            recorder.sent += 1
            await rest_say(http, settings, sender, text, script.language)
            recorder.answered(sent_at, time.perf_counter(), script.language)
        recorder.conversations_completed += 1
    except TurnFailed as failure:
        recorder.errors[str(failure)] += 1


async def customer(
    index: int,
    settings: RunSettings,
    recorder: Recorder,
    scripts: Sequence[Script],
    start_delay: float,
    seed: int,
    http: aiohttp.ClientSession | None,
) -> None:
    """Loop over randomly chosen scripts until the run is over."""
    # Seeded per customer and not per channel: both channels get the same choices.
    rng = random.Random(f"{seed}-{index}")
    await asyncio.sleep(start_delay)
    conversation = 0
    while not recorder.over():
        script = rng.choice(scripts)
        errors_before = sum(recorder.errors.values())
        if settings.channel == "widget":
            await widget_conversation(settings, recorder, script, rng)
        else:
            assert http is not None
            sender = f"bench-{settings.run_tag}-c{index}-{conversation}"
            await rest_conversation(settings, recorder, script, rng, http, sender)
        conversation += 1
        if sum(recorder.errors.values()) > errors_before:
            await think(recorder, rng, settings.think_time_s)  # no tight loop of failures


# --- a run ---------------------------------------------------------------------------


async def run_load(
    *,
    channel: Channel,
    rasa_url: str,
    origin: str,
    customers: int,
    duration_s: float,
    think_time_s: tuple[float, float] = THINK_TIME_S,
    ramp_up_s: float = 5.0,
    scripts: Sequence[Script] = ALL_SCRIPTS,
    seed: int = 1,
    answer_timeout_s: float = ANSWER_TIMEOUT_S,
) -> LoadResult:
    """Run `customers` simulated customers on one channel for `duration_s` seconds.

    No new message is sent after the duration; answers still on their way are
    waited for (up to `answer_timeout_s`), so `elapsed_s` can be a little longer.
    `origin` is the page the widget claims to be on (WIDGET_ALLOWED_ORIGINS).
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, not {channel!r}")
    if customers < 1 or duration_s <= 0:
        raise ValueError("customers and duration_s must be positive")
    ramp_up_s = max(0.0, min(ramp_up_s, duration_s))
    settings = RunSettings(
        channel=channel,
        rasa_url=rasa_url.rstrip("/"),
        origin=origin,
        think_time_s=think_time_s,
        answer_timeout_s=answer_timeout_s,
        run_tag=secrets.token_hex(3),
    )
    started = time.perf_counter()
    recorder = Recorder(started, started + ramp_up_s, started + duration_s)
    connector = aiohttp.TCPConnector(limit=0)  # one connection per customer, no pool cap
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(
            *(
                customer(
                    index,
                    settings,
                    recorder,
                    scripts,
                    index * ramp_up_s / customers,
                    seed,
                    http if channel == "rest" else None,
                )
                for index in range(customers)
            )
        )
    elapsed = time.perf_counter() - started
    return result_of(recorder, settings, customers, duration_s, ramp_up_s, seed, elapsed)


def result_of(
    recorder: Recorder,
    settings: RunSettings,
    customers: int,
    duration_s: float,
    ramp_up_s: float,
    seed: int,
    elapsed: float,
) -> LoadResult:
    answer_times = [seconds for _, seconds, _ in recorder.answers]
    languages = sorted({language for _, _, language in recorder.answers})
    return LoadResult(
        channel=settings.channel,
        customers=customers,
        duration_s=duration_s,
        ramp_up_s=ramp_up_s,
        think_time_s=settings.think_time_s,
        seed=seed,
        elapsed_s=round(elapsed, 3),
        messages_sent=recorder.sent,
        messages_answered=len(recorder.answers),
        conversations_started=recorder.conversations_started,
        conversations_completed=recorder.conversations_completed,
        receipt_s=summarize(recorder.receipts) if settings.channel == "widget" else None,
        answer_s=summarize(answer_times),
        answer_s_by_language={
            language: summarize([s for _, s, lang in recorder.answers if lang == language])
            for language in languages
        },
        session_start_s=summarize(recorder.session_starts),
        throughput_per_s=round(len(recorder.answers) / elapsed, 3) if elapsed > 0 else 0.0,
        steady_throughput_per_s=recorder.steady_throughput(),
        errors=dict(recorder.errors),
    )


# --- CLI: a stack of our own -----------------------------------------------------------


def stack_config(workdir: Path) -> StackConfig:
    """The whole stack on free ports with fresh SQLite files in `workdir` and demo data.

    The same environment as tests/conftest.py's `running_stack`, so a developer's
    .env (ports, databases, model) cannot change the benchmark.
    """
    from actions.billing import SqlBillingBackend, seed_demo_data  # SQLAlchemy: only here

    if not DEFAULT_MODEL.exists():
        raise SystemExit(f"no trained model at {DEFAULT_MODEL}: `make model` first")
    env = isolated_env(workdir, DEFAULT_MODEL)
    billing = SqlBillingBackend(env["BILLING_DB_URL"])
    seed_demo_data(billing, date.today())
    billing.close()
    return StackConfig.from_env(env)


@contextlib.contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    """Start the stack, yield it once every process answers, stop it in any case."""
    stack = Stack(stack_config(workdir), log_dir=workdir / "logs")
    try:
        stack.start()
        stack.wait_until_ready(timeout=300)
        yield stack
    finally:
        stack.stop()


def widget_origin(config: StackConfig) -> str:
    """The first allowed page origin of the stack (the demo page)."""
    return config.env["WIDGET_ALLOWED_ORIGINS"].split(",")[0].strip()


async def warm_up(rasa_url: str, origin: str) -> None:
    """A few conversations first, so one-off costs (lazy loading) stay out of the figures."""
    for channel in CHANNELS:
        await run_load(
            channel=channel,
            rasa_url=rasa_url,
            origin=origin,
            customers=2,
            duration_s=4,
            think_time_s=(0.1, 0.3),
            ramp_up_s=0.5,
            seed=999,
        )


def check_alive(stack: Stack) -> None:
    down = stack.problems()
    if down:
        raise RuntimeError(f"{', '.join(down)} went down during the benchmark: {down}")


def measure(
    stack: Stack,
    *,
    channel: Channel,
    customers: int,
    duration_s: float,
    think_time_s: tuple[float, float],
    ramp_up_s: float,
    seed: int,
) -> LoadResult:
    """One run with the stack's processes (and this client) sampled meanwhile."""
    check_alive(stack)
    pids = stack.pids()
    pids["load_client"] = os.getpid()
    with ProcessSampler(pids) as sampler:
        result = asyncio.run(
            run_load(
                channel=channel,
                rasa_url=stack.config.rasa_url,
                origin=widget_origin(stack.config),
                customers=customers,
                duration_s=duration_s,
                think_time_s=think_time_s,
                ramp_up_s=ramp_up_s,
                seed=seed,
            )
        )
    result.processes = sampler.summary()
    return result


def environment_info() -> dict[str, Any]:
    """The machine and the versions the figures belong to."""

    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        **machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "rasa": version("rasa"),
        "rasa_sdk": version("rasa-sdk"),
        "python_socketio": version("python-socketio"),
        "websockets": version("websockets"),
        "aiohttp": version("aiohttp"),
    }


def print_result(result: LoadResult) -> None:
    def ms(summary: dict[str, Any] | None, key: str) -> str:
        value = (summary or {}).get(key)
        return "-" if value is None else f"{value * 1000:.0f}"

    cpu = ", ".join(
        f"{name} {usage['cpu_avg_percent']}%/{usage['rss_peak_mb']}MB"
        for name, usage in result.processes.items()
    )
    print(
        f"{result.channel:6} {result.customers:4} customers: "
        f"{result.messages_answered}/{result.messages_sent} answered, "
        f"{result.throughput_per_s}/s (steady {result.steady_throughput_per_s}/s), "
        f"receipt p50/p95/p99 {ms(result.receipt_s, 'p50')}/{ms(result.receipt_s, 'p95')}/"
        f"{ms(result.receipt_s, 'p99')} ms, answer p50/p95/p99 {ms(result.answer_s, 'p50')}/"
        f"{ms(result.answer_s, 'p95')}/{ms(result.answer_s, 'p99')} ms, "
        f"errors {result.errors or 0}\n    cpu avg / peak rss: {cpu}",
        flush=True,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--customers", default="10,50,100", help="levels, e.g. 10,50,100")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--channels", default="widget,rest", help="widget,rest")
    parser.add_argument(
        "--think",
        default=",".join(str(value) for value in THINK_TIME_S),
        help="think time range, seconds (default: a person reading and typing)",
    )
    parser.add_argument("--ramp-up", type=float, default=5.0, help="seconds to start all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between runs")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--workdir", type=Path, help="keep the stack's files and logs here")
    parser.add_argument(
        "--smoke", action="store_true", help="2 customers, 5 s, both channels (a quick check)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.customers, args.duration, args.channels = "2", 5.0, "widget,rest"
        args.think, args.ramp_up, args.pause = "0.2,0.5", 0.5, 0.5
    args.levels = [int(level) for level in args.customers.split(",") if level.strip()]
    args.channel_list = [channel.strip() for channel in args.channels.split(",") if channel]
    for channel in args.channel_list:
        if channel not in CHANNELS:
            parser.error(f"unknown channel {channel!r}: choose from {', '.join(CHANNELS)}")
    low, high = (float(part) for part in args.think.split(","))
    args.think_time = (low, high)
    return args


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """`kill` stops the benchmark like Ctrl-C does: the stack is stopped too."""
    raise KeyboardInterrupt


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start a stack, warm it up, run every level on every channel; the JSON report."""
    runs: list[LoadResult] = []
    with running_stack(workdir) as stack:
        print(f"stack ready (logs in {workdir / 'logs'}); warming up...", flush=True)
        asyncio.run(warm_up(stack.config.rasa_url, widget_origin(stack.config)))
        for customers in args.levels:
            for channel in args.channel_list:
                time.sleep(args.pause)  # let the previous run's stragglers finish
                result = measure(
                    stack,
                    channel=channel,
                    customers=customers,
                    duration_s=args.duration,
                    think_time_s=args.think_time,
                    ramp_up_s=args.ramp_up,
                    seed=args.seed,
                )
                print_result(result)
                runs.append(result)
        model = stack.config.model
    return {
        "benchmark": "load",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": environment_info(),
        "model": str(model),
        "settings": {
            "levels": args.levels,
            "channels": args.channel_list,
            "duration_s": args.duration,
            "think_time_s": list(args.think_time),
            "ramp_up_s": args.ramp_up,
            "seed": args.seed,
            "answer_timeout_s": ANSWER_TIMEOUT_S,
            "percentiles": "linear interpolation between closest ranks (numpy default)",
        },
        "runs": [run.as_dict() for run in runs],
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        if args.workdir is not None:
            args.workdir.mkdir(parents=True, exist_ok=True)
            report = run_benchmark(args, args.workdir.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
                report = run_benchmark(args, Path(workdir))
    except KeyboardInterrupt:
        print("\nStopped; the stack is stopped too.", file=sys.stderr)
        return 130
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
    failed = sum(run["error_count"] for run in report["runs"])
    return 1 if args.smoke and failed else 0


if __name__ == "__main__":
    sys.exit(main())
