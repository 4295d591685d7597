"""Request bodies are bounded before anything reads them, on the real service's socket.

A body used to be read whole before the token was even looked at: 300 MB sent with no token
took the service from 154 to 784 MB. Now a declared length past the bound is answered 413 at
once, and a body sent without one (chunked) is cut off as soon as it passes the bound.
"""

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service import spawned

BRIDGEWATCH = str(Path(sys.executable).with_name("bridgewatch"))
MiB = 1024 * 1024
HUGE = 300 * MiB
JSON_BOUND = 2 * MiB
SDP_BOUND = 64 * 1024


class Service:
    def __init__(self, base: str, pid: int, log: Path, agent_secret: str) -> None:
        self.base = base
        self.port = int(base.rsplit(":", 1)[1])
        self.pid = pid
        self.log = log
        self.agent_secret = agent_secret  # site 01267's

    def memory_kib(self, field: str) -> int:
        """VmRSS (now) or VmHWM (the peak so far) of the service process, in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} for process {self.pid}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`bridgewatch serve` on SQLite with the Cao Bằng sites, no probe engine."""
    folder = tmp_path_factory.mktemp("body-limits")
    env = {
        "BRIDGEWATCH_DATA_DIR": str(folder / "data"),
        "BRIDGEWATCH_DATABASE_URL": "",
        "BRIDGEWATCH_ENGINE": "false",
        "BRIDGEWATCH_ANONYMOUS_READ": "false",
    }
    with spawned([BRIDGEWATCH, "serve"], env, folder) as (base, process):
        secret = subprocess.run(
            [BRIDGEWATCH, "sites", "secret", "01267"],
            env={**os.environ, **env},
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield Service(base, process.pid, folder / "service.log", secret)


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket, deadline: float) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the one response on `sock`; status 0 if none came in time."""
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if _ and len(body) >= int(_headers(head).get("content-length", "0")):
            break
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        return 0, {}, b""
    return int(head.split()[1]), _headers(head), body


def _headers(head: bytes) -> dict[str, str]:
    fields = (line.split(":", 1) for line in head.decode("latin-1").split("\r\n")[1:])
    return {name.strip().lower(): value.strip() for name, value in fields}


def declared(
    service: Service, path: str, length: int, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """Send only the head of a request declaring `length` bytes: a server that answers before
    reading the body answers now; one that waits for the body gets none and times out."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(_head("POST", path, {**headers, "Content-Length": str(length)}))
        return _read_response(sock, time.monotonic() + 5)


def streamed(
    service: Service, path: str, total: int, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes, int]:
    """Send `total` bytes as a chunked body, 1 MiB a chunk, until the server answers or closes;
    returns the response and how many bytes went out."""
    piece = b" " * MiB
    sent = 0
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(_head("POST", path, {**headers, "Transfer-Encoding": "chunked"}))
        try:
            while sent < total:
                answered, _, _ = select.select([sock], [], [], 0)
                if answered:
                    break
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading and closed: its answer is waiting
        status, response_headers, body = _read_response(sock, time.monotonic() + 30)
    return status, response_headers, body, sent


def _assert_413(status: int, headers: dict[str, str], body: bytes, bound: int) -> None:
    assert status == 413, (status, body[:300])
    assert headers["content-type"] == "application/problem+json"
    detail = json.loads(body)["detail"]
    # docs/PROTOCOL.md promises agents "the offer is too large".
    what = "the offer" if bound == SDP_BOUND else "the request body"
    assert f"{what} is too large ({bound:,} bytes at most)" == detail, detail


JSON = {"Content-Type": "application/json"}
SDP = {"Content-Type": "application/sdp", "Authorization": "Bearer bws_not-a-secret"}


def test_a_declared_length_past_the_bound_is_refused_before_the_body_is_sent(
    service: Service,
) -> None:
    for path in ("/api/v1/sites", "/api/v1/conferences", "/api/v1/incidents/1/ack"):
        _assert_413(*declared(service, path, HUGE, JSON), JSON_BOUND)
    # Agents' offers keep their own, smaller bound, also before their secret is checked.
    _assert_413(*declared(service, "/api/v1/agents/01267/sessions", SDP_BOUND + 1, SDP), SDP_BOUND)
    # Even a route that takes no body at all does not wait for one this large.
    _assert_413(*declared(service, "/api/v1/summary", HUGE, JSON), JSON_BOUND)


def test_a_huge_streamed_body_with_no_token_is_cut_off_and_costs_no_memory(
    service: Service,
) -> None:
    httpx.get(f"{service.base}/readyz", timeout=10)  # warm: whatever a first request allocates
    before = service.memory_kib("VmHWM")
    status, headers, body, sent = streamed(service, "/api/v1/sites", HUGE, JSON)
    peak = service.memory_kib("VmHWM")
    grown = (peak - before) * 1024
    assert grown < 32 * MiB, f"the peak memory grew by {grown / MiB:.0f} MiB"
    assert sent < 64 * MiB, f"the server read {sent / MiB:.0f} MiB before it answered"
    _assert_413(status, headers, body, JSON_BOUND)
    # An agent's offer, streamed, is cut off at its own bound.
    agent = {**SDP, "Authorization": f"Bearer {service.agent_secret}"}
    status, headers, body, sent = streamed(service, "/api/v1/agents/01267/sessions", HUGE, agent)
    _assert_413(status, headers, body, SDP_BOUND)
    assert sent < 64 * MiB, f"the server read {sent / MiB:.0f} MiB of an offer before it answered"
    assert "Traceback" not in service.log.read_text()
    # The service is still there for everyone else.
    assert httpx.get(f"{service.base}/readyz", timeout=10).status_code == 200


def _largest_conference() -> dict[str, Any]:
    """10,000 sites with the longest codes allowed, the longest title and description."""
    sites = [{"site_code": f"{i:032d}", "expected_delegates": 100_000} for i in range(10_000)]
    return {
        "title": "Hội nghị trực tuyến " * 15,
        "description": "Hội nghị trực tuyến toàn tỉnh " * 160,
        "starts_at": "2026-12-01T08:00:00+07:00",
        "ends_at": "2026-12-01T11:30:00+07:00",
        "sites": sites,
    }


def test_a_conference_of_10000_sites_still_fits(service: Service) -> None:
    body = json.dumps(_largest_conference(), indent=4).encode()
    assert 1 * MiB < len(body) < JSON_BOUND
    # Read, parsed and only then refused for want of a token: it passed the bound.
    response = httpx.post(
        f"{service.base}/api/v1/conferences", content=body, headers=JSON, timeout=30
    )
    assert response.status_code == 401, response.text
