"""Who takes what: the best agent for a call and the best call for an agent.

Two matchers answer the same two questions with the same rules (:mod:`callcenter.routing.state`):

- :class:`ScanMatcher` scans every agent or every waiting call: the reference, obviously right,
  O(agents) / O(calls) per question.
- :class:`IndexedMatcher` keeps heaps of ready agents per (skill, level, language), ordered by
  the skill's strategy, and heaps of waiting calls per (skill, minimum level, language), ordered
  by (held, -priority, enqueued_at, seq): a question costs a few heap peeks.

Entries are never removed eagerly: an entry carries the record's generation and is dropped when
it surfaces stale (lazy deletion). Each heap counts its live entries and is compacted when stale
ones outnumber them, so memory stays proportional to what is live.
"""

from __future__ import annotations

import heapq
from typing import Generic, Protocol, TypeVar

from callcenter.agents.model import MAX_LEVEL
from callcenter.routing.book import Book
from callcenter.routing.policy import Strategy
from callcenter.routing.state import (
    ANY_LANGUAGE,
    AgentRec,
    CallKey,
    CallRec,
    CallStatus,
    Target,
    accepts,
    eligible,
    strategy_key,
)


class Matcher(Protocol):
    def agent_ready(self, agent: AgentRec) -> None:
        """``agent`` became offerable (its ``gen`` was bumped)."""

    def agent_left(self, agent: AgentRec) -> None:
        """``agent`` is no longer offerable."""

    def call_waiting(self, call: CallRec) -> None:
        """``call`` (re)entered the queue (its ``gen`` was bumped); index all its targets."""

    def call_targets_added(self, call: CallRec, targets: list[Target]) -> None:
        """A waiting call's step relaxed: it may now also go to ``targets``."""

    def call_left(self, call: CallRec) -> None:
        """``call`` left the queue (offered, answered, abandoned)."""

    def best_agent(self, call: CallRec) -> AgentRec | None: ...

    def best_call(self, agent: AgentRec) -> CallRec | None: ...

    def rebuild(self) -> None:
        """The policy changed: index everything again."""


def _rank(strategy: Strategy, agent: AgentRec, skill: str) -> tuple[float, ...]:
    key = strategy_key(strategy, agent)
    if strategy is Strategy.BEST_SKILL:
        return (-agent.profile.skills.get(skill, 0), *key)
    return key


class ScanMatcher:
    """The naive reference: scans everything, every time."""

    def __init__(self, book: Book) -> None:
        self._book = book

    def agent_ready(self, agent: AgentRec) -> None:
        pass

    def agent_left(self, agent: AgentRec) -> None:
        pass

    def call_waiting(self, call: CallRec) -> None:
        pass

    def call_targets_added(self, call: CallRec, targets: list[Target]) -> None:
        pass

    def call_left(self, call: CallRec) -> None:
        pass

    def rebuild(self) -> None:
        pass

    def best_agent(self, call: CallRec) -> AgentRec | None:
        if call.held_for is not None:
            owner = self._book.agents.get(call.held_for)
            return owner if owner is not None and owner.offerable else None
        for target in call.targets:
            strategy = self._book.strategy_of(target.skill)
            best: AgentRec | None = None
            best_rank: tuple[float, ...] = ()
            for agent in self._book.agents.values():
                if agent.offerable and accepts(target, agent.profile):
                    rank = _rank(strategy, agent, target.skill)
                    if best is None or rank < best_rank:
                        best, best_rank = agent, rank
            if best is not None:
                return best
        return None

    def best_call(self, agent: AgentRec) -> CallRec | None:
        best: CallRec | None = None
        for call in self._book.waiting.values():
            if eligible(call, agent) and (best is None or call.key < best.key):
                best = call
        return best


# (strategy key, agent order, agent gen)
_AgentEntry = tuple[tuple[float, ...], int, int]
# (call key, call gen)
_CallEntry = tuple[CallKey, int]


E = TypeVar("E", _AgentEntry, _CallEntry)


class _Heap(Generic[E]):
    """A heap with lazy deletion and a count of its live entries."""

    __slots__ = ("items", "live")

    def __init__(self) -> None:
        self.items: list[E] = []
        self.live = 0


