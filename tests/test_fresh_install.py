"""What a newcomer meets: the service started from nothing, as the README says."""

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.databases import empty_postgres
from tests.service import running, spawned

BRIDGEWATCH = str(Path(sys.executable).with_name("bridgewatch"))


def test_demo_on_a_fresh_machine_is_alive_with_the_172_cao_bang_sites(tmp_path: Path) -> None:
    env = {"BRIDGEWATCH_DATA_DIR": str(tmp_path / "data")}
    with spawned([BRIDGEWATCH, "demo"], env, tmp_path) as (base, process):
        sites = httpx.get(f"{base}/api/v1/sites", timeout=10).json()
        hoa_an = httpx.get(f"{base}/api/v1/sites", params={"q": "hoa an"}, timeout=10).json()
        refused = httpx.post(f"{base}/api/v1/sites", json={}, timeout=10)
        summary = wait_for_fleet(base)
        process.send_signal(signal.SIGUSR1)  # an operator asks where the tasks wait
        dump = wait_for_log(tmp_path / "service.log", "asyncio tasks, by where they wait")
        fleet = int(Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text())
    # Stopped with SIGTERM (as Docker, systemd or `timeout` do): its fleet of agents goes too.
    assert wait_gone(fleet), "the simulated fleet outlived the demo"
    assert sites["total"] == 172
    assert hoa_an["items"][0]["name"] == "Huyện Hòa An"
    assert refused.status_code == 401  # anonymous reads in the demo, never anonymous writes
    # The simulated fleet answers: nearly every site answers and the scripted poor links show.
    counts = summary["by_status"]
    assert counts["up"] + counts["degraded"] >= 150 and counts["degraded"] >= 1, counts
    assert (tmp_path / "data" / "demo.db").exists()
    # Structured logs: every line the service and the fleet wrote is one JSON object.
    lines = (tmp_path / "service.log").read_text().splitlines()
    assert lines and all(json.loads(line)["message"] for line in lines)
    # The 171 site monitors wait in a few places, each told once with its count.
    counts = [int(place.split(" x ")[0]) for place in dump["places"]]
    assert dump["tasks"] > 171 and max(counts) >= 171, dump


def wait_gone(pid: int) -> bool:
    """The process has exited (gone, or a zombie nobody reaped yet) within 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.5)
    return False


def wait_for_log(path: Path, message: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines():
            entry: dict[str, Any] = json.loads(line)
            if entry["message"] == message:
                return entry
        time.sleep(0.5)
    raise AssertionError(f"not logged within 30 s: {message}")


def wait_for_fleet(base: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        summary: dict[str, Any] = httpx.get(f"{base}/api/v1/summary", timeout=10).json()
        counts = summary["by_status"]
        answering = counts["up"] + counts["degraded"]
        if (answering >= 150 and counts["degraded"] >= 1) or time.monotonic() > deadline:
            return summary
        time.sleep(1)


async def test_serve_migrates_and_seeds_an_empty_postgresql(tmp_path: Path) -> None:
    async with empty_postgres() as url:
        env = {"BRIDGEWATCH_DATABASE_URL": url, "BRIDGEWATCH_ANONYMOUS_READ": "true"}
        async with httpx.AsyncClient(timeout=10) as client:
            with running(["serve"], env, tmp_path) as base:
                summary = (await client.get(f"{base}/api/v1/summary")).json()
            # A restart on the same database neither fails nor seeds twice.
            with running(["serve"], env, tmp_path) as base:
                again = (await client.get(f"{base}/api/v1/summary")).json()
    assert summary["total"] == again["total"] == 172
