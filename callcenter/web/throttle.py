"""Failed log-ins counted per client address and per login, checked before the password hash."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence


class LoginThrottle:
    """At most ``max_failures`` failed log-ins per key (address, login) within ``window_s``.

    :meth:`begin` checks and counts an attempt in one step, before the slow password hash, so
    parallel guesses cannot all pass the check while the first ones are still being hashed.
    A good password then takes its own attempt back (:meth:`succeeded`) without forgiving the
    address's earlier failures: an attacker cannot reset their counter with their own login.
    """

    def __init__(self, max_failures: int = 5, window_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_failures
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        now = self._clock()
        wait = 0.0
        for key in keys:
            times = self._failures.get(key)
            if not times:
                continue
            while times and now - times[0] > self._window:
                times.popleft()
            if len(times) >= self._max:
                wait = max(wait, self._window - (now - times[0]))
        return wait

    def begin(self, keys: Sequence[str]) -> tuple[float, float]:
        """Check and count one attempt atomically (no await in between).

        Returns ``(wait, ticket)``: ``wait`` > 0 means refused (nothing counted); else the
        attempt is counted as a failure until :meth:`succeeded` is called with ``ticket``.
        """
        wait = self.retry_after(keys)
        if wait > 0:
            return wait, 0.0
        now = self._clock()
        self.failed(keys, now)
        return 0.0, now

    def failed(self, keys: Iterable[str], at: float | None = None) -> None:
        now = self._clock() if at is None else at
        for key in keys:
            self._failures[key].append(now)
        if len(self._failures) > 10_000:
            self._failures = defaultdict(deque, {k: v for k, v in self._failures.items()
                                                 if v and now - v[-1] <= self._window})

    def succeeded(self, keys: Iterable[str], ticket: float, forgive: Iterable[str] = ()) -> None:
        """The attempt counted by :meth:`begin` (``ticket``) was right: take it back from each of
        ``keys``; the keys in ``forgive`` (the account itself) lose all their failures."""
        for key in keys:
            times = self._failures.get(key)
            if times is not None:
                with contextlib.suppress(ValueError):
                    times.remove(ticket)
        for key in forgive:
            self._failures.pop(key, None)
