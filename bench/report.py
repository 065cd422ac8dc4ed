"""Turn benchmark results into bench/results/: results.json, results.md and PNG charts.

Only figures present in the results are shown: a part that was skipped or failed is
"not measured" in the table and on its chart, never filled in. The targets are the
issue's, each checked against one measured figure so the README table can put the two
side by side.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_MEASURED = "not measured"
MET, MISSED = "met", "missed"
LANGUAGE_NAMES = {"fi": "Finnish", "en": "English"}
CHARTS = ("understanding.png", "pipelines.png", "load.png", "processes.png")
Measured = tuple[float, str] | None


def get(data: Any, *path: str | int) -> Any:
    """data[path[0]][path[1]]...; None as soon as a step is missing."""
    for key in path:
        if isinstance(data, Mapping):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
        if data is None:
            return None
    return data


def pct(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value * 100:.1f} %"


def num(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return NOT_MEASURED
    return f"{value:.{digits}f}{' ' + unit if unit else ''}"


# --- load results (bench.load) --------------------------------------------------------


def _ms(summary: Mapping[str, Any] | None) -> dict[str, float | None]:
    """bench.load's latency summary (seconds) as p50/p95/p99 in milliseconds."""
    return {
        f"p{q}_ms": None if get(summary, f"p{q}") is None else summary[f"p{q}"] * 1000
        for q in (50, 95, 99)
    }


