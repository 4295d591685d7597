"""/metrics of notifications, by channel type: messages sent, given up, attempts failed (counted
by the process that made them) and messages waiting (read from the database)."""

from prometheus_client import CollectorRegistry, Counter, Gauge

from models.notification import ChannelType


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["channel_type"]
        self.sent = Counter(
            "bridgewatch_notifications_sent",
            "Notification messages delivered.",
            labels,
            registry=registry,
        )
        self.failed = Counter(
            "bridgewatch_notifications_failed",
            "Notification messages given up after the bound of attempts.",
            labels,
            registry=registry,
        )
        self.attempts_failed = Counter(
            "bridgewatch_notification_attempts_failed",
            "Delivery attempts that failed (each retried until the bound).",
            labels,
            registry=registry,
        )
        self.pending = Gauge(
            "bridgewatch_notifications_pending",
            "Notification messages waiting to be delivered (all processes).",
            labels,
            registry=registry,
        )
        for kind in ChannelType:  # every series from the start: rate() needs its zero
            for family in (self.sent, self.failed, self.attempts_failed, self.pending):
                family.labels(str(kind))
