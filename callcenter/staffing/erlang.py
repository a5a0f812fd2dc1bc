"""Erlang C staffing, pure functions (no I/O).

Model (M/M/N, infinite patience): calls arrive at rate λ (calls per second), each holds an agent
for an exponentially distributed time of mean AHT seconds, N agents serve one queue in order.

* traffic intensity ``A = λ · AHT`` (Erlangs)
* Erlang C, the probability that a call waits::

      P_w = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A))

  computed without factorials: Erlang B by its recurrence ``B(0) = 1``,
  ``B(k) = A·B(k−1) / (k + A·B(k−1))`` (every term in [0, 1], no overflow for N in the
  thousands), then ``P_w = N·B / (N − A·(1 − B))``.
* service level (share answered within T seconds) ``SL = 1 − P_w · e^{−(N−A)·T/AHT}``
* average speed of answer ``ASA = P_w · AHT / (N − A)`` seconds
* occupancy ``A / N``

``N ≤ A`` is unstable (the queue grows without bound): P_w 1, SL 0, ASA infinite.
See docs/staffing.md for a worked example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

# float noise guard for ceil(): 14 / (1 − 0.3) is 20.000000000000004, which must stay 20
_EPS = 1e-9
DEFAULT_MAX_AGENTS = 100_000


class StaffingError(ValueError):
    """Inputs the model cannot take (negative calls, a target outside (0, 1), …)."""


@dataclass(frozen=True)
class Staffing:
    """What one interval needs, and how it performs with that many agents."""

    agents: int
    traffic_erlangs: float
    wait_probability: float
    service_level: float
    asa_s: float
    occupancy: float
    scheduled_agents: int | None = None  # agents / (1 − shrinkage), rounded up; None without shrinkage


def traffic_intensity(calls_per_hour: float, aht_s: float) -> float:
    """Offered load in Erlangs: ``calls_per_hour / 3600 · aht_s``."""
    if calls_per_hour < 0 or not math.isfinite(calls_per_hour):
        raise StaffingError(f"calls per hour must be a finite number >= 0, not {calls_per_hour}")
    if aht_s <= 0 or not math.isfinite(aht_s):
        raise StaffingError(f"AHT must be a finite number of seconds > 0, not {aht_s}")
    return calls_per_hour * aht_s / 3600.0


def _check(traffic: float, agents: int) -> None:
    if traffic < 0 or not math.isfinite(traffic):
        raise StaffingError(f"traffic must be a finite number of Erlangs >= 0, not {traffic}")
    if agents < 0:
        raise StaffingError(f"agents must be >= 0, not {agents}")


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of ``agents`` servers offered ``traffic`` Erlangs (Erlang B)."""
    _check(traffic, agents)
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    return b


def _c_from_b(traffic: float, agents: int, b: float) -> float:
    if agents <= traffic:
        return 1.0
    return agents * b / (agents - traffic * (1.0 - b))


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a call waits (Erlang C); 1.0 when ``agents <= traffic`` (unstable)."""
    if traffic == 0:
        _check(traffic, agents)
        return 0.0 if agents > 0 else 1.0
    return _c_from_b(traffic, agents, erlang_b(traffic, agents))


def _sl_from_c(traffic: float, agents: int, p_wait: float, aht_s: float, target_s: float) -> float:
    if agents <= traffic:
        return 0.0
    return max(0.0, 1.0 - p_wait * math.exp(-(agents - traffic) * target_s / aht_s))


def _asa_from_c(traffic: float, agents: int, p_wait: float, aht_s: float) -> float:
    if agents <= traffic:
        return math.inf
    return p_wait * aht_s / (agents - traffic)


def _check_times(aht_s: float, target_s: float) -> None:
    if aht_s <= 0 or not math.isfinite(aht_s):
        raise StaffingError(f"AHT must be a finite number of seconds > 0, not {aht_s}")
    if target_s < 0 or not math.isfinite(target_s):
        raise StaffingError(f"target answer time must be a finite number of seconds >= 0, not {target_s}")


def service_level(traffic: float, agents: int, aht_s: float, target_s: float) -> float:
    """Share of calls answered within ``target_s`` seconds: ``1 − P_w·e^{−(N−A)·T/AHT}``."""
    _check_times(aht_s, target_s)
    return _sl_from_c(traffic, agents, erlang_c(traffic, agents), aht_s, target_s)


def average_speed_of_answer(traffic: float, agents: int, aht_s: float) -> float:
    """Mean wait in seconds over all calls, ``P_w·AHT/(N−A)``; infinite when ``N <= A``."""
    _check_times(aht_s, 0.0)
    return _asa_from_c(traffic, agents, erlang_c(traffic, agents), aht_s)


def occupancy(traffic: float, agents: int) -> float:
    """Share of the agents' time spent on calls, ``A/N`` (capped at 1)."""
    _check(traffic, agents)
    if agents == 0:
        return 1.0 if traffic > 0 else 0.0
    return min(1.0, traffic / agents)


