"""The project's pipeline against Rasa's default one: same data, same run, same machine.

Each config is trained with an empty cache (wall clock, model size), then served in
turn by the whole stack (`bench.startup.started_stack`), where the held-out set goes
through `POST /model/parse` (accuracy with bot.admin.evaluation's scoring, NLU
latency) and small-talk/information messages through the REST channel (answer latency
one at a time, then throughput with several customers at once). Only one stack runs at
a time: on 2 cores, two would measure each other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from bench.startup import ROOT, StartedStack, started_stack, train
from bot.admin.evaluation import EvalMessage, Prediction, holdout_messages, metrics

CONFIGS = {
    "project": ROOT / "config.yml",
    "rasa_default": ROOT / "bench" / "configs" / "rasa_default.yml",
}
HOLDOUT_DIR = ROOT / "tests" / "nlu_holdout"
# Answered by rules with responses or information actions: no form, no ticket, no billing
# lookup, so every customer can repeat them and each one is a whole answer.
ANSWER_MESSAGES = (
    "hei",
    "kiitos paljon",
    "oletko robotti?",
    "mikä on asiakaspalvelun puhelinnumero?",
    "paljonko muistutusmaksu on?",
    "hello",
    "thanks a lot",
    "am I talking to a bot?",
    "what is your phone number?",
    "how much is the reminder fee?",
)


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 in milliseconds (values are seconds)."""
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "n": 0}
    ms = np.asarray(values) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "n": len(values),
    }


def sample(messages: Sequence[EvalMessage], per_language: int | None) -> list[EvalMessage]:
    """Every message, or `per_language` spread over each language's intents (smoke runs)."""
    if per_language is None:
        return list(messages)
    chosen: list[EvalMessage] = []
    for language in sorted({message.language for message in messages}):
        own = [message for message in messages if message.language == language]
        step = max(1, len(own) // per_language)
        chosen.extend(own[::step][:per_language])
    return chosen


async def parse_all(
    session: aiohttp.ClientSession, url: str, token: str, texts: Sequence[str]
) -> tuple[list[Prediction], list[float], int]:
    """Parse one text at a time: predictions, latencies and failed requests."""
    predictions, latencies, errors = [], [], 0
    for text in texts:
        started = time.perf_counter()
        try:
            async with session.post(
                f"{url}/model/parse", params={"token": token}, json={"text": text}
            ) as response:
                body = await response.json() if response.status == 200 else {}
        except (aiohttp.ClientError, asyncio.TimeoutError):
            body = {}
        latencies.append(time.perf_counter() - started)
        intent = body.get("intent") or {}
        if not intent:
            errors += 1
        predictions.append(
            Prediction(
                str(intent.get("name") or "nlu_fallback"), float(intent.get("confidence") or 0)
            )
        )
    return predictions, latencies, errors


async def answer(session: aiohttp.ClientSession, url: str, sender: str, message: str) -> bool:
    """One REST message; True when the bot replied."""
    try:
        async with session.post(
            f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
        ) as response:
            return response.status == 200 and bool(await response.json())
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return False


async def customer(
    session: aiohttp.ClientSession, url: str, sender: str, count: int, offset: int
) -> tuple[list[float], int]:
    """One customer sending `count` messages, each after the previous answer."""
    latencies, errors = [], 0
    for index in range(count):
        message = ANSWER_MESSAGES[(offset + index) % len(ANSWER_MESSAGES)]
        started = time.perf_counter()
        ok = await answer(session, url, sender, message)
        latencies.append(time.perf_counter() - started)
        errors += not ok
    return latencies, errors


async def answers(url: str, messages: int, customers: int) -> dict[str, Any]:
    """`messages` answers shared by `customers` talking at once: latency and throughput."""
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=customers)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        each = max(1, messages // customers)
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                customer(session, url, f"bench-{customers}-{index}", each, index)
                for index in range(customers)
            )
        )
        seconds = time.perf_counter() - started
    latencies = [value for values, _ in results for value in values]
    errors = sum(count for _, count in results)
    return {
        "customers": customers,
        "messages": len(latencies),
        "errors": errors,
        "seconds": round(seconds, 2),
        "throughput_per_s": round(len(latencies) / seconds, 1) if seconds else None,
        **percentiles(latencies),
    }


async def measure_served(
    stack: StartedStack,
    holdout: Sequence[EvalMessage],
    latency_messages: int,
    throughput_messages: int,
    concurrency: int,
) -> dict[str, Any]:
    """Everything measured against one running model."""
    url, token = stack.config.rasa_url, stack.config.rasa_token
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for text in ANSWER_MESSAGES:  # warm-up: first calls load lazily built parts
            await answer(session, url, "bench-warmup", text)
        predictions, parse_latencies, parse_errors = await parse_all(
            session, url, token, [message.text for message in holdout]
        )
    scores = metrics(holdout, predictions)
    return {
        "holdout": scores["languages"],
        "per_intent_f1": scores["per_intent_f1"],
        "parse": {"errors": parse_errors, **percentiles(parse_latencies)},
        "answer_sequential": await answers(url, latency_messages, 1),
        "answer_concurrent": await answers(url, throughput_messages, concurrency),
    }


def run(
    workdir: Path,
    train_models: bool = True,
    holdout_per_language: int | None = None,
    latency_messages: int = 60,
    throughput_messages: int = 160,
    concurrency: int = 8,
) -> dict[str, Any]:
    """Train (or reuse models/current.tar.gz) and measure each pipeline in turn.

    Without training (smoke runs) only the project's current model is served: the
    default pipeline would have to be trained first, and is reported as not measured.
    """
    holdout = sample(holdout_messages(HOLDOUT_DIR), holdout_per_language)
    result: dict[str, Any] = {
        "settings": {
            "holdout_messages": len(holdout),
            "latency_messages": latency_messages,
            "throughput_messages": throughput_messages,
            "concurrency": concurrency,
            "answer_messages": list(ANSWER_MESSAGES),
        },
        "pipelines": {},
    }
    models: dict[str, Path] = {}
    for name, config in CONFIGS.items():
        entry: dict[str, Any] = {"config": str(config.relative_to(ROOT))}
        if train_models:
            entry["training"] = train(config, workdir / "models", name, workdir / f"cache-{name}")
            models[name] = Path(entry["training"]["model"])
        elif name == "project":
            models[name] = ROOT / "models" / "current.tar.gz"
            entry["model_bytes"] = models[name].stat().st_size
        result["pipelines"][name] = entry
    # The default one first: the project's start then also stands for "make run, warm".
    for name in sorted(models, key=lambda item: item != "rasa_default"):
        with started_stack(workdir / f"stack-{name}", models[name]) as stack:
            measured = asyncio.run(
                measure_served(stack, holdout, latency_messages, throughput_messages, concurrency)
            )
            result["pipelines"][name].update({"start": stack.timings, **measured})
    return result
