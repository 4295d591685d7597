"""Benchmark: what one /metrics scrape costs with the 2025 national topology (3,321 communes,
34 provinces), every site with a full last window.

    .venv/bin/python -m bench.scrape [--repeat 20]

It feeds the real collector (`monitor.metrics.SiteCollector`) and the real encoders with one
snapshot per site, as the engine would hold them, and times the exposition: the part of a scrape
that grows with the number of sites. (The engine itself is measured by bench/engine.py.)
"""

import argparse
import statistics
import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from models.site import SiteStatus
from models.topology.builtin import builtin_text
from models.topology.files import FileFormat, parse
from monitor.probe.metrics import BuildInfo, ProbeMetrics, SiteCollector, SiteSnapshot
from monitor.probe.quality import figures


def national_snapshots() -> list[SiteSnapshot]:
    now = datetime.now(UTC)
    window = figures([0.021, 0.019, 0.024, 0.020, 0.022, 0.023, 0.020, 0.021, 0.025, 0.019], 0)
    rows = parse(builtin_text("vietnam-2025"), FileFormat.CSV)
    return [
        SiteSnapshot(
            code=row.site.code,
            name=row.site.name,
            level=row.site.level.value,
            parent=row.site.parent_code or "",
            status=SiteStatus.UP,
            since=now,
            figures=window,
            setup_seconds=0.08,
            attendance=25,
            last_seen_at=now,
        )
        for row in rows
        if row.site.level.value != "hub"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    snapshots = national_snapshots()
    registry = CollectorRegistry()
    ProbeMetrics(registry)
    registry.register(BuildInfo())
    registry.register(SiteCollector(lambda: snapshots, lambda: {}))
    for name, encode in (("text 0.0.4", generate_latest), ("OpenMetrics", generate_openmetrics)):
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            body = encode(registry)
            timings.append(time.perf_counter() - started)
        lines = body.count(b"\n")
        print(
            f"{name}: {len(snapshots)} sites, {len(body) / 1e6:.2f} MB, "
            f"{lines:,} lines, median {statistics.median(timings) * 1000:.0f} ms, "
            f"max {max(timings) * 1000:.0f} ms over {args.repeat} scrapes"
        )


if __name__ == "__main__":
    main()
