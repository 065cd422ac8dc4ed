"""The benchmark report (bench/report.py) and a smoke run of `python -m bench`.

The report must say "met"/"missed" only from measured figures and "not measured" for
anything skipped or failed, so the README can never show an invented number. The smoke
run checks that every part of the benchmark code runs end to end on a tiny scale; it
asserts what was written, never how fast anything was.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import report

REPO = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _summary(p50: float, p95: float, p99: float) -> dict[str, float]:
    """bench.load's latency summary: seconds."""
    return {"count": 100, "p50": p50, "p95": p95, "p99": p99, "mean": p50, "max": p99}


def _run(channel: str, customers: int, answer_p95: float, errors: int = 0) -> dict[str, Any]:
    return {
        "channel": channel,
        "customers": customers,
        "messages_sent": 200,
        "receipt_s": _summary(0.004, 0.012, 0.018) if channel == "widget" else None,
        "answer_s": _summary(0.08, answer_p95, answer_p95 * 1.2),
        "throughput_per_s": 9.5,
        "steady_throughput_per_s": 10.0,
        "errors": {"timeout": errors} if errors else {},
        "error_count": errors,
        "processes": {
            "rasa": {
                "cpu_avg_percent": 60.0,
                "cpu_max_percent": 130.0,
                "rss_peak_mb": 700.0,
                "rss_hwm_mb": 820.0,
            },
            "actions": {
                "cpu_avg_percent": 10.0,
                "cpu_max_percent": 30.0,
                "rss_peak_mb": 90.0,
                "rss_hwm_mb": 95.0,
            },
        },
    }


def _language(accuracy: float, oos: float, escalation: float) -> dict[str, Any]:
    return {
        "messages": 160,
        "accuracy": accuracy,
        "macro_f1": accuracy - 0.01,
        "out_of_scope_recall": oos,
        "false_escalation": escalation,
    }


def _pipeline(accuracy: float, throughput: float, seconds: float) -> dict[str, Any]:
    return {
        "config": "config.yml",
        "training": {"seconds": seconds, "model_bytes": 2_500_000},
        "holdout": {"fi": _language(accuracy, 0.9, 0.01), "en": _language(accuracy, 0.9, 0.01)},
        "parse": {"p50_ms": 8.0, "p95_ms": 12.0, "p99_ms": 15.0, "errors": 0},
        "answer_sequential": {"p50_ms": 40.0, "p95_ms": 60.0, "errors": 0},
        "answer_concurrent": {"throughput_per_s": throughput, "p95_ms": 300.0, "errors": 0},
        "start": {"first_answer_seconds": 25.0},
    }


@pytest.fixture
def results() -> dict[str, Any]:
    """A complete result: Finnish meets every target, English misses accuracy."""
    return {
        "meta": {"command": "python -m bench", "cores": 2, "smoke": False},
        "understanding": {
            "holdout": {
                "model": "models/current.tar.gz",
                "languages": {
                    "fi": _language(0.96, 0.95, 0.01),
                    "en": _language(0.91, 0.85, 0.03),
                },
                "wrong": [
                    {"language": "en", "text": "a | b", "expected": "greet", "predicted": "deny"}
                ],
            },
            "crossval": {
                "folds": 5,
                "config": "config.yml",
                "seconds": 140,
                "languages": {
                    "fi": {"examples": 10, "accuracy": 0.86, "macro_f1": 0.87, "weighted_f1": 0.86},
                    "en": {"examples": 10, "accuracy": 0.83, "macro_f1": 0.84, "weighted_f1": 0.83},
                },
            },
        },
        "pipelines": {
            "settings": {"holdout_messages": 328, "concurrency": 8},
            "pipelines": {
                "project": _pipeline(0.95, 40.0, 45.0),
                "rasa_default": _pipeline(0.93, 18.0, 400.0),
            },
        },
        "startup": {
            "training": {"seconds": 45.0},
            "start": {"first_answer_seconds": 25.0, "prelude_seconds": 3.0},
        },
        "load": {
            "settings": {"duration_s": 60},
            "runs": [
                _run(channel, customers, 0.2 if channel == "rest" else 0.21)
                for customers in (10, 50, 100)
                for channel in ("widget", "rest")
            ],
        },
    }


def _statuses(results: dict[str, Any]) -> dict[str, str]:
    return {row["target"]: row["status"] for row in report.evaluate_targets(results)}


def test_targets_met_and_missed_from_the_measured_figures(results: dict[str, Any]) -> None:
    statuses = _statuses(results)
    assert statuses["Intent accuracy, Finnish (held-out)"] == "met"
    assert statuses["Intent accuracy, English (held-out)"] == "missed"
    assert statuses["Out-of-scope recall, Finnish (held-out)"] == "met"
    assert statuses["Out-of-scope recall, English (held-out)"] == "missed"
    assert statuses["False escalation, Finnish (held-out)"] == "met"
    assert statuses["False escalation, English (held-out)"] == "missed"
    assert statuses["Answer throughput, project vs Rasa default"] == "met"  # 40 / 18
    assert statuses["Held-out accuracy, project vs Rasa default"] == "met"
    assert statuses["Receipt p95 at 100 customers"] == "met"  # 12 ms
    assert statuses["Answer p95 at 50 customers"] == "met"  # 210 ms worst
    assert statuses["Widget answer p95 vs REST"] == "met"  # 1.05x
    assert statuses["Errors"] == "met"
    assert statuses["Rasa server peak memory"] == "met"  # 820 MB high-water mark
    assert statuses["Full training (empty cache)"] == "met"
    assert statuses["`make run` to first answer (warm)"] == "-"  # reported, no target


