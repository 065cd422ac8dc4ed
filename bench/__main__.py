"""`python -m bench [--smoke] [--skip cv,load,...] [--out DIR]`: every benchmark, then the report.

Parts run one after another, never side by side: the machine has 2 cores and each
part would slow the others. A part that fails is recorded with its error and the rest
still run, so the report always comes out; the exit code says whether all of it worked.

    make bench                                   # everything, into bench/results/
    python -m bench --smoke --out /tmp/bench     # about a minute: checks the code runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import report
from bench.startup import ROOT

PARTS = ("holdout", "cv", "pipelines", "startup", "load")
DEFAULT_OUT = ROOT / "bench" / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run: does the code work?")
    parser.add_argument(
        "--skip", default="", help=f"comma-separated parts to leave out: {','.join(PARTS)}"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--customers", default="10,50,100", help="load levels (bench.load)")
    parser.add_argument("--duration", type=int, default=60, help="seconds per load level")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (models, logs)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    unknown = args.skip - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})")
    return args


def load_command(args: argparse.Namespace, out: Path) -> list[str]:
    command = [sys.executable, "-m", "bench.load", "--out", str(out)]
    if args.smoke:
        return [*command, "--smoke"]
    return [
        *command,
        "--customers",
        args.customers,
        "--duration",
        str(args.duration),
        "--channels",
        "widget,rest",
    ]


def run_load(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """bench.load in its own process: its client must not share a GIL with anything else."""
    if not (ROOT / "bench" / "load.py").is_file():
        return {"skipped": "bench/load.py is not there"}
    out = workdir / "load.json"
    command = load_command(args, out)
    log = workdir / "load.log"
    with log.open("wb") as output:
        result = subprocess.run(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    if not out.is_file():
        ending = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"bench.load exited with {result.returncode}:\n{ending}")
    # A run with errors still wrote its figures: they are reported, errors included.
    return {
        "command": shlex.join(["python", *command[1:3], *command[5:]]),  # without --out
        "exit_code": result.returncode,
        **json.loads(out.read_text()),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on, so a reader can compare like with like."""
    cpu = platform.processor() or "?"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory_gb = None
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory_gb = round(total_kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    import rasa

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "rasa": rasa.__version__,
        "commit": commit or "?",
    }


def timed(
    results: dict[str, Any], durations: dict[str, float], name: str, part: Callable[[], Any]
) -> Any:
    """Run one part; on failure keep its error (shown as not measured) and go on."""
    print(f"[bench] {name}...", flush=True)
    started = time.perf_counter()
    try:
        value = part()
    except Exception as error:  # noqa: BLE001 - any failure is reported, the rest still runs
        traceback.print_exc()
        value = {"error": f"{type(error).__name__}: {error}".strip()[:2000]}
    durations[name] = round(time.perf_counter() - started, 1)
    print(f"[bench] {name} done in {durations[name]:.0f} s", flush=True)
    return value


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from bench import pipelines, startup, understanding

    durations: dict[str, float] = {}
    results: dict[str, Any] = {
        "meta": {
            "command": shlex.join(["python", "-m", "bench", *args.argv]),
            "smoke": args.smoke,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            # 1/5/15-minute load: other work on a shared machine shows up here.
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            **machine(),
        },
        "understanding": {},
    }
    skipped = {"skipped": "left out with --skip"}
    smoke = {"skipped": "smoke run"}

    def section(name: str, part: Callable[[], Any], when_smoke: dict | None = None) -> Any:
        if name in args.skip:
            return skipped
        if args.smoke and when_smoke is not None:
            return when_smoke
        return timed(results, durations, name, part)

    per_language = 5 if args.smoke else None
    results["understanding"]["holdout"] = section(
        "holdout", lambda: understanding.holdout(per_language=per_language)
    )
    results["understanding"]["crossval"] = section(
        "cv", lambda: understanding.crossval(folds=args.folds), when_smoke=smoke
    )
    sizes = (
        {"latency_messages": 5, "throughput_messages": 8, "concurrency": 2} if args.smoke else {}
    )
    results["pipelines"] = section(
        "pipelines",
        lambda: pipelines.run(
            workdir / "pipelines",
            train_models=not args.smoke,
            holdout_per_language=per_language,
            **sizes,
        ),
    )
    project = report.get(results, "pipelines", "pipelines", "project") or {}
    results["startup"] = section(
        "startup",
        lambda: startup.measure(
            workdir / "startup",
            training=project.get("training"),
            start=project.get("start"),
            train_model=not args.smoke,
        ),
    )
    results["load"] = section("load", lambda: run_load(args, workdir))
    results["meta"]["section_seconds"] = durations
    results["meta"]["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def failed_parts(results: dict[str, Any]) -> list[str]:
    parts = {**results.get("understanding", {}), **results}
    return [name for name, value in parts.items() if isinstance(value, dict) and "error" in value]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        results = run(args, workdir)
    finally:
        if args.keep:
            print(f"[bench] work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    written = report.write(results, args.out)
    print(report.targets_table(results))
    print("[bench] wrote " + ", ".join(str(path) for path in written))
    failed = failed_parts(results)
    if failed:
        print(f"[bench] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