def load_rows(load: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One row per bench.load run (channel, customers): latencies in ms, throughput, errors."""
    rows = []
    for run in get(load, "runs") or []:
        rows.append(
            {
                "channel": run.get("channel"),
                "customers": int(run.get("customers") or 0),
                "receipt": _ms(run.get("receipt_s")),
                "answer": _ms(run.get("answer_s")),
                "throughput_per_s": run.get("steady_throughput_per_s")
                or run.get("throughput_per_s"),
                "errors": run.get("error_count"),
                "error_kinds": run.get("errors") or {},
                "messages": run.get("messages_sent"),
            }
        )
    return sorted(rows, key=lambda row: (row["channel"], row["customers"]))


def load_processes(load: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per process over every load run: average of the runs' CPU, peaks of CPU and memory."""
    merged: dict[str, dict[str, Any]] = {}
    for run in get(load, "runs") or []:
        for name, usage in (run.get("processes") or {}).items():
            into = merged.setdefault(name, {"cpu_avg": [], "cpu_max": [], "rss": []})
            if usage.get("cpu_avg_percent") is not None:
                into["cpu_avg"].append(usage["cpu_avg_percent"])
            if usage.get("cpu_max_percent") is not None:
                into["cpu_max"].append(usage["cpu_max_percent"])
            peak = max(usage.get("rss_hwm_mb") or 0, usage.get("rss_peak_mb") or 0)
            into["rss"].append(peak)
    return {
        name: {
            "cpu_avg_percent": sum(v["cpu_avg"]) / len(v["cpu_avg"]) if v["cpu_avg"] else None,
            "cpu_max_percent": max(v["cpu_max"]) if v["cpu_max"] else None,
            "rss_peak_mb": max(v["rss"]) if any(v["rss"]) else None,
        }
        for name, v in merged.items()
    }


def load_row(load: Mapping[str, Any] | None, channel: str, customers: int) -> dict | None:
    return next(
        (
            row
            for row in load_rows(load)
            if row["channel"] == channel and row["customers"] == customers
        ),
        None,
    )


# --- targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A goal from the issue and how to read the one figure it is checked against."""

    area: str
    name: str
    goal: str
    measure: Callable[[Mapping[str, Any]], Measured]
    passes: Callable[[float], bool] | None  # None: reported, no target

    def evaluate(self, results: Mapping[str, Any]) -> dict[str, str]:
        measured = self.measure(results)
        if measured is None:
            status = NOT_MEASURED
        elif self.passes is None:
            status = "-"
        else:
            status = MET if self.passes(measured[0]) else MISSED
        return {
            "area": self.area,
            "target": self.name,
            "goal": self.goal,
            "measured": NOT_MEASURED if measured is None else measured[1],
            "status": status,
        }


def _holdout(language: str, key: str) -> Callable[[Mapping[str, Any]], Measured]:
    def measure(results: Mapping[str, Any]) -> Measured:
        value = get(results, "understanding", "holdout", "languages", language, key)
        messages = get(results, "understanding", "holdout", "languages", language, "messages")
        return None if value is None else (value, f"{pct(value)} ({messages} messages)")

    return measure


def _crossval(language: str) -> Callable[[Mapping[str, Any]], Measured]:
    def measure(results: Mapping[str, Any]) -> Measured:
        value = get(results, "understanding", "crossval", "languages", language, "accuracy")
        folds = get(results, "understanding", "crossval", "folds")
        return None if value is None else (value, f"{pct(value)} ({folds}-fold)")

    return measure


def _pipeline(name: str, *path: str) -> Any:
    return lambda results: get(results, "pipelines", "pipelines", name, *path)


def _throughput_ratio(results: Mapping[str, Any]) -> Measured:
    ours = _pipeline("project", "answer_concurrent", "throughput_per_s")(results)
    theirs = _pipeline("rasa_default", "answer_concurrent", "throughput_per_s")(results)
    if not ours or not theirs:
        return None
    ratio = ours / theirs
    return ratio, f"{ratio:.2f}x ({ours:.1f} vs {theirs:.1f} answers/s)"


def _accuracy_difference(results: Mapping[str, Any]) -> Measured:
    parts, worst = [], None
    for language in LANGUAGE_NAMES:
        ours = _pipeline("project", "holdout", language, "accuracy")(results)
        theirs = _pipeline("rasa_default", "holdout", language, "accuracy")(results)
        if ours is None or theirs is None:
            return None
        parts.append(f"{language} {pct(ours)} vs {pct(theirs)}")
        worst = ours - theirs if worst is None else min(worst, ours - theirs)
    return None if worst is None else (worst, ", ".join(parts))


def _load_p95(kind: str, customers: int) -> Callable[[Mapping[str, Any]], Measured]:
    """The worst channel's p95 at `customers` (each channel listed)."""

    def measure(results: Mapping[str, Any]) -> Measured:
        figures = [
            (row[kind]["p95_ms"], row["channel"])
            for row in load_rows(results.get("load"))
            if row["customers"] == customers and row[kind].get("p95_ms") is not None
        ]
        if not figures:
            return None
        text = ", ".join(f"{channel} {value:.0f} ms" for value, channel in figures)
        return max(value for value, _ in figures), text

    return measure


def _widget_vs_rest(results: Mapping[str, Any]) -> Measured:
    """The largest widget/REST answer p95 ratio over the customer levels both ran."""
    load = results.get("load")
    ratios = []
    for row in load_rows(load):
        rest = load_row(load, "rest", row["customers"]) if row["channel"] == "widget" else None
        widget, other = row["answer"].get("p95_ms"), get(rest, "answer", "p95_ms")
        if widget is not None and other:
            ratios.append((widget / other, row["customers"]))
    if not ratios:
        return None
    ratio, customers = max(ratios)
    return ratio, f"{ratio:.2f}x (worst: at {customers} customers)"


def _load_errors(results: Mapping[str, Any]) -> Measured:
    rows = load_rows(results.get("load"))
    if not rows or any(row["errors"] is None for row in rows):
        return None
    errors = sum(row["errors"] for row in rows)
    messages = sum(row["messages"] or 0 for row in rows)
    return errors, f"{errors} errors in {messages} messages"


def _rasa_memory(results: Mapping[str, Any]) -> Measured:
    rasa = load_processes(results.get("load")).get("rasa") or {}
    value = rasa.get("rss_peak_mb")
    return None if value is None else (value, f"{value:.0f} MB (high-water mark)")


def _seconds(*path: str) -> Callable[[Mapping[str, Any]], Measured]:
    def measure(results: Mapping[str, Any]) -> Measured:
        value = get(results, *path)
        return None if value is None else (value, f"{value:.1f} s")

    return measure


TARGETS: tuple[Target, ...] = (
    *(
        Target(
            "Understanding",
            f"Intent accuracy, {LANGUAGE_NAMES[lang]} (held-out)",
            ">= 95 %",
            _holdout(lang, "accuracy"),
            lambda v: v >= 0.95,
        )
        for lang in LANGUAGE_NAMES
    ),
    *(
        Target(
            "Understanding",
            f"Out-of-scope recall, {LANGUAGE_NAMES[lang]} (held-out)",
            ">= 90 %",
            _holdout(lang, "out_of_scope_recall"),
            lambda v: v >= 0.90,
        )
        for lang in LANGUAGE_NAMES
    ),
    *(
        Target(
            "Understanding",
            f"False escalation, {LANGUAGE_NAMES[lang]} (held-out)",
            "<= 2 %",
            _holdout(lang, "false_escalation"),
            lambda v: v <= 0.02,
        )
        for lang in LANGUAGE_NAMES
    ),
    *(
        Target(
            "Understanding",
            f"Intent accuracy, {LANGUAGE_NAMES[lang]} (cross-validation)",
            "(reported)",
            _crossval(lang),
            None,
        )
        for lang in LANGUAGE_NAMES
    ),
    Target(
        "Pipelines",
        "Answer throughput, project vs Rasa default",
        ">= 2x",
        _throughput_ratio,
        lambda v: v >= 2.0,
    ),
    Target(
        "Pipelines",
        "Held-out accuracy, project vs Rasa default",
        "no lower",
        _accuracy_difference,
        lambda v: v >= 0,
    ),
    Target(
        "Load",
        "Receipt p95 at 100 customers",
        "<= 20 ms",
        _load_p95("receipt", 100),
        lambda v: v <= 20,
    ),
    Target(
        "Load",
        "Answer p95 at 50 customers",
        "<= 250 ms",
        _load_p95("answer", 50),
        lambda v: v <= 250,
    ),
    Target(
        "Load",
        "Widget answer p95 vs REST",
        "<= 1.1x",
        _widget_vs_rest,
        lambda v: v <= 1.1,
    ),
    Target("Load", "Errors", "0", _load_errors, lambda v: v == 0),
    Target("Load", "Rasa server peak memory", "<= 1536 MB", _rasa_memory, lambda v: v <= 1536),
    Target(
        "Training and start",
        "Full training (empty cache)",
        "<= 90 s",
        _seconds("startup", "training", "seconds"),
        lambda v: v <= 90,
    ),
    Target(
        "Training and start",
        "`make run` to first answer (warm)",
        "(reported)",
        _seconds("startup", "start", "first_answer_seconds"),
        None,
    ),
)


def evaluate_targets(results: Mapping[str, Any]) -> list[dict[str, str]]:
    return [target.evaluate(results) for target in TARGETS]


# --- Markdown ------------------------------------------------------------------------


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def targets_table(results: Mapping[str, Any]) -> str:
    rows = evaluate_targets(results)
    return table(
        ("Area", "Target", "Goal", "Measured", "Result"),
        ((r["area"], r["target"], r["goal"], r["measured"], _status(r["status"])) for r in rows),
    )


def _status(status: str) -> str:
    return {MET: "met", MISSED: "**missed**"}.get(status, status)


def _section_note(results: Mapping[str, Any], section: str) -> str | None:
    """Why a section has no figures: skipped, failed or absent."""
    value = results.get(section)
    if value is None:
        return NOT_MEASURED
    if isinstance(value, Mapping) and ("skipped" in value or "error" in value):
        reason = value.get("skipped") or f"failed: {value.get('error')}"
        return f"{NOT_MEASURED} ({reason})"
    return None


def understanding_md(results: Mapping[str, Any]) -> str:
    part = results.get("understanding") or {}
    lines = ["## Understanding", ""]
    held = part.get("holdout") or {}
    note = _section_note(part, "holdout")
    if note:
        lines.append(f"Held-out set: {note}.")
    else:
        lines += [
            f"Held-out set (`tests/nlu_holdout`, never trained on), model `{held.get('model')}`:",
            "",
            table(
                ("language", "messages", "accuracy", "macro-F1", "OOS recall", "false escalation"),
                (
                    (
                        lang,
                        get(held, "languages", lang, "messages"),
                        pct(get(held, "languages", lang, "accuracy")),
                        pct(get(held, "languages", lang, "macro_f1")),
                        pct(get(held, "languages", lang, "out_of_scope_recall")),
                        pct(get(held, "languages", lang, "false_escalation")),
                    )
                    for lang in LANGUAGE_NAMES
                ),
            ),
        ]
        wrong = held.get("wrong") or []
        if wrong:
            lines += ["", f"Wrong on the held-out set ({len(wrong)}):", ""]
            lines.append(
                table(
                    ("language", "text", "expected", "predicted"),
                    (
                        (w["language"], w["text"].replace("|", "/"), w["expected"], w["predicted"])
                        for w in wrong
                    ),
                )
            )
    lines.append("")
    cv = part.get("crossval") or {}
    note = _section_note(part, "crossval")
    if note:
        lines.append(f"Cross-validation: {note}.")
    else:
        lines += [
            f"{cv.get('folds')}-fold cross-validation of `{cv.get('config')}` on the training "
            f"data ({cv.get('seconds')} s):",
            "",
            table(
                ("language", "examples", "accuracy", "macro-F1", "weighted F1"),
                (
                    (
                        lang,
                        get(cv, "languages", lang, "examples"),
                        pct(get(cv, "languages", lang, "accuracy")),
                        pct(get(cv, "languages", lang, "macro_f1")),
                        pct(get(cv, "languages", lang, "weighted_f1")),
                    )
                    for lang in LANGUAGE_NAMES
                ),
            ),
        ]
    return "\n".join(lines)


def _mb(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value / 1e6:.1f} MB"


def pipelines_md(results: Mapping[str, Any]) -> str:
    lines = ["## Pipelines side by side", ""]
    note = _section_note(results, "pipelines")
    if note:
        return "\n".join([*lines, f"{note}."])
    part = results["pipelines"]
    settings = part.get("settings") or {}
    lines += [
        f"Same data, same run. Accuracy on {settings.get('holdout_messages')} held-out "
        f"messages via `POST /model/parse`; answers over the REST channel, whole stack "
        f"running: {settings.get('latency_messages')} one at a time, then "
        f"{settings.get('throughput_messages')} from {settings.get('concurrency')} "
        "customers at once.",
        "",
    ]
    header = (
        "pipeline",
        "training",
        "model size",
        "accuracy fi",
        "accuracy en",
        "parse p50 / p95",
        "answer p50 / p95",
        "throughput",
        "answer p95 under load",
        "errors",
        "start to first answer",
    )
    rows = []
    for name, entry in (part.get("pipelines") or {}).items():
        sequential = entry.get("answer_sequential") or {}
        concurrent = entry.get("answer_concurrent") or {}
        parse = entry.get("parse") or {}
        errors = [x for x in (parse.get("errors"), sequential.get("errors")) if x is not None]
        if concurrent.get("errors") is not None:
            errors.append(concurrent["errors"])
        rows.append(
            (
                f"`{entry.get('config', name)}`",
                num(get(entry, "training", "seconds"), "s"),
                _mb(get(entry, "training", "model_bytes") or entry.get("model_bytes")),
                pct(get(entry, "holdout", "fi", "accuracy")),
                pct(get(entry, "holdout", "en", "accuracy")),
                _pair(parse),
                _pair(sequential),
                num(concurrent.get("throughput_per_s"), "answers/s"),
                num(concurrent.get("p95_ms"), "ms", 0),
                sum(errors) if errors else NOT_MEASURED,
                num(get(entry, "start", "first_answer_seconds"), "s"),
            )
        )
    lines.append(table(header, rows))
    return "\n".join(lines)


def _pair(figures: Mapping[str, Any]) -> str:
    if figures.get("p50_ms") is None:
        return NOT_MEASURED
    return f"{figures['p50_ms']:.0f} / {figures['p95_ms']:.0f} ms"


def load_md(results: Mapping[str, Any]) -> str:
    lines = ["## Load", ""]
    note = _section_note(results, "load")
    rows = load_rows(results.get("load"))
    if note or not rows:
        return "\n".join([*lines, f"{note or NOT_MEASURED}."])
    settings = get(results, "load", "settings") or {}
    lines += [
        f"`{get(results, 'load', 'command') or 'python -m bench.load'}`: simulated customers "
        f"chatting through scripted conversations, {settings.get('duration_s')} s per level "
        f"and channel, think time {settings.get('think_time_s')} s. Receipt: message sent to "
        "the widget's receipt; answer: sent to the first reply. Throughput: answers/s with "
        "every customer active.",
        "",
    ]
    lines.append(
        table(
            (
                "channel",
                "customers",
                "receipt p50 / p95 / p99",
                "answer p50 / p95 / p99",
                "throughput",
                "messages",
                "errors",
            ),
            (
                (
                    row["channel"],
                    row["customers"],
                    _triple(row["receipt"]),
                    _triple(row["answer"]),
                    num(row["throughput_per_s"], "msg/s"),
                    row["messages"] if row["messages"] is not None else NOT_MEASURED,
                    row["errors"] if row["errors"] is not None else NOT_MEASURED,
                )
                for row in rows
            ),
        )
    )
    processes = load_processes(results.get("load"))
    if processes:
        lines += [
            "",
            "Processes over the whole load run (CPU: 100 % = one core):",
            "",
            table(
                ("process", "CPU avg", "CPU max", "peak RSS"),
                (
                    (
                        name,
                        num(p.get("cpu_avg_percent"), "%", 0),
                        num(p.get("cpu_max_percent"), "%", 0),
                        num(p.get("rss_peak_mb"), "MB", 0),
                    )
                    for name, p in processes.items()
                ),
            ),
        ]
    return "\n".join(lines)


def _triple(figures: Mapping[str, Any]) -> str:
    if figures.get("p95_ms") is None:
        return NOT_MEASURED
    return " / ".join(f"{figures.get(key) or 0:.0f}" for key in ("p50_ms", "p95_ms", "p99_ms")) + (
        " ms"
    )


def startup_md(results: Mapping[str, Any]) -> str:
    lines = ["## Training and start", ""]
    note = _section_note(results, "startup")
    if note:
        return "\n".join([*lines, f"{note}."])
    part = results["startup"]
    training, start = part.get("training") or {}, part.get("start") or {}
    lines.append(
        table(
            ("step", "seconds"),
            (
                ("full `rasa train` of config.yml, empty cache", num(training.get("seconds"))),
                (
                    "demo seed + demo users (make run's first steps)",
                    num(start.get("prelude_seconds")),
                ),
                (
                    "stack start to first REST answer",
                    num(start.get("stack_to_first_answer_seconds")),
                ),
                ("`make run` to first answer, total", num(start.get("first_answer_seconds"))),
                ("every process healthy", num(start.get("all_healthy_seconds"))),
            ),
        )
    )
    if part.get("reused_from_pipelines"):
        lines += [
            "",
            "Taken from the project pipeline's "
            + " and ".join(part["reused_from_pipelines"])
            + " in the pipelines part of this run (the same command, timed once).",
        ]
    return "\n".join(lines)


def meta_md(results: Mapping[str, Any]) -> str:
    meta = results.get("meta") or {}
    parts = [
        f"Measured {meta.get('finished', '?')} with `{meta.get('command', 'python -m bench')}`",
        f"on {meta.get('cpu', '?')} ({meta.get('cores', '?')} cores, "
        f"{meta.get('memory_gb', '?')} GB), Rasa {meta.get('rasa', '?')}, "
        f"commit {meta.get('commit', '?')}.",
    ]
    if meta.get("load_average_start"):
        parts.append(
            f"Load average (1/5/15 min) at the start {meta['load_average_start']}, "
            f"at the end {meta.get('load_average_end')}."
        )
    if meta.get("smoke"):
        parts.append("**Smoke run**: tiny samples, figures are not representative.")
    durations = meta.get("section_seconds") or {}
    if durations:
        parts.append(
            "Section times: " + ", ".join(f"{k} {v:.0f} s" for k, v in durations.items()) + "."
        )
    return " ".join(parts)


def markdown(results: Mapping[str, Any], charts: Iterable[str] = CHARTS) -> str:
    return (
        "\n\n".join(
            [
                "# Benchmark results",
                meta_md(results),
                "## Targets",
                targets_table(results),
                "\n".join(f"![{name[:-4]}]({name})" for name in charts),
                understanding_md(results),
                pipelines_md(results),
                load_md(results),
                startup_md(results),
            ]
        )
        + "\n"
    )


# --- charts --------------------------------------------------------------------------


def _axes_note(ax: Any, text: str = NOT_MEASURED) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _bars(ax: Any, labels: Sequence[str], values: Sequence[float | None], title: str) -> None:
    """Bars for the measured values; 'not measured' written where one is missing."""
    ax.set_title(title, fontsize=10)
    if all(value is None for value in values):
        _axes_note(ax)
        return
    heights = [value or 0 for value in values]
    bars = ax.bar(
        labels, heights, color=["#2b6cb0", "#c05621", "#2f855a", "#6b46c1"][: len(labels)]
    )
    for bar, value in zip(bars, values, strict=True):
        text = NOT_MEASURED if value is None else f"{value:.3g}"
        ax.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )


