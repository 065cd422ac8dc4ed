"""CPU and memory of the stack's processes during a load run, read from /proc.

psutil is not installed and the benchmark adds no dependency, so this reads
/proc/<pid>/stat (utime + stime, in clock ticks) and /proc/<pid>/status (VmRSS,
VmHWM) directly: Linux only. Each named process is measured with its children
(found through the parent pid in /proc/*/stat), sampled every `interval_s` in a
background thread so the asyncio load client is not slowed by file reads.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    """What one /proc/<pid>/stat line tells us: parent and CPU time so far (seconds)."""

    pid: int
    ppid: int
    cpu_s: float


def read_stat(pid: int) -> ProcStat | None:
    """Parse /proc/<pid>/stat; None if the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return ProcStat(pid, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)


def read_memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB from /proc/<pid>/status; (0, 0) if gone or a kernel thread."""
    rss = hwm = 0
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return rss, hwm


def all_stats() -> dict[int, ProcStat]:
    """Every visible process, for finding children."""
    stats: dict[int, ProcStat] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def process_tree(
    root: int, stats: Mapping[int, ProcStat], exclude: frozenset[int] = frozenset()
) -> list[int]:
    """`root` and all its living descendants, without the subtrees of `exclude`.

    The load client starts the stack: its own figures must not include the stack's.
    """
    if root not in stats:
        return []
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in exclude and pid != root:
            continue
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


@dataclass
class ProcessUsage:
    """Accumulated figures of one named process (with its children)."""

    name: str
    pid: int
    samples: int = 0
    cpu_percent: list[float] = field(default_factory=list)
    rss_kb_max: int = 0
    hwm_kb_max: int = 0
    last_cpu_s: dict[int, float] = field(default_factory=dict)

    def summary(self) -> dict[str, float | int | str | None]:
        cpu = self.cpu_percent
        return {
            "pid": self.pid,
            "samples": self.samples,
            # 100 % = one core busy; the sum of all processes can reach cores * 100.
            "cpu_avg_percent": round(sum(cpu) / len(cpu), 1) if cpu else None,
            "cpu_max_percent": round(max(cpu), 1) if cpu else None,
            "rss_peak_mb": round(self.rss_kb_max / 1024, 1),
            # The kernel's high-water mark over the process's life (startup included).
            "rss_hwm_mb": round(self.hwm_kb_max / 1024, 1),
        }


class ProcessSampler:
    """Samples CPU% and RSS of named PIDs (and children) every `interval_s` in a thread.

    Use as a context manager around a run, then read `summary()`.
    """

    def __init__(self, pids: Mapping[str, int], interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.usage = {name: ProcessUsage(name, pid) for name, pid in pids.items()}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_time = 0.0
        self.started_at = 0.0
        self.stopped_at = 0.0

    def __enter__(self) -> ProcessSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.started_at = self._last_time = time.monotonic()
        self._sample(baseline=True)
        self._thread = threading.Thread(target=self._loop, name="process-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.stopped_at = time.monotonic()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self, baseline: bool = False) -> None:
        now = time.monotonic()
        elapsed = now - self._last_time
        self._last_time = now
        stats = all_stats()
        roots = frozenset(usage.pid for usage in self.usage.values())
        for usage in self.usage.values():
            self._sample_one(usage, process_tree(usage.pid, stats, roots), stats, elapsed, baseline)

    @staticmethod
    def _sample_one(
        usage: ProcessUsage,
        tree: list[int],
        stats: Mapping[int, ProcStat],
        elapsed: float,
        baseline: bool,
    ) -> None:
        if not tree:
            return
        # A child born since the last sample counts from zero; a gone one drops out.
        used = sum(stats[pid].cpu_s - usage.last_cpu_s.get(pid, 0.0) for pid in tree)
        usage.last_cpu_s = {pid: stats[pid].cpu_s for pid in tree}
        rss = hwm = 0
        for pid in tree:
            pid_rss, pid_hwm = read_memory_kb(pid)
            rss += pid_rss
            hwm += pid_hwm
        usage.rss_kb_max = max(usage.rss_kb_max, rss)
        usage.hwm_kb_max = max(usage.hwm_kb_max, hwm)
        if baseline or elapsed <= 0:
            return
        usage.samples += 1
        usage.cpu_percent.append(100.0 * used / elapsed)

    def summary(self) -> dict[str, dict[str, float | int | str | None]]:
        """Per name: pid, samples, cpu_avg_percent, cpu_max_percent, rss_peak_mb, rss_hwm_mb."""
        return {name: usage.summary() for name, usage in self.usage.items()}


def machine() -> dict[str, object]:
    """CPU count and memory of this machine (the run's context: it may be shared)."""
    total_kb = 0
    try:
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total_kb = int(line.split()[1])
    except OSError:
        pass
    return {"cpu_count": os.cpu_count(), "memory_mb": round(total_kb / 1024), **load_average()}


def load_average() -> dict[str, float]:
    """The 1-minute load average: other work on a shared machine shows up here."""
    one, five, _ = os.getloadavg()
    return {"loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2)}
