"""Run the real `bridgewatch` command as a separate process on a free loopback port."""

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

START_TIMEOUT_SECONDS = 60.0


def _ephemeral_ports() -> range:
    """The range the kernel hands out to outgoing connections (and to `bind(port 0)`)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)  # Linux's default


_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback TCP port outside the ephemeral range, never handed out twice by this process.

    A port the kernel picked for `bind(0)` could be taken, before the service binds it, by any
    outgoing connection (the engine dialling agents, asyncpg, httpx): one CI run failed that way.
    The kernel never picks ports below the ephemeral range on its own, so one free there stays free.
    """
    ephemeral = _ephemeral_ports()
    candidates = [p for p in range(10000, ephemeral.start) if p not in _handed_out]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


@contextmanager
def running(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[str]:
    """Start `bridgewatch ARGS --port P`, wait until /readyz answers, yield its base URL."""
    program = str(Path(sys.executable).with_name("bridgewatch"))
    with spawned([program, *args], env, cwd) as (base, _):
        yield base


@contextmanager
def spawned(
    command: list[str], env: dict[str, str], cwd: Path
) -> Iterator[tuple[str, "subprocess.Popen[bytes]"]]:
    """Start `COMMAND --port P` (a service), wait until /readyz answers, yield its base URL and
    process (benchmarks read the process's CPU time); stopped with SIGTERM, then SIGKILL."""
    port = free_port()
    log = (cwd / "service.log").open("w")
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, base, cwd)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def _wait_ready(process: "subprocess.Popen[bytes]", base: str, cwd: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"service exited: {(cwd / 'service.log').read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"service not ready: {(cwd / 'service.log').read_text()}")
        time.sleep(0.2)
