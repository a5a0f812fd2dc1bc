"""A circuit breaker and a small TTL cache for remote order lookups (pure; clocks injected)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class CircuitBreaker:
    """Closed → open after ``failures`` consecutive failures; after ``reset_s`` one probe is let
    through (half-open): success closes it, failure opens it again."""

    def __init__(self, failures: int = 5, reset_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = failures
        self._reset = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a request go out now? (In half-open state, only one at a time.)"""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self._limit:
            self._opened_at = self._clock()
        self._probing = False


class TtlCache(Generic[V]):
    """At most ``size`` entries, each kept ``ttl_s`` (least recently used dropped first)."""

    def __init__(self, ttl_s: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_s
        self._size = size
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> tuple[bool, V | None]:
        entry = self._data.get(key)
        if entry is None or self._clock() - entry[0] > self._ttl:
            self._data.pop(key, None)
            return False, None
        self._data.move_to_end(key)
        return True, entry[1]

    def put(self, key: str, value: V) -> None:
        if self._ttl <= 0:
            return
        self._data[key] = (self._clock(), value)
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)
