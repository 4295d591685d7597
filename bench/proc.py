"""What the dashboard benchmarks share: the injecting service process, /proc readings, stats."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.service import spawned

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TOPOLOGY = "vietnam-2025"


@contextmanager
def national_service(folder: Path) -> Iterator[tuple[str, "subprocess.Popen[bytes]"]]:
    """`python -m bench.service` on a fresh SQLite with the national topology, anonymous
    reads and no probe engine (the injector stands in for it); yields base URL and process."""
    env = {
        "BRIDGEWATCH_DATA_DIR": str(folder),
        "BRIDGEWATCH_SEED_TOPOLOGY": TOPOLOGY,
        "BRIDGEWATCH_ENGINE": "false",
        "BRIDGEWATCH_ANONYMOUS_READ": "true",
        "BRIDGEWATCH_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),  # the service runs in `folder`, bench is not installed
    }
    with spawned([sys.executable, "-m", "bench.service"], env, folder) as started:
        yield started


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def cores_used(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Cores of the whole machine busy between two machine_busy() readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total * (os.cpu_count() or 1) if total else 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
