"""Real Prometheus and Alertmanager (Debian's packages) on loopback, for the metrics tests."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service import free_port

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
START_SECONDS = 60.0


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install prometheus prometheus-alertmanager")
    return path


@contextmanager
def _process(command: list[str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@contextmanager
def prometheus(target: str, folder: Path) -> Iterator[str]:
    """Prometheus scraping `target` (host:port) every second with the shipped alert rules."""
    shutil.copy(DEPLOY / "prometheus" / "alerts.yml", folder / "alerts.yml")
    (folder / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [alerts.yml]\n"
        "scrape_configs:\n"
        f"  - job_name: bridgewatch\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    command = [
        tool("prometheus"),
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    base = f"http://127.0.0.1:{port}"
    with _process(command, f"{base}/-/ready", folder / "prometheus.log"):
        yield base


@contextmanager
def alertmanager(folder: Path) -> Iterator[str]:
    port = free_port()
    command = [
        tool("prometheus-alertmanager"),
        f"--config.file={DEPLOY / 'alertmanager' / 'alertmanager.yml'}",
        f"--storage.path={folder / 'am'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip: a single instance on loopback
    ]
    base = f"http://127.0.0.1:{port}"
    with _process(command, f"{base}/-/ready", folder / "alertmanager.log"):
        yield base


async def query(client: httpx.AsyncClient, base: str, expr: str) -> list[dict[str, Any]]:
    response = await client.get(f"{base}/api/v1/query", params={"query": expr})
    body = response.json()
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
