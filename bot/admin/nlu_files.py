"""Read the training examples and write labelled ones to data/nlu/from_logs.yml.

Only from_logs.yml is ever rewritten, with ruamel's round-trip mode so comments and
layout a person added survive; every other data file is only read. An example that
already exists anywhere in data/ (compared normalised) is never written twice.
Each written example carries metadata: who labelled it, when, and its language.
"""

from __future__ import annotations

import fcntl
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.admin.masking import normalise

HEADER = (
    "Examples labelled in the admin area from the conversation logs (python -m bot.admin).\n"
    "Personal data was masked before it was written here. Each example records who\n"
    "labelled it and when; the admin loop adds and removes examples in this file only.\n"
)
# Rasa's entity annotations: [text](entity), [text](entity:value), [text]{"entity": ...}.
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class TrainingExample:
    text: str
    intent: str
    file: Path


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long customer message
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def plain_text(example: str) -> str:
    """The text of an example without Rasa's entity annotations."""
    return ANNOTATION.sub(r"\1", example)


def _examples_of(block: object) -> Iterator[str]:
    if isinstance(block, str):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield plain_text(line[2:].strip())
    elif isinstance(block, list):
        for item in block:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                yield plain_text(item["text"].strip())


def training_examples(nlu_dir: Path) -> list[TrainingExample]:
    """Every intent example under `nlu_dir` (YAML files; other sections ignored)."""
    yaml = YAML(typ="safe", pure=True)
    found = []
    for path in sorted(nlu_dir.rglob("*.yml")):
        try:
            content = yaml.load(path.read_text(encoding="utf-8")) or {}
        except Exception:  # a broken file is rasa's to report; the inbox still works
            continue
        for section in content.get("nlu") or []:
            if isinstance(section, dict) and isinstance(section.get("intent"), str):
                for text in _examples_of(section.get("examples")):
                    found.append(TrainingExample(text, section["intent"], path))
    return found


def known_texts(nlu_dir: Path) -> dict[str, str]:
    """normalised text -> intent, for every training example."""
    return {normalise(example.text): example.intent for example in training_examples(nlu_dir)}


def safe_example_text(text: str) -> str:
    """Text Rasa reads back verbatim: no accidental entity annotation, one line."""
    text = " ".join(text.split())
    text = text.replace("](", "] (").replace("]{", "] {").replace("][", "] [")
    return text


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time (the admin page and the CLI may both write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.stem}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load(path: Path) -> CommentedMap:
    if path.exists():
        content = _yaml().load(path.read_text(encoding="utf-8"))
        if isinstance(content, CommentedMap):
            content.setdefault("version", "3.1")
            if not isinstance(content.get("nlu"), list):
                content["nlu"] = CommentedSeq()
            return content
    content = CommentedMap()
    content["version"] = "3.1"
    content["nlu"] = CommentedSeq()
    content.yaml_set_start_comment(HEADER)
    return content


def _save(path: Path, content: CommentedMap) -> None:
    buffer = io.StringIO()
    _yaml().dump(content, buffer)
    temporary = path.with_suffix(".yml.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(path)


def _remove_from(content: CommentedMap, normalised: str) -> bool:
    removed = False
    for section in list(content["nlu"]):
        examples = section.get("examples") if isinstance(section, dict) else None
        if not isinstance(examples, list):
            continue
        for item in list(examples):
            if isinstance(item, dict) and normalise(str(item.get("text", ""))) == normalised:
                examples.remove(item)
                removed = True
        if not examples:
            content["nlu"].remove(section)
    return removed


def add_example(
    path: Path, intent: str, text: str, *, language: str, labelled_by: str, labelled_at: datetime
) -> None:
    """Add (or move) one example to `intent` in from_logs.yml."""
    text = safe_example_text(text)
    with _locked(path):
        content = _load(path)
        _remove_from(content, normalise(text))
        section = next(
            (
                item
                for item in content["nlu"]
                if isinstance(item, dict)
                and item.get("intent") == intent
                and isinstance(item.get("examples"), list)
            ),
            None,
        )
        if section is None:
            section = CommentedMap()
            section["intent"] = intent
            section["examples"] = CommentedSeq()
            content["nlu"].append(section)
        example = CommentedMap()
        example["text"] = text
        example["metadata"] = CommentedMap(
            labelled_by=labelled_by,
            labelled_at=labelled_at.isoformat(timespec="seconds"),
            language=language,
        )
        section["examples"].append(example)
        _save(path, content)


def remove_example(path: Path, text: str) -> bool:
    """Take an example out of from_logs.yml (a label changed to "not an example")."""
    if not path.exists():
        return False
    with _locked(path):
        content = _load(path)
        removed = _remove_from(content, normalise(safe_example_text(text)))
        if removed:
            _save(path, content)
        return removed


def domain_intents(domain_file: Path) -> list[str]:
    """The intents an admin may pick (nlu_fallback is the classifier's, not a label)."""
    content = YAML(typ="safe", pure=True).load(domain_file.read_text(encoding="utf-8")) or {}
    names = []
    for item in content.get("intents") or []:
        name = next(iter(item)) if isinstance(item, dict) else item
        if isinstance(name, str) and name != "nlu_fallback":
            names.append(name)
    return names