class IndexedMatcher:
    """Heaps per (skill, level, language) for ready agents and waiting calls."""

    def __init__(self, book: Book) -> None:
        self._book = book
        # agents: skill -> level -> language -> heap
        self._agents: dict[str, dict[int, dict[str, _Heap[_AgentEntry]]]] = {}
        # calls: skill -> (min_level, language) -> heap
        self._calls: dict[str, dict[tuple[int, str], _Heap[_CallEntry]]] = {}
        # held (sticky) calls: agent id -> heap
        self._held: dict[str, _Heap[_CallEntry]] = {}
        self._agent_slots: dict[int, list[_Heap[_AgentEntry]]] = {}  # agent order -> heaps counting it live
        self._call_slots: dict[int, list[_Heap[_CallEntry]]] = {}  # call seq -> heaps counting it live

    # --- agents ------------------------------------------------------------------------------

    def agent_ready(self, agent: AgentRec) -> None:
        self.agent_left(agent)
        slots: list[_Heap[_AgentEntry]] = []
        languages = (*agent.profile.languages, ANY_LANGUAGE)
        for skill, level in agent.profile.skills.items():
            entry: _AgentEntry = (strategy_key(self._book.strategy_of(skill), agent), agent.order,
                                  agent.gen)
            by_lang = self._agents.setdefault(skill, {}).setdefault(level, {})
            for language in languages:
                heap = by_lang.get(language)
                if heap is None:
                    heap = by_lang[language] = _Heap[_AgentEntry]()
                heapq.heappush(heap.items, entry)
                heap.live += 1
                slots.append(heap)
        self._agent_slots[agent.order] = slots

    def agent_left(self, agent: AgentRec) -> None:
        slots = self._agent_slots.pop(agent.order, None)
        if slots is None:
            return
        for heap in slots:
            heap.live -= 1
            if len(heap.items) > 2 * heap.live + 32:
                self._compact_agents(heap)

    def _agent_valid(self, entry: _AgentEntry) -> bool:
        agent = self._book.by_order[entry[1]]
        return agent is not None and agent.gen == entry[2] and agent.offerable

    def _compact_agents(self, heap: _Heap[_AgentEntry]) -> None:
        items = [e for e in heap.items if self._agent_valid(e)]
        heapq.heapify(items)
        heap.items = items

    def _top_agent(self, heap: _Heap[_AgentEntry] | None) -> _AgentEntry | None:
        if heap is None:
            return None
        items: list[_AgentEntry] = heap.items
        while items:
            entry = items[0]
            if self._agent_valid(entry):
                return entry
            heapq.heappop(items)
        return None

    def best_agent(self, call: CallRec) -> AgentRec | None:
        book = self._book
        if call.held_for is not None:
            owner = book.agents.get(call.held_for)
            return owner if owner is not None and owner.offerable else None
        for target in call.targets:
            by_level = self._agents.get(target.skill)
            if not by_level:
                continue
            if book.strategy_of(target.skill) is Strategy.BEST_SKILL:
                for level in range(MAX_LEVEL, target.min_level - 1, -1):
                    by_lang = by_level.get(level)
                    if by_lang is None:
                        continue
                    entry = self._top_agent(by_lang.get(target.language))
                    if entry is not None:
                        return book.by_order[entry[1]]
                continue
            best: _AgentEntry | None = None
            for level in range(target.min_level, MAX_LEVEL + 1):
                by_lang = by_level.get(level)
                if by_lang is None:
                    continue
                entry = self._top_agent(by_lang.get(target.language))
                if entry is not None and (best is None or entry < best):
                    best = entry
            if best is not None:
                return book.by_order[best[1]]
        return None

    # --- calls -------------------------------------------------------------------------------

    def call_waiting(self, call: CallRec) -> None:
        self.call_left(call)
        self._call_slots[call.seq] = []
        if call.held_for is not None:
            heap = self._held.get(call.held_for)
            if heap is None:
                heap = self._held[call.held_for] = _Heap[_CallEntry]()
            self._push_call(heap, call)
            return
        self.call_targets_added(call, call.targets)

    def call_targets_added(self, call: CallRec, targets: list[Target]) -> None:
        if call.held_for is not None:
            return  # indexed when released
        for target in targets:
            by_key = self._calls.setdefault(target.skill, {})
            heap = by_key.get((target.min_level, target.language))
            if heap is None:
                heap = by_key[(target.min_level, target.language)] = _Heap[_CallEntry]()
            self._push_call(heap, call)

    def _push_call(self, heap: _Heap[_CallEntry], call: CallRec) -> None:
        heapq.heappush(heap.items, (call.key, call.gen))
        heap.live += 1
        self._call_slots.setdefault(call.seq, []).append(heap)

    def call_left(self, call: CallRec) -> None:
        slots = self._call_slots.pop(call.seq, None)
        if slots is None:
            return
        for heap in slots:
            heap.live -= 1
            if len(heap.items) > 2 * heap.live + 32:
                items = [e for e in heap.items if self._call_valid(e)]
                heapq.heapify(items)
                heap.items = items

    def _call_valid(self, entry: _CallEntry) -> bool:
        call = self._book.by_seq.get(entry[0][3])
        return call is not None and call.gen == entry[1] and call.status is CallStatus.WAITING \
            and (call.held_for is None) == (entry[0][0] == 1)

    def _top_call(self, heap: _Heap[_CallEntry]) -> CallRec | None:
        items: list[_CallEntry] = heap.items
        by_seq = self._book.by_seq
        while items:
            key, gen = items[0]
            call = by_seq.get(key[3])
            if call is not None and call.gen == gen and call.status is CallStatus.WAITING \
                    and (call.held_for is None) == (key[0] == 1):
                return call
            heapq.heappop(items)
        return None

    def best_call(self, agent: AgentRec) -> CallRec | None:
        held = self._held.get(agent.agent_id)
        if held is not None:
            call = self._top_call(held)
            if call is not None and call.held_for == agent.agent_id:
                return call
            if not held.items:
                del self._held[agent.agent_id]
        best: CallRec | None = None
        languages = agent.profile.languages
        for skill, level in agent.profile.skills.items():
            by_key = self._calls.get(skill)
            if not by_key:
                continue
            for (min_level, language), heap in by_key.items():
                if min_level > level or (language != ANY_LANGUAGE and language not in languages):
                    continue
                call = self._top_call(heap)
                if call is not None and (best is None or call.key < best.key):
                    best = call
        return best

    # --- policy reload -----------------------------------------------------------------------

    def rebuild(self) -> None:
        self._agents.clear()
        self._calls.clear()
        self._held.clear()
        self._agent_slots.clear()
        self._call_slots.clear()
        for agent in self._book.agents.values():
            if agent.offerable:
                self.agent_ready(agent)
        for call in self._book.waiting.values():
            self.call_waiting(call)