def understanding_chart(results: Mapping[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    held = get(results, "understanding", "holdout", "languages") or {}
    cv = get(results, "understanding", "crossval", "languages") or {}

    def percent(source: Mapping[str, Any], key: str) -> list[float | None]:
        values = [get(source, lang, key) for lang in LANGUAGE_NAMES]
        return [None if value is None else value * 100 for value in values]

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [2, 1, 1]})
    groups = list(LANGUAGE_NAMES.values())
    accuracy = {
        "held-out accuracy": percent(held, "accuracy"),
        "held-out macro-F1": percent(held, "macro_f1"),
        "CV accuracy": percent(cv, "accuracy"),
        "CV macro-F1": percent(cv, "macro_f1"),
    }
    _grouped(axes[0], accuracy, groups, "Intent accuracy (%)", target=95)
    recall = {"OOS recall": percent(held, "out_of_scope_recall")}
    _grouped(axes[1], recall, groups, "Out-of-scope recall, held-out (%)", target=90)
    escalation = {"false escalation": percent(held, "false_escalation")}
    _grouped(axes[2], escalation, groups, "False escalation, held-out (%)", target=2)
    for ax in axes[:2]:
        ax.set_ylim(0, 105)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _grouped(
    ax: Any,
    series: Mapping[str, Sequence[float | None]],
    groups: Sequence[str],
    title: str,
    target: float | None = None,
) -> None:
    """Bars per group and series, each labelled with its value ("n/m": not measured)."""
    ax.set_title(title, fontsize=10)
    if all(v is None for values in series.values() for v in values):
        _axes_note(ax)
        return
    width = 0.8 / len(series)
    for index, (label, values) in enumerate(series.items()):
        xs = [g + index * width - 0.4 + width / 2 for g in range(len(groups))]
        ax.bar(xs, [v or 0 for v in values], width, label=label)
        for x, v in zip(xs, values, strict=True):
            text = "n/m" if v is None else f"{v:.1f}"
            ax.annotate(text, (x, v or 0), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    if target is not None:
        ax.axhline(target, color="#c53030", linestyle="--", linewidth=1, label=f"target {target:g}")
    ax.legend(fontsize=7, loc="best")


def pipelines_chart(results: Mapping[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    names = ("project", "rasa_default")
    labels = ["project", "Rasa default"]
    entries = [get(results, "pipelines", "pipelines", name) or {} for name in names]
    panels = (
        ("Training (s)", [get(e, "training", "seconds") for e in entries]),
        (
            "Model size (MB)",
            [
                (get(e, "training", "model_bytes") or e.get("model_bytes") or 0) / 1e6 or None
                for e in entries
            ],
        ),
        ("Held-out accuracy fi", [get(e, "holdout", "fi", "accuracy") for e in entries]),
        ("Held-out accuracy en", [get(e, "holdout", "en", "accuracy") for e in entries]),
        (
            "Throughput (answers/s)",
            [get(e, "answer_concurrent", "throughput_per_s") for e in entries],
        ),
        (
            "Answer p95, one at a time (ms)",
            [get(e, "answer_sequential", "p95_ms") for e in entries],
        ),
    )
    fig, axes = plt.subplots(2, 3, figsize=(11, 6))
    for ax, (title, values) in zip(axes.flat, panels, strict=True):
        _bars(ax, labels, values, title)
    fig.suptitle("config.yml vs Rasa's default pipeline (same data, same machine)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def load_chart(results: Mapping[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    rows = load_rows(results.get("load"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    panels = (
        ("receipt", "Receipt p95 (ms)", 20, 100),
        ("answer", "Answer p95 (ms)", 250, 50),
    )
    for ax, (kind, title, target, at) in zip(axes, panels, strict=False):
        ax.set_title(title, fontsize=10)
        drawn = False
        for channel in sorted({row["channel"] for row in rows}):
            points = [
                (row["customers"], row[kind].get("p95_ms"))
                for row in rows
                if row["channel"] == channel and row[kind].get("p95_ms") is not None
            ]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=channel)
                drawn = True
        if not drawn:
            _axes_note(ax)
            continue
        ax.axhline(
            target,
            color="#c53030",
            linestyle="--",
            linewidth=1,
            label=f"target {target} ms at {at}",
        )
        ax.set_xlabel("customers at once")
        ax.set_xticks(sorted({row["customers"] for row in rows}))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    ax = axes[2]
    ax.set_title("Throughput (messages/s)", fontsize=10)
    channels = sorted({row["channel"] for row in rows if row["throughput_per_s"] is not None})
    for channel in channels:
        points = [
            (row["customers"], row["throughput_per_s"])
            for row in rows
            if row["channel"] == channel and row["throughput_per_s"] is not None
        ]
        ax.plot(*zip(*points, strict=True), marker="o", label=channel)
    if channels:
        ax.set_xlabel("customers at once")
        ax.set_xticks(sorted({row["customers"] for row in rows}))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    else:
        _axes_note(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def processes_chart(results: Mapping[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    processes = load_processes(results.get("load"))
    names = list(processes)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    if not names:
        _titled_note(left, "Peak memory")
        _titled_note(right, "CPU")
    else:
        memory = [processes[n].get("rss_peak_mb") for n in names]
        _bars(left, names, memory, "Peak memory (MB)")
        if "rasa" in processes:
            left.axhline(1536, color="#c53030", linestyle="--", linewidth=1, label="Rasa: 1.5 GB")
            left.legend(fontsize=7)
        cpu = [processes[n].get("cpu_avg_percent") for n in names]
        _bars(right, names, cpu, "CPU, average (%; 100 = one core)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _titled_note(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=10)
    _axes_note(ax)


def charts(results: Mapping[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    drawers = {
        "understanding.png": understanding_chart,
        "pipelines.png": pipelines_chart,
        "load.png": load_chart,
        "processes.png": processes_chart,
    }
    written = []
    for name, draw in drawers.items():
        draw(results, out / name)
        written.append(out / name)
    return written


def write(results: Mapping[str, Any], out: Path) -> list[Path]:
    """results.json (with the evaluated targets), results.md and the charts."""
    out.mkdir(parents=True, exist_ok=True)
    document = {**results, "targets": evaluate_targets(results)}
    (out / "results.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    (out / "results.md").write_text(markdown(results))
    return [out / "results.json", out / "results.md", *charts(results, out)]


def main() -> None:
    """Render the report again from a results.json (after a change to this module)."""
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("results", type=Path, nargs="?", default=Path("bench/results/results.json"))
    parser.add_argument("--out", type=Path, help="folder (default: the results file's)")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    results.pop("targets", None)  # evaluated again from the figures
    for path in write(results, args.out or args.results.parent):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
