"""Live speech on ``/metrics``: the counters of the receiver, the service, the relay and the
supervisors' feed, read from their statistics at each scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

_COUNTERS = (  # (name, help, where in the statistics)
    ("callcenter_live_segments", "Utterances cut from live streams and stored", ("segments",)),
    ("callcenter_live_write_failures", "Live speech writes or spy actions that failed (logged by type)",
     ("write_failures",)),
    ("callcenter_live_relay_delivered", "Live utterances pushed to the screens", ("relay", "delivered")),
    ("callcenter_live_relay_failures", "Times the live relay lost the database (the screens waited)",
     ("relay", "failures")),
    ("callcenter_live_feeds_lagged", "Supervisors' live feeds closed as too far behind (they reconnect)",
     ("board", "lagged")),
    ("callcenter_live_gave_up", "Calls whose live stream dropped too often (followed from recordings)",
     ("gave_up",)),
    ("callcenter_live_transcripts_stored", "Live transcripts stored as the call's at hang-up",
     ("transcripts_stored",)),
)


def _at(statistics: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = statistics
    for key in path:
        value = value[key]
    return float(value)


class LiveCollector(Collector):
    def __init__(self, statistics: Callable[[], dict[str, Any]]) -> None:
        self._statistics = statistics

    def collect(self) -> Iterator[Metric]:
        stats = self._statistics()
        for name, text, path in _COUNTERS:
            yield CounterMetricFamily(name, text, value=_at(stats, path))
        rejected = CounterMetricFamily("callcenter_live_streams_rejected",
                                       "AudioSocket connections closed for bad input, by reason",
                                       labels=["reason"])
        for reason, count in sorted(stats["receiver"]["rejected"].items()):
            rejected.add_metric([reason], float(count))
        yield rejected
        yield GaugeMetricFamily("callcenter_live_streams_open", "AudioSocket streams being received",
                                value=float(stats["receiver"]["open"]))
