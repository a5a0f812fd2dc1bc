"""The router's timers: step relaxations, sticky holds, ring guards, wrap-ups and their limits. Cancelled
lazily: a timer carries the generation of what it is about and is ignored when that moved on."""

from __future__ import annotations

import heapq
from enum import IntEnum


class TimerKind(IntEnum):
    STEP = 0  # ref: call seq, gen: the call's step generation
    HOLD_END = 1  # ref: call seq
    RING_GUARD = 2  # ref: call seq, gen: offer id
    WRAP_END = 3  # ref: agent order, gen: wrap generation
    CALLBACK_RETRY = 4  # ref: call seq, gen: the callback's attempts so far
    WRAP_LIMIT = 5  # ref: agent order, gen: wrap generation (the policy's wrap_up_max_s)


Timer = tuple[float, int, TimerKind, int, int]  # (due, seq, kind, ref, gen)


class TimerQueue:
    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = 0

    def add(self, due: float, kind: TimerKind, ref: int, gen: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, kind, ref, gen))

    def pop_due(self, until: float) -> Timer | None:
        if self._heap and self._heap[0][0] <= until:
            return heapq.heappop(self._heap)
        return None

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
