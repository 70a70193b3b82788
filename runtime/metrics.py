"""Prometheus metrics of the runtime, in their own registry (a test can build as many runtimes as it likes)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.changes_seen = Counter(
            "presence_sync_changes_seen", "State changes seen on a feed (not our echoes).", ["side"], registry=r
        )
        self.writes = Counter(
            "presence_sync_writes", "Writes made to a side (CXone state / Omni command).", ["side"], registry=r
        )
        self.echoes_suppressed = Counter(
            "presence_sync_echoes_suppressed", "Changes recognised as our own writes coming back.", ["side"], registry=r
        )
        self.latency = Histogram(
            "presence_sync_end_to_end_seconds",
            "From a change on one side to the write on the other side.",
            ["direction"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.feed_lag = Gauge(
            "presence_sync_feed_lag_seconds", "Age of the newest change when its feed read it.", ["feed"], registry=r
        )
        self.feed_last_success = Gauge(
            "presence_sync_feed_last_success_timestamp",
            "When the feed last read successfully (unix time).",
            ["feed"],
            registry=r,
        )
        self.errors = Counter(
            "presence_sync_errors", "Vendor errors by vendor and kind.", ["vendor", "kind"], registry=r
        )
        self.salesforce_polling = Gauge(
            "presence_sync_salesforce_polling",
            "1 while Salesforce presence is polled (salesforce_feed: poll, or the stream refused with the fallback).",
            registry=r,
        )
        self.salesforce_resyncs = Counter(
            "presence_sync_salesforce_resyncs",
            "Full resyncs of Salesforce presence: the change stream's position was refused or unknown.",
            registry=r,
        )
        self.outbox = Gauge("presence_sync_outbox_pending", "Writes decided but not yet made.", registry=r)
        self.circuit_open = Gauge(
            "presence_sync_circuit_open", "1 while a vendor's circuit is open.", ["vendor"], registry=r
        )
        self.unmatched_agents = Gauge(
            "presence_sync_unmatched_agents", "Agents that match no Salesforce user.", registry=r
        )
