"""Create `.env` from `.env.example`, generating every secret (no fixed defaults)."""

from __future__ import annotations

import secrets
from pathlib import Path

GENERATE = "<generate>"


def _assignments(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            key, _, value = stripped.partition("=")
            found[key.strip()] = value.strip()
    return found


def _resolved(line: str) -> str:
    key, _, value = line.partition("=")
    if value.strip() == GENERATE:
        return f"{key}={secrets.token_urlsafe(32)}"
    return line


def write_env(example: Path, target: Path) -> list[str]:
    """Create `target`, or add variables new in `example`; returns the names added."""
    example_lines = example.read_text().splitlines()
    if not target.exists():
        target.write_text("\n".join(_resolved(line) for line in example_lines) + "\n")
        target.chmod(0o600)
        return list(_assignments(example_lines))
    present = _assignments(target.read_text().splitlines())
    missing = [
        line
        for line in example_lines
        if "=" in line
        and not line.lstrip().startswith("#")
        and line.partition("=")[0].strip() not in present
    ]
    if missing:
        with target.open("a") as env_file:
            env_file.write("\n" + "\n".join(_resolved(line) for line in missing) + "\n")
    return [line.partition("=")[0].strip() for line in missing]
