"""The load benchmark's pieces (bench/): statistics, the websocket client, a smoke run.

Against the session's `running_stack`; no timing thresholds: the machine is shared,
so these check behaviour (events arrive, answers are counted, nothing fails), not speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from conftest import RunningStack

from bench.engineio_client import SocketIOClient, SocketIOError, decode_event, encode_event
from bench.load import percentile, run_load, summarize
from bench.processes import ProcessSampler, ProcStat, process_tree, read_stat
from bench.scripts import ALL_SCRIPTS

WAIT = 60.0  # seconds; Rasa shares 2 cores with other work


def origin_of(running_stack: RunningStack) -> str:
    return f"http://localhost:{running_stack.config.bot_port}"


# --- statistics, scripts, /proc ----------------------------------------------------------


def test_percentile_interpolates_linearly_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 0) == 1.0  # order does not matter
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)  # numpy's answer
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_of_latencies() -> None:
    assert summarize([]) == {
        "count": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "mean": None,
        "max": None,
    }
    summary = summarize([0.1, 0.2, 0.3])
    assert summary["count"] == 3 and summary["p50"] == 0.2 and summary["max"] == 0.3


def test_scripts_are_short_bilingual_and_leave_the_demo_data_alone() -> None:
    assert {script.language for script in ALL_SCRIPTS} == {"fi", "en"}
    assert len({script.name for script in ALL_SCRIPTS}) == len(ALL_SCRIPTS)
    for script in ALL_SCRIPTS:
        assert 3 <= len(script.messages) <= 6, script.name
        assert "/affirm" not in script.messages, script.name  # would extend 1001 for good


def test_socketio_frames() -> None:
    assert encode_event("user_uttered", {"message": "hei"}) == (
        '42["user_uttered",{"message":"hei"}]'
    )
    assert decode_event('42["bot_uttered",{"text":"Hei"}]') == ("bot_uttered", {"text": "Hei"})
    assert decode_event('4212["receipt",{"status":"received"}]') == (
        "receipt",
        {"status": "received"},
    )
    assert decode_event("40") is None


def test_process_tree_leaves_out_other_named_processes() -> None:
    stats = {pid: ProcStat(pid, ppid, 0.0) for pid, ppid in [(1, 0), (2, 1), (3, 2), (4, 1)]}
    assert sorted(process_tree(1, stats)) == [1, 2, 3, 4]
    assert sorted(process_tree(1, stats, exclude=frozenset({1, 2}))) == [1, 4]
    assert process_tree(99, stats) == []


def test_sampler_sees_cpu_and_memory_of_a_child() -> None:
    burner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"]
    )
    try:
        stat = read_stat(burner.pid)
        assert stat is not None and stat.ppid == os.getpid()
        with ProcessSampler({"burner": burner.pid}, interval_s=0.2) as sampler:
            time.sleep(1.2)
        usage = sampler.summary()["burner"]
        assert usage["samples"] >= 3
        assert usage["cpu_max_percent"] > 0
        assert usage["rss_peak_mb"] > 0 and usage["rss_hwm_mb"] >= usage["rss_peak_mb"]
    finally:
        burner.kill()
        burner.wait()


# --- against the real widget channel -----------------------------------------------------


async def test_websocket_client_talks_to_the_widget_channel(running_stack: RunningStack) -> None:
    config = running_stack.config
    async with SocketIOClient(config.rasa_url, origin_of(running_stack)) as client:
        assert client.ping_interval_s and client.ping_interval_s > 0
        await client.emit("session_request", {"metadata": {"language": "en"}})
        confirm = await client.wait_for("session_confirm", WAIT)
        assert confirm.data["resumed"] is False
        greeting = await client.wait_for("bot_uttered", WAIT)
        assert greeting.data["text"].startswith("Hi and welcome")
        await client.wait_for("typing", WAIT)  # the greeting turn ends

        message_id = uuid.uuid4().hex
        await client.emit(
            "user_uttered",
            {
                "message": "what time does your customer service open?",
                "message_id": message_id,
                "session_id": confirm.data["session_id"],
            },
        )
        receipt = await client.next_event(WAIT)
        while receipt.name == "typing":  # the greeting's typing off may still come
            receipt = await client.next_event(WAIT)
        assert receipt.name == "receipt"
        assert receipt.data == {"message_id": message_id, "status": "received"}
        answer = await client.wait_for("bot_uttered", WAIT)
        assert answer.at >= receipt.at and answer.data["text"]


async def test_websocket_client_is_refused_from_a_foreign_page(
    running_stack: RunningStack,
) -> None:
    with pytest.raises(SocketIOError):
        async with SocketIOClient(running_stack.config.rasa_url, "http://evil.example"):
            pass


@pytest.mark.parametrize("channel", ["widget", "rest"])
async def test_smoke_run_answers_every_message(running_stack: RunningStack, channel: str) -> None:
    # No handoff scripts here: their tickets would join the queue other tests look at.
    scripts = [script for script in ALL_SCRIPTS if "handoff" not in script.name]
    result = await run_load(
        channel=channel,  # type: ignore[arg-type]
        rasa_url=running_stack.config.rasa_url,
        origin=origin_of(running_stack),
        customers=2,
        duration_s=4.0,
        think_time_s=(0.1, 0.4),
        ramp_up_s=0.5,
        scripts=scripts,
        answer_timeout_s=WAIT,
    )
    assert result.errors == {}, result.as_dict()
    assert result.messages_sent > 0
    assert result.messages_answered == result.messages_sent == result.answer_s["count"]
    assert result.answer_s["p50"] is not None and result.answer_s["p99"] is not None
    assert result.session_start_s["count"] >= 2  # every customer was greeted
    assert result.throughput_per_s > 0
    if channel == "widget":
        assert result.receipt_s is not None
        assert result.receipt_s["count"] == result.messages_sent
    else:
        assert result.receipt_s is None
    data = result.as_dict()
    assert data["error_count"] == 0 and data["channel"] == channel
