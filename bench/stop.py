"""Benchmark: how long a `bridgewatch worker` holding N sites takes to exit on SIGTERM.

    .venv/bin/python -m bench.stop [--sites 300] [--heartbeat 1] [--settle 120] [--repeat 1]

A throwaway PostgreSQL database (on BRIDGEWATCH_TEST_POSTGRES_URL's server) gets the built-in
`vietnam-2025` topology; N communes point at real aiortc agents in separate processes (the agent
sub-mode of `bench.engine`). One worker starts, every site answers it, then it gets SIGTERM
(as from Docker, which kills after 10 s). Reported per round: seconds to exit, its exit status,
and the leases it still held after it exited (0: it handed every site over). A shorter
`--heartbeat` loads the worker's loop as more sites would (0.25 s at 300 sites is about the
ping rate of 1,200 sites). Prints results, asserts nothing.
"""

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.engine import agent_processes, prepare
from bench.proc import load_average
from bench.scale_out import Check, Run, WorkerProcesses, database, db_now, fmt, holdings
from models.db import open_database
from models.lease import SiteLease

EXIT_WAIT_SECONDS = 120.0


async def leases_left(url: str) -> int:
    async with open_database(url) as sessionmaker, sessionmaker() as session:
        query = select(func.count()).select_from(SiteLease)
        count = await session.scalar(query.where(SiteLease.expires_at > func.now()))
    return count or 0


def engine_stop_line(log: Path) -> str:
    """The worker's "probe engine stopped" log line: how long each step of the stop took."""
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("message") == "probe engine stopped":
                return ", ".join(f"{k} {v}" for k, v in record.items() if k.endswith("seconds"))
    return "no line (the engine did not finish its stop)"


async def settled(check: Check, seconds: float) -> float | None:
    """Seconds until every site answered, or None when `seconds` ran out first (a saturated
    worker may never get them all: it is stopped all the same)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    return None


async def one_round(run: Run, number: int, settle: float) -> None:
    since = await db_now(run.url)  # an earlier round's statuses do not count
    started = time.monotonic()
    base, worker = await run.workers.start()
    answered = await settled(Check(run, "answering", since=since), settle)
    held = (await holdings(run.workers))[-1]
    await asyncio.sleep(5)  # a few windows of steady state: the recorder writes, pings flow
    load = load_average()
    signalled = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        code: int | str = await asyncio.to_thread(worker.wait, EXIT_WAIT_SECONDS)
        took = f"{time.monotonic() - signalled:.1f} s"
    except subprocess.TimeoutExpired:
        code, took = "none", f"still running after {EXIT_WAIT_SECONDS:.0f} s"
    print(
        f"round {number}: {held} sites held, all answering {fmt(answered)} after start "
        f"({time.monotonic() - started:.0f} s ago); load {load}; SIGTERM -> exit {took} "
        f"(status {code}); leases still held after exit: {await leases_left(run.url)} ({base})"
    )
    log = run.workers.folder / f"worker-{number - 1}" / "service.log"
    print(f"  the engine's own account: {engine_stop_line(log)}")


async def main(args: argparse.Namespace) -> None:
    print(f"stop benchmark: {args.sites} sites, heartbeat every {args.heartbeat} s")
    async with database() as url:
        plan = await prepare(url, args.sites, 0)
        with tempfile.TemporaryDirectory(prefix="bw-stop-") as tmp:
            folder = Path(tmp)
            with agent_processes(plan, folder, 3600):
                workers = WorkerProcesses(url, folder, args.heartbeat, log_level="info")
                with workers.stack:
                    run = Run(url, plan.codes, workers)
                    for number in range(1, args.repeat + 1):
                        await one_round(run, number, args.settle)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.stop")
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--heartbeat", type=float, default=1.0, help="seconds between pings")
    parser.add_argument(
        "--settle", type=float, default=120.0, help="longest wait for every site to answer"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds, a fresh worker each")
    asyncio.run(main(parser.parse_args()))
