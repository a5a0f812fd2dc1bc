"""Prometheus metrics, one registry per server instance (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The server's metrics; ``render()`` gives the Prometheus text for ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ami_events = Counter("callcenter_ami_events", "AMI events received", registry=r)
        self.ami_bad_frames = Counter("callcenter_ami_bad_frames", "AMI frames skipped as malformed",
                                      registry=r)
        self.ami_reconnects = Counter("callcenter_ami_reconnects", "AMI reconnect attempts",
                                      registry=r)
        self.ami_link_up = Gauge("callcenter_ami_link_up", "1 when the AMI link is logged in",
                                 registry=r)
        self.ami_action_latency = Histogram(
            "callcenter_ami_action_latency_seconds", "Time from sending an AMI action to its response",
            ["action"], registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.live_calls = Gauge("callcenter_live_calls", "Calls not yet ended", registry=r)
        self.db_up = Gauge("callcenter_database_up", "1 when the database answers", registry=r)
        self.events_pending = Gauge("callcenter_event_log_pending",
                                    "AMI events waiting to be written to the event log", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