def performance(traffic: float, agents: int, aht_s: float, target_s: float) -> Staffing:
    """How ``agents`` agents perform on ``traffic`` Erlangs."""
    _check_times(aht_s, target_s)
    p_wait = erlang_c(traffic, agents)
    return Staffing(
        agents=agents,
        traffic_erlangs=traffic,
        wait_probability=p_wait,
        service_level=1.0 if traffic == 0 else _sl_from_c(traffic, agents, p_wait, aht_s, target_s),
        asa_s=0.0 if traffic == 0 else _asa_from_c(traffic, agents, p_wait, aht_s),
        occupancy=occupancy(traffic, agents),
    )


def required_agents(traffic: float, aht_s: float, target_sl: float, target_s: float,
                    max_occupancy: float | None = None,
                    max_agents: int = DEFAULT_MAX_AGENTS) -> int:
    """The smallest N with service level >= ``target_sl`` (and occupancy <= ``max_occupancy``).

    0 when there is no traffic. One pass of the Erlang B recurrence: O(N).
    """
    _check(traffic, 0)
    _check_times(aht_s, target_s)
    if not 0 < target_sl < 1:
        raise StaffingError(f"target service level must be in (0, 1), not {target_sl}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise StaffingError(f"max occupancy must be in (0, 1], not {max_occupancy}")
    if traffic == 0:
        return 0
    floor_n = 1
    if max_occupancy is not None:
        floor_n = max(1, math.ceil(traffic / max_occupancy - _EPS))
    b = 1.0
    for n in range(1, max_agents + 1):
        b = traffic * b / (n + traffic * b)
        if n <= traffic or n < floor_n:
            continue
        p_wait = _c_from_b(traffic, n, b)
        if _sl_from_c(traffic, n, p_wait, aht_s, target_s) >= target_sl:
            return n
    raise StaffingError(f"more than {max_agents} agents needed for {traffic:.1f} Erlangs")


def scheduled_agents(agents: int, shrinkage: float) -> int:
    """Agents to schedule so ``agents`` are on the phones: ``ceil(agents / (1 − shrinkage))``."""
    if not 0 <= shrinkage < 1:
        raise StaffingError(f"shrinkage must be in [0, 1), not {shrinkage}")
    return math.ceil(agents / (1.0 - shrinkage) - _EPS)


def staff_interval(calls_per_hour: float, aht_s: float, target_sl: float, target_s: float,
                   shrinkage: float | None = None,
                   max_occupancy: float | None = None) -> Staffing:
    """Agents needed for an interval with ``calls_per_hour`` arrivals, and how they perform."""
    traffic = traffic_intensity(calls_per_hour, aht_s)
    n = required_agents(traffic, aht_s, target_sl, target_s, max_occupancy)
    result = performance(traffic, n, aht_s, target_s)
    if shrinkage is None:
        return result
    return replace(result, scheduled_agents=scheduled_agents(n, shrinkage))
