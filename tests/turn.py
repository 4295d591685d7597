"""Debian's coturn on loopback for the tests: TURN with the REST API's shared secret, relaying
between loopback addresses only, started on free ports and stopped at the end."""

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import struct
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from models.settings import TurnServer
from tests.service import free_port

TURNSERVER = "/usr/bin/turnserver"
RELAY_PORTS = 20  # two or three allocations at a time are plenty
START_SECONDS = 15.0
STUN_MAGIC = 0x2112A442


@dataclass(frozen=True)
class Coturn:
    url: str  # turn:127.0.0.1:PORT?transport=udp
    secret: str
    log: Path

    def settings(self, secret: str | None = None) -> TurnServer:
        """The monitor's TURN setting for this server (with another secret: a wrong one)."""
        return TurnServer.model_validate({"urls": [self.url], "secret": secret or self.secret})


def _free_udp_range(count: int) -> int:
    """The first port of `count` consecutive free UDP ports (below the ephemeral range, where
    nothing else takes them meanwhile)."""
    while True:
        first = free_port()
        probes: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


def _command(port: int, relay: int, secret: str, folder: Path) -> list[str]:
    return [
        TURNSERVER,
        "-n",  # no configuration file: everything is here
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        f"--min-port={relay}",
        f"--max-port={relay + RELAY_PORTS - 1}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=bridgewatch.test",
        "--allow-loopback-peers",  # the monitor's candidates are on 127.0.0.1
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        f"--log-file={folder / 'turn.log'}",
        "--simple-log",
        "--verbose",  # sessions and allocations in the log, for a failing test to show
        f"--pidfile={folder / 'turn.pid'}",
        f"--db={folder / 'turndb'}",
    ]


async def _answers_stun(port: int) -> bool:
    """A STUN binding request to the server, answered within a second."""
    loop = asyncio.get_running_loop()
    request = struct.pack("!HHI", 0x0001, 0, STUN_MAGIC) + secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect(("127.0.0.1", port))
        sock.send(request)
        try:
            reply = await asyncio.wait_for(loop.sock_recv(sock, 2048), 1.0)
        except (TimeoutError, ConnectionRefusedError):
            return False
    return reply[:2] == b"\x01\x01" and reply[8:20] == request[8:20]


@contextlib.asynccontextmanager
async def coturn(folder: Path) -> AsyncIterator[Coturn]:
    """coturn on free loopback ports, its files (log, pid, database) in `folder`, which must
    exist: coturn falls back to /var/log and /var/run when it cannot write there."""
    assert shutil.which(TURNSERVER), "coturn is missing: apt-get install coturn"
    port, relay = free_port(), _free_udp_range(RELAY_PORTS)
    secret = secrets.token_urlsafe(24)
    process = await asyncio.create_subprocess_exec(
        *_command(port, relay, secret, folder),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOME": str(folder)},
    )
    try:
        async with asyncio.timeout(START_SECONDS):
            while not await _answers_stun(port):
                assert process.returncode is None, f"coturn exited with {process.returncode}"
        yield Coturn(f"turn:127.0.0.1:{port}?transport=udp", secret, folder / "turn.log")
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), 5)