def test_boundaries_and_misses_of_the_load_and_pipeline_targets(results: dict[str, Any]) -> None:
    results["pipelines"]["pipelines"]["rasa_default"]["answer_concurrent"]["throughput_per_s"] = 20
    results["pipelines"]["pipelines"]["rasa_default"]["holdout"]["en"]["accuracy"] = 0.951
    results["load"]["runs"][0]["error_count"] = 1  # widget, 10 customers
    results["load"]["runs"][2]["answer_s"]["p95"] = 0.26  # widget, 50 customers
    results["load"]["runs"][0]["processes"]["rasa"]["rss_hwm_mb"] = 1600.0
    results["startup"]["training"]["seconds"] = 90.0
    statuses = _statuses(results)
    assert statuses["Answer throughput, project vs Rasa default"] == "met"  # exactly 2x
    assert statuses["Held-out accuracy, project vs Rasa default"] == "missed"
    assert statuses["Errors"] == "missed"
    assert statuses["Answer p95 at 50 customers"] == "missed"
    assert statuses["Widget answer p95 vs REST"] == "missed"  # 260 / 200 ms
    assert statuses["Rasa server peak memory"] == "missed"
    assert statuses["Full training (empty cache)"] == "met"  # <= 90 s


def test_missing_parts_are_not_measured_never_invented(results: dict[str, Any]) -> None:
    partial = copy.deepcopy(results)
    partial["load"] = {"skipped": "left out with --skip"}
    partial["pipelines"] = {"error": "RuntimeError: rasa exited with 1 while starting"}
    partial["understanding"]["crossval"] = {"skipped": "smoke run"}
    del partial["startup"]
    rows = {row["target"]: row for row in report.evaluate_targets(partial)}
    for name in (
        "Answer throughput, project vs Rasa default",
        "Receipt p95 at 100 customers",
        "Errors",
        "Rasa server peak memory",
        "Intent accuracy, Finnish (cross-validation)",
        "Full training (empty cache)",
    ):
        assert rows[name]["status"] == report.NOT_MEASURED
        assert rows[name]["measured"] == report.NOT_MEASURED
    assert rows["Intent accuracy, Finnish (held-out)"]["status"] == "met"
    text = report.markdown(partial)
    assert "not measured (left out with --skip)" in text
    assert "not measured (failed: RuntimeError: rasa exited with 1 while starting)" in text
    assert "Cross-validation: not measured (smoke run)" in text


def test_one_missing_pipeline_leaves_the_comparison_unmeasured(results: dict[str, Any]) -> None:
    del results["pipelines"]["pipelines"]["rasa_default"]
    statuses = _statuses(results)
    assert statuses["Answer throughput, project vs Rasa default"] == report.NOT_MEASURED
    assert statuses["Held-out accuracy, project vs Rasa default"] == report.NOT_MEASURED


def test_markdown_puts_each_target_next_to_its_figure(results: dict[str, Any]) -> None:
    text = report.markdown(results)
    assert "| Area | Target | Goal | Measured | Result |" in text
    assert (
        "| Understanding | Intent accuracy, Finnish (held-out) | >= 95 % | 96.0 % (160 messages)"
        " | met |" in text
    )
    assert (
        "| Intent accuracy, English (held-out) | >= 95 % | 91.0 % (160 messages) | **missed** |"
        in (text)
    )
    assert "| 2.22x (40.0 vs 18.0 answers/s) | met |" in text
    assert "| widget | 100 | 4 / 12 / 18 ms |" in text  # load table, seconds shown as ms
    assert "a / b" in text  # a "|" in customer text does not break the table
    for chart in report.CHARTS:
        assert f"]({chart})" in text


@pytest.mark.parametrize("complete", [True, False])
def test_write_makes_json_markdown_and_valid_pngs(
    results: dict[str, Any], tmp_path: Path, complete: bool
) -> None:
    data = results if complete else {"meta": {}, "load": {"skipped": "left out"}}
    written = report.write(data, tmp_path)
    assert {path.name for path in written} == {"results.json", "results.md", *report.CHARTS}
    for chart in report.CHARTS:
        content = (tmp_path / chart).read_bytes()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 1000
    document = json.loads((tmp_path / "results.json").read_text())
    assert len(document["targets"]) == len(report.TARGETS)


def test_smoke_run_writes_every_result_file(tmp_path: Path) -> None:
    """`python -m bench --smoke`: every part runs on a tiny scale (no timing asserted)."""
    out = tmp_path / "results"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    for name in ("results.json", "results.md", *report.CHARTS):
        assert (out / name).is_file(), name
    document = json.loads((out / "results.json").read_text())
    for section in ("meta", "understanding", "pipelines", "startup", "load", "targets"):
        assert section in document
    assert document["meta"]["smoke"] is True
    assert document["understanding"]["holdout"]["languages"].keys() == {"fi", "en"}
    assert document["understanding"]["crossval"] == {"skipped": "smoke run"}
    project = document["pipelines"]["pipelines"]["project"]
    assert project["answer_sequential"]["messages"] > 0
    assert project["answer_concurrent"]["errors"] == 0
    assert document["startup"]["start"]["first_answer_seconds"] > 0
    assert {run["channel"] for run in document["load"]["runs"]} == {"widget", "rest"}
