"""Benchmark: what listing every site costs, through a real service process over loopback.

    .venv/bin/python -m bench.api_list [--requests 200] [--postgres URL]

Starts `bridgewatch serve` on the embedded SQLite (or a given empty PostgreSQL database) with the
Cao Bằng topology (172 sites) and times `GET /api/v1/sites` sequentially from one client.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.service import running


def measure(base: str, requests: int) -> list[float]:
    timings = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(10):  # warm-up: connection, caches
            client.get("/api/v1/sites")
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get("/api/v1/sites")
            timings.append(time.perf_counter() - start)
            assert response.json()["total"] >= 172
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database to use instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {"BRIDGEWATCH_DATA_DIR": folder, "BRIDGEWATCH_ANONYMOUS_READ": "true"}
        env["BRIDGEWATCH_LOG_LEVEL"] = "warning"
        if args.postgres:
            env["BRIDGEWATCH_DATABASE_URL"] = args.postgres
        with running(["serve"], env, Path(folder)) as base:
            timings = sorted(measure(base, args.requests))
    cut = statistics.quantiles(timings, n=100)
    print(
        f"GET /api/v1/sites (172 sites), {len(timings)} requests: "
        f"median {statistics.median(timings) * 1000:.1f} ms, p95 {cut[94] * 1000:.1f} ms, "
        f"min {timings[0] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
