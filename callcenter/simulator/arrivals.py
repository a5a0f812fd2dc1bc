"""When scripted callers arrive: fixed times or a Poisson process (pure)."""

from __future__ import annotations

import random

from callcenter.simulator.scenario import Arrival


def arrival_times(arrival: Arrival, rng: random.Random) -> list[float]:
    """Simulated seconds from the scenario's start at which this caller's calls arrive."""
    if arrival.rate_per_min <= 0:
        return sorted(arrival.at_s)
    source = random.Random(arrival.seed) if arrival.seed is not None else rng
    rate_per_s = arrival.rate_per_min / 60.0
    times: list[float] = []
    t = source.expovariate(rate_per_s)
    while t <= arrival.duration_s:
        times.append(round(t, 3))
        t += source.expovariate(rate_per_s)
    return times
