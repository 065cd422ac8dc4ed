"""A comparison report (bot.admin.evaluation) as lines a person reads in a terminal."""

from __future__ import annotations

from typing import Any

FIGURES = (
    ("accuracy", "accuracy"),
    ("macro_f1", "macro-F1"),
    ("out_of_scope_recall", "out-of-scope recall"),
    ("false_escalation", "false escalation"),
)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def comparison_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for source, title in (("holdout", "Held-out test set"), ("labelled", "Newly labelled")):
        models = (report.get("sources") or {}).get(source) or {}
        active = (models.get("active") or {}).get("languages") or {}
        candidate = (models.get("candidate") or {}).get("languages") or {}
        if not active and not candidate:
            continue
        lines.append(f"{title}:  active -> candidate")
        for language in sorted(set(active) | set(candidate)):
            before, after = active.get(language) or {}, candidate.get(language) or {}
            parts = [
                f"{name} {percent(before.get(key))} -> {percent(after.get(key))}"
                for key, name in FIGURES
                if before.get(key) is not None or after.get(key) is not None
            ]
            count = after.get("messages") or before.get("messages") or 0
            lines.append(f"  {language} ({count} messages): " + ", ".join(parts))
    changed = report.get("changed") or []
    if changed:
        lines.append(f"Changed predictions ({len(changed)}):")
        for item in changed[:30]:
            lines.append(
                f"  {item['verdict']:<7} {item['language']} expected {item['intent']}: "
                f"{item['active']['intent']} -> {item['candidate']['intent']}  {item['text']}"
            )
    return lines
