"""Benchmark: 200 live-stream clients on one service, the national topology, 100 changes a second.

    .venv/bin/python -m bench.stream_clients [--clients 200] [--seconds 30] [--rate 100]

One service process (`bench.service`: `bridgewatch serve` plus the change injector, SQLite, the
`vietnam-2025` topology, no probe engine) and one client process holding N concurrent
`GET /api/v1/stream` connections with httpx, so client CPU never counts as service CPU. Once every
client has its snapshot, the service is told to publish `--rate` status changes a second for
`--seconds`.

Lag: each change carries the wall-clock time it was published (`status_since`), each `update`
the time the stream flushed it (`at`); a client notes `time.time()` when the update's data line
arrives (parsing waits until the run is over, so it cannot delay later receipts). Both processes
read the same CLOCK_REALTIME of one machine, so no clock offset enters the figures. The stream
coalesces changes for 0.5 s before sending (`COALESCE_SECONDS`), so a change waits 0 to 0.5 s
by design before it leaves: "end to end" includes that wait, "after the flush" does not, and
"flush late" is how much longer than 0.5 s the oldest change of each update waited (the
stream's timer firing late on a busy event loop).

Service CPU is utime + stime from /proc/PID/stat over the injection window, as cores. Every
phase has a deadline; the whole run takes about a minute and a half.
"""

import argparse
import asyncio
import json
import resource
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx

from app.api.stream import COALESCE_SECONDS
from bench.proc import (
    ROOT,
    cores_used,
    cpu_seconds,
    load_average,
    machine_busy,
    national_service,
    percentile,
    rss_mb,
)

READY_SECONDS = 150.0  # every client connected and holding its snapshot
IDLE_SECONDS = 5.0  # connected clients, no changes: the keep-alive baseline
DRAIN_SECONDS = 2.0  # after the last change: one coalescing period and some margin
# Clients waiting for a snapshot at once. Each snapshot holds a database connection while it is
# read, and with 200 at once most wait more than the pool's 30 s for one: about half of the
# streams then fail (sqlalchemy TimeoutError, QueuePool 5 + 10). So clients connect ten at a
# time; once connected they all stay open together.
CONNECTING = 10

# -- the client process (sub-mode) ---------------------------------------------------------


@dataclass
class Client:
    snapshot_at: float | None = None
    updates: list[tuple[float, str]] = field(default_factory=list)  # (received, raw data)
    resyncs: int = 0


async def follow(
    http: httpx.AsyncClient, client: Client, started: float, gate: asyncio.Semaphore
) -> None:
    """Reads one stream until cancelled; keeps update data raw, to parse after the run.
    `gate` is held until the snapshot has arrived (see CONNECTING)."""
    await gate.acquire()
    try:
        async with http.stream("GET", "/api/v1/stream") as response:
            response.raise_for_status()
            await read(response, client, started, gate)
    finally:
        if client.snapshot_at is None:
            gate.release()


async def read(
    response: httpx.Response, client: Client, started: float, gate: asyncio.Semaphore
) -> None:
    kind = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif not line.startswith("data: "):
            continue
        elif kind == "update":
            client.updates.append((time.time(), line.removeprefix("data: ")))
        elif kind == "snapshot" and client.snapshot_at is None:
            client.snapshot_at = time.monotonic() - started
            gate.release()
        elif kind == "resync":
            client.resyncs += 1


async def hold(base: str, count: int, connecting: int) -> None:
    """N streams: prints a `ready` line once all have a snapshot, the results when stdin closes."""
    limits = httpx.Limits(max_connections=count + 10)
    timeout = httpx.Timeout(30.0, read=None)
    clients = [Client() for _ in range(count)]
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as http:
        gate = asyncio.Semaphore(connecting)
        tasks = [asyncio.create_task(follow(http, c, started, gate)) for c in clients]
        await _until_all_have_snapshots(clients, tasks)
        print(json.dumps({"ready": [c.snapshot_at for c in clients]}), flush=True)
        await asyncio.to_thread(sys.stdin.read)  # the parent closes our stdin when done
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(summarise(clients)), flush=True)


async def _until_all_have_snapshots(clients: list[Client], tasks: list[asyncio.Task[None]]) -> None:
    while any(client.snapshot_at is None for client in clients):
        failed = [task for task in tasks if task.done()]
        if failed:
            failed[0].result()  # raises what ended that stream
        await asyncio.sleep(0.1)


def summarise(clients: list[Client]) -> dict[str, Any]:
    end_to_end: list[float] = []
    after_flush: list[float] = []
    late: list[float] = []  # how much later than COALESCE_SECONDS each update was flushed
    received = []
    for client in clients:
        count = 0
        for arrived, data in client.updates:
            update = json.loads(data)
            flushed = _epoch(update["at"])
            after_flush.append(arrived - flushed)
            changed = [_epoch(site["status_since"]) for site in update["sites"]]
            late.append(flushed - min(changed) - COALESCE_SECONDS)
            end_to_end.extend(arrived - at for at in changed)
            count += len(changed)
        received.append(count)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "end_to_end": _stats(end_to_end),
        "after_flush": _stats(after_flush),
        "flush_late": _stats(late),
        "changes_received": {"min": min(received), "max": max(received)},
        "updates_per_client": sum(len(c.updates) for c in clients) / len(clients),
        "resyncs": sum(c.resyncs for c in clients),
        "client_cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "n": len(values),
        **{f"p{q}": percentile(values, q) for q in (50, 95, 99)},
        "max": max(values),
    }


