"""Prometheus metrics of the engine, in a registry of its own (no global state).

Per-site series come from a custom collector that reads the engine's in-memory state at scrape
time: values are those of each site's last window, a deleted site is gone from the next scrape,
and nothing is kept per sample. Only `bridgewatch_site_info` carries name, level and parent;
join it in PromQL with `* on(site) group_left(level, parent) bridgewatch_site_info`.
"""

import platform
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from models.site import SiteStatus
from monitor.probe.quality import WindowFigures

SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class SiteSnapshot:
    """What one site looks like right now, as the engine knows it."""

    code: str
    name: str
    level: str
    parent: str
    status: SiteStatus
    since: datetime
    figures: WindowFigures | None
    setup_seconds: float | None
    attendance: int | None
    last_seen_at: datetime | None


class ProbeMetrics:
    """Counters the engine increments as things happen."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.heartbeats = Counter(
            "bridgewatch_heartbeats",
            "Heartbeats by result: answered, missed (no pong in time), late (pong after timeout).",
            ["result"],
            registry=registry,
        )
        # Counted at every heartbeat of every site: each child is looked up once, not per
        # heartbeat (the lookup was ~2 % of the monitor's CPU at 1,000 sites).
        self.heartbeats_answered = self.heartbeats.labels("answered")
        self.heartbeats_late = self.heartbeats.labels("late")
        self.heartbeats_missed = self.heartbeats.labels("missed")
        self.setups = Counter(
            "bridgewatch_probe_setups",
            "Connection set-ups to site agents by result: ok or the error class.",
            ["result"],
            registry=registry,
        )
        self.setup_duration = Histogram(
            "bridgewatch_setup_duration_seconds",
            "Time to connect to an agent: signaling, ICE, DTLS and SCTP.",
            buckets=SETUP_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Histogram(
            "bridgewatch_event_loop_lag_seconds",
            "How late the engine's event loop runs a timer: the cost of anything blocking it.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.full_checks = Counter(
            "bridgewatch_full_checks",
            "Full checks of sites (data channel, media check, camera and microphone) by result.",
            ["result"],
            registry=registry,
        )
        self.dropped_events = Counter(
            "bridgewatch_dropped_events",
            "Events a slow subscriber lost (it resynchronises).",
            ["subscriber"],
            registry=registry,
        )


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


class SiteCollector(Collector):
    """Reads site snapshots and engine gauges at scrape time."""

    def __init__(
        self,
        snapshots: Callable[[], Iterable[SiteSnapshot]],
        gauges: Callable[[], dict[str, float]],
    ) -> None:
        self._snapshots = snapshots
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        sites = list(self._snapshots())
        info = InfoMetricFamily(
            "bridgewatch_site", "Site metadata, to join on `site`.", labels=["site"]
        )
        up = GaugeMetricFamily(
            "bridgewatch_site_up",
            "1 when the site answers (up or degraded), else 0.",
            labels=["site"],
        )
        status = GaugeMetricFamily(
            "bridgewatch_site_status", "1 for the site's current status.", labels=["site", "status"]
        )
        for site in sites:
            info.add_metric(
                [site.code], {"name": site.name, "level": site.level, "parent": site.parent}
            )
            answering = site.status in (SiteStatus.UP, SiteStatus.DEGRADED)
            up.add_metric([site.code], 1.0 if answering else 0.0)
            for state in SiteStatus:
                status.add_metric([site.code, state.value], 1.0 if state is site.status else 0.0)
        yield from (info, up, status)
        yield from self._figures(sites)
        for name, (help_text, value) in _engine_gauges(self._gauges()).items():
            yield GaugeMetricFamily(name, help_text, value=value)

    @staticmethod
    def _figures(sites: list[SiteSnapshot]) -> Iterator[Metric]:
        per_site: dict[str, tuple[str, Callable[[SiteSnapshot], float | None]]] = {
            "bridgewatch_site_status_since_timestamp_seconds": (
                "When the site entered its current status.",
                lambda s: _timestamp(s.since),
            ),
            "bridgewatch_site_last_seen_timestamp_seconds": (
                "The last answered heartbeat.",
                lambda s: _timestamp(s.last_seen_at),
            ),
            "bridgewatch_site_rtt_seconds": (
                "Median heartbeat round trip of the last window.",
                lambda s: s.figures.rtt_median_seconds if s.figures else None,
            ),
            "bridgewatch_site_rtt_p95_seconds": (
                "95th percentile heartbeat round trip of the last window.",
                lambda s: s.figures.rtt_p95_seconds if s.figures else None,
            ),
            "bridgewatch_site_jitter_seconds": (
                "Mean change between consecutive round trips in the last window.",
                lambda s: s.figures.jitter_seconds if s.figures else None,
            ),
            "bridgewatch_site_loss_ratio": (
                "Share of heartbeats missed in the last window.",
                lambda s: s.figures.loss_ratio if s.figures else None,
            ),
            "bridgewatch_site_mos": (
                "Estimated MOS (1-4.5, simplified ITU-T G.107 E-model) of the last window.",
                lambda s: s.figures.mos if s.figures else None,
            ),
            "bridgewatch_site_setup_duration_seconds": (
                "How long the last connection to the agent took to set up.",
                lambda s: s.setup_seconds,
            ),
            "bridgewatch_site_attendance": (
                "Delegates present, as the site's agent reports.",
                lambda s: s.attendance,
            ),
        }
        for name, (help_text, read) in per_site.items():
            family = GaugeMetricFamily(name, help_text, labels=["site"])
            for site in sites:
                value = read(site)
                if value is not None:
                    family.add_metric([site.code], float(value))
            yield family


def _engine_gauges(values: dict[str, float]) -> dict[str, tuple[str, float]]:
    helps = {
        "bridgewatch_recorder_queue_events": "Events waiting to be written to the database.",
        "bridgewatch_stream_subscribers": "Live-stream clients connected.",
        "bridgewatch_sites_monitored": "Sites the engine watches (enabled, with an agent).",
        "bridgewatch_monitor_workers": "Engines sharing the sites (scale-out; 1 on SQLite).",
    }
    return {name: (helps[name], value) for name, value in values.items() if name in helps}


class BuildInfo(Collector):
    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("bridgewatch_build", "Versions of BridgeWatch and what it runs on.")
        info.add_metric(
            [],
            {
                "version": version("bridgewatch"),
                "python_version": platform.python_version(),
                "aiortc_version": version("aiortc"),
            },
        )
        yield info