def clients_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.stream_clients clients")
    parser.add_argument("--base", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--connecting", type=int, required=True)
    args = parser.parse_args(argv)
    asyncio.run(hold(args.base, args.clients, args.connecting))


# -- the benchmark ---------------------------------------------------------------------------


def read_line(process: "subprocess.Popen[str]", seconds: float) -> dict[str, Any]:
    """The next JSON line of the client process, or TimeoutError after `seconds`."""
    stdout: IO[str] | None = process.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], seconds)
    if not ready:
        raise TimeoutError(f"no answer from the client process within {seconds:.0f} s")
    line = stdout.readline()
    if not line:
        raise RuntimeError(f"the client process ended (exit status {process.wait()})")
    result: dict[str, Any] = json.loads(line)
    return result


@dataclass
class Window:
    """Service CPU and the machine's over one stretch of time."""

    seconds: float
    service_cores: float
    machine_cores: float


def window(pid: int, seconds: float) -> Window:
    cpu, machine, start = cpu_seconds(pid), machine_busy(), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    service = (cpu_seconds(pid) - cpu) / elapsed
    return Window(elapsed, service, cores_used(machine, machine_busy()))


def inject(base: str, pid: int, rate: float, seconds: float) -> tuple[Window, dict[str, Any]]:
    """Starts the injector and measures the service over exactly its run."""
    answer = httpx.post(f"{base}/bench/changes", params={"rate": rate, "seconds": seconds})
    answer.raise_for_status()
    measured = window(pid, seconds)
    time.sleep(DRAIN_SECONDS)
    progress: dict[str, Any] = httpx.get(f"{base}/bench/changes", timeout=10).json()
    return measured, progress


def run(args: argparse.Namespace) -> None:
    print(f"load average before: {load_average()}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder, national_service(Path(folder)) as (base, svc):
        command = [sys.executable, "-m", "bench.stream_clients", "clients", "--base", base]
        command += ["--clients", str(args.clients), "--connecting", str(args.connecting)]
        clients = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            connect_start = time.monotonic()
            ready = read_line(clients, READY_SECONDS)["ready"]
            connect = time.monotonic() - connect_start
            rss_connected = rss_mb(svc.pid)
            idle = window(svc.pid, IDLE_SECONDS)
            busy, progress = inject(base, svc.pid, args.rate, args.seconds)
            rss_after = rss_mb(svc.pid)
            assert clients.stdin is not None
            clients.stdin.close()
            result = read_line(clients, 120.0)
        finally:
            clients.kill()
            clients.wait()
    report(args, connect, ready, idle, busy, progress, result, (rss_connected, rss_after))


def report(
    args: argparse.Namespace,
    connect: float,
    ready: list[float],
    idle: Window,
    busy: Window,
    progress: dict[str, Any],
    result: dict[str, Any],
    rss: tuple[float, float],
) -> None:
    print(
        f"{args.clients} stream clients, national topology, {args.rate:g} changes/s for "
        f"{args.seconds:g} s ({progress['published']} of {progress['planned']} published)"
    )
    print(
        f"connect: all snapshots in {connect:.1f} s "
        f"(per client median {percentile(ready, 50):.1f} s, max {max(ready):.1f} s)"
    )
    for name in ("end_to_end", "after_flush", "flush_late"):
        s = result[name]
        print(
            f"lag {name.replace('_', ' ')} (n={s['n']}): p50 {s['p50'] * 1000:.0f} ms, "
            f"p95 {s['p95'] * 1000:.0f} ms, p99 {s['p99'] * 1000:.0f} ms, "
            f"max {s['max'] * 1000:.0f} ms"
        )
    received = result["changes_received"]
    print(
        f"changes received per client: {received['min']}..{received['max']}, "
        f"updates per client {result['updates_per_client']:.1f}, resyncs {result['resyncs']}"
    )
    print(
        f"service CPU: {busy.service_cores:.2f} cores under changes, "
        f"{idle.service_cores:.2f} idle with clients connected; "
        f"RSS {rss[0]:.0f} MB connected, {rss[1]:.0f} MB after"
    )
    client_cores = result["client_cpu_seconds"] / (connect + IDLE_SECONDS + busy.seconds)
    print(
        f"machine: {busy.machine_cores:.2f} of 2 cores busy under changes (service + "
        f"clients + others); client process averaged {client_cores:.2f} cores; "
        f"load average after: {load_average()}"
    )


def main() -> None:
    if sys.argv[1:2] == ["clients"]:
        clients_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument(
        "--connecting",
        type=int,
        default=CONNECTING,
        help="clients waiting for their snapshot at once (the rest queue in the client process)",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
