"""The router's state and the moves every event is made of: time and timers, settling (offering
waiting calls to ready agents), agent states, the queue. :class:`~callcenter.routing.router.Router`
adds the event handlers and the public queries on top; nothing here is called from outside.
"""

from __future__ import annotations

import heapq

from callcenter.agents.model import AgentProfile, AgentState
from callcenter.agents.pause_reasons import AFTER_CALL_WORK
from callcenter.routing.book import Book
from callcenter.routing.decisions import (
    AgentStateChanged,
    CancelOffer,
    Decision,
    DialCallback,
    Offer,
    OfferCallback,
)
from callcenter.routing.errors import UnknownRoutingAgent
from callcenter.routing.events import CallRequest
from callcenter.routing.matching import IndexedMatcher, Matcher, ScanMatcher
from callcenter.routing.policy import RoutingPolicy, SkillPolicy, default_policy
from callcenter.routing.state import AgentRec, CallKey, CallRec, CallStatus, Target, targets_for
from callcenter.routing.stats import RoutingStats
from callcenter.routing.timers import TimerKind, TimerQueue

IN_QUEUE = (CallStatus.WAITING, CallStatus.OFFERED)
STEPPING = (CallStatus.WAITING, CallStatus.OFFERED, CallStatus.RETRY)


class RouterCore:
    """State and shared moves of the router (see :class:`~callcenter.routing.router.Router`)."""

    def __init__(self, policy: RoutingPolicy | None, matcher: str, start: float) -> None:
        self.book = Book(policy or default_policy())
        if matcher == "indexed":
            self._matcher: Matcher = IndexedMatcher(self.book)
        elif matcher == "scan":
            self._matcher = ScanMatcher(self.book)
        else:
            raise ValueError(f"matcher must be 'indexed' or 'scan', not {matcher!r}")
        self.now = start
        self._timers = TimerQueue()
        self._stats = RoutingStats(self._in_queue)
        self._out: list[Decision] = []
        self._dirty_calls: dict[int, CallRec] = {}
        self._dirty_agents: dict[int, AgentRec] = {}
        self._held: dict[str, set[int]] = {}  # agent id -> seqs of calls held for them
        self._callbacks: dict[int, CallRec] = {}  # seq -> live callback entries
        self._suspended = False
        self._call_seq = 0
        self._offer_seq = 0

    # --- time --------------------------------------------------------------------------------

    def _advance(self, at: float) -> None:
        at = max(at, self.now)
        while True:
            timer = self._timers.pop_due(at)
            if timer is None:
                break
            due, _, kind, ref, gen = timer
            self.now = max(self.now, due)
            self._fire(kind, ref, gen)
            self._settle()
        self.now = at

    def _fire(self, kind: TimerKind, ref: int, gen: int) -> None:
        if kind in (TimerKind.WRAP_END, TimerKind.WRAP_LIMIT):
            agent = self.book.by_order[ref] if ref < len(self.book.by_order) else None
            if agent is not None and agent.state is AgentState.WRAP_UP and agent.wrap_gen == gen:
                self._after_work(agent)
            elif agent is not None and kind is TimerKind.WRAP_LIMIT and agent.extended_gen == gen \
                    and agent.state is AgentState.PAUSED and agent.reason == AFTER_CALL_WORK:
                agent.extended_gen = -1  # "More time" ran out: free again
                self._after_work(agent)
            return
        call = self.book.by_seq.get(ref)
        if call is None:
            return
        if kind is TimerKind.STEP:
            if call.step_gen == gen and call.status in STEPPING:
                self._relax(call)
        elif kind is TimerKind.CALLBACK_RETRY:
            if call.status is CallStatus.RETRY and call.callback is not None \
                    and call.callback.attempts == gen:
                self._enqueue(call)
        elif kind is TimerKind.HOLD_END:
            if call.held_for is not None:
                self._release(call)
        elif kind is TimerKind.RING_GUARD and call.status is CallStatus.OFFERED \
                and call.offer_id == gen and call.agent is not None:
            self._emit(CancelOffer(call.call_id, call.agent.agent_id, call.offer_id, "no_response",
                                   self.now))
            self._offer_failed(call, "no_answer")

    # --- settling ----------------------------------------------------------------------------

    def _settle(self) -> None:
        """Offer calls to agents until no ready agent may take a waiting call (greedy, calls in
        key order; only dirty calls and agents can form new pairs)."""
        if self._suspended:
            self._dirty_calls.clear()
            self._dirty_agents.clear()
            return
        if not self._dirty_calls and not self._dirty_agents:
            return
        heap = self._seed_heap()
        while heap:
            key, kind, ref = heapq.heappop(heap)
            call = self._pick(heap, key, kind, ref)
            if call is None:
                continue
            taker = self._matcher.best_agent(call)
            if taker is None:
                continue
            self._offer(call, taker)
            if kind == 1 and taker.order != ref:
                self._seek_again(heap, ref)

    def _seed_heap(self) -> list[tuple[CallKey, int, int]]:
        """(call key, 0 call / 1 agent, seq or order) for every dirty call or agent that may pair."""
        heap: list[tuple[CallKey, int, int]] = []
        for call in self._dirty_calls.values():
            if call.status is CallStatus.WAITING and self._matcher.best_agent(call) is not None:
                heap.append((call.key, 0, call.seq))
        for agent in self._dirty_agents.values():
            if agent.offerable:
                best = self._matcher.best_call(agent)
                if best is not None:
                    heap.append((best.key, 1, agent.order))
        self._dirty_calls.clear()
        self._dirty_agents.clear()
        heapq.heapify(heap)
        return heap

    def _pick(self, heap: list[tuple[CallKey, int, int]], key: CallKey, kind: int, ref: int
              ) -> CallRec | None:
        """The call a heap entry still stands for (an agent's entry moves to their new best call)."""
        if kind == 0:
            found = self.book.by_seq.get(ref)
            if found is None or found.status is not CallStatus.WAITING or found.key != key:
                return None
            return found
        seeker = self.book.by_order[ref]
        if seeker is None or not seeker.offerable:
            return None
        best = self._matcher.best_call(seeker)
        if best is not None and best.key != key:
            heapq.heappush(heap, (best.key, 1, ref))
            return None
        return best

    def _seek_again(self, heap: list[tuple[CallKey, int, int]], ref: int) -> None:
        again = self.book.by_order[ref]
        if again is not None and again.offerable:
            best = self._matcher.best_call(again)
            if best is not None:
                heapq.heappush(heap, (best.key, 1, ref))

    def _mark_all_dirty(self) -> None:
        for call in self.book.waiting.values():
            self._dirty_calls[call.seq] = call
        for agent in self.book.agents.values():
            if agent.offerable:
                self._dirty_agents[agent.order] = agent

    # --- agents ------------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> AgentRec:
        agent = self.book.agents.get(agent_id)
        if agent is None:
            raise UnknownRoutingAgent(f"unknown agent {agent_id!r}")
        return agent

    def _add_agent(self, profile: AgentProfile) -> AgentRec:
        agent = AgentRec(profile, len(self.book.by_order), since=self.now)
        self.book.agents[profile.agent_id] = agent
        self.book.by_order.append(agent)
        self.book.profiles_version += 1
        self._stats.agent_added(profile, self.now)
        return agent

    def _set_state(self, agent: AgentRec, state: AgentState, reason: str = "",
                   keep_idle: bool = False) -> None:
        previous, previous_reason = agent.state, agent.reason
        if state is previous and reason == previous_reason:
            return
        was_offerable = agent.offerable
        self._stats.agent_state(agent.profile, state, self.now)
        agent.state, agent.reason, agent.since = state, reason, self.now
        if was_offerable and not agent.offerable:
            self._matcher.agent_left(agent)
        if state is AgentState.READY and previous is not AgentState.READY:
            if not keep_idle:
                agent.idle_since = self.now
            self._enter_index(agent)
        if state is AgentState.OFFLINE:
            self._release_held_for(agent.agent_id)
        self._emit(AgentStateChanged(agent.agent_id, state, reason, previous, previous_reason,
                                     agent.reachable,
                                     agent.call.call_id if agent.call is not None else None,
                                     self.now))

    def _enter_index(self, agent: AgentRec) -> None:
        if not agent.offerable:
            return
        agent.occupancy_key = self._stats.occupancy(agent.agent_id, self.now)
        agent.gen += 1
        self._matcher.agent_ready(agent)
        self._dirty_agents[agent.order] = agent

    def _after_work(self, agent: AgentRec, keep_idle: bool = False) -> None:
        """The agent is free again: what they asked for mid-call, else ready."""
        pending, agent.after_call = agent.after_call, None
        if pending is not None:
            self._set_state(agent, pending[0], pending[1])
        else:
            self._set_state(agent, AgentState.READY, keep_idle=keep_idle)

    def _emit_reachability(self, agent: AgentRec) -> None:
        self._emit(AgentStateChanged(agent.agent_id, agent.state, agent.reason, agent.state,
                                     agent.reason, agent.reachable,
                                     agent.call.call_id if agent.call is not None else None,
                                     self.now))

    # --- calls -------------------------------------------------------------------------------

    def _in_queue(self, seq: int) -> bool:
        """A caller on the line waiting or ringing (callback entries are counted apart)."""
        call = self.book.by_seq.get(seq)
        return call is not None and call.status in IN_QUEUE and call.callback is None

    def _register(self, request: CallRequest, enqueued_at: float) -> CallRec:
        """A new live call record (not yet queued)."""
        policy = self.book.policy.for_skill(request.skill)
        self._call_seq += 1
        priority = self.book.policy.priority.score(request.priority, request.tags,
                                                   request.order_value)
        call = CallRec(request, policy, self._call_seq, priority, enqueued_at)
        self.book.calls[request.call_id] = call
        self.book.by_seq[call.seq] = call
        return call

    def _activate_steps(self, call: CallRec, announce: bool) -> list[Target]:
        """Apply every step due by now; schedule the next; returns the targets added."""
        steps = call.policy.steps
        start = call.active
        while call.active < len(steps) and call.enqueued_at + steps[call.active].after_s <= self.now:
            call.active += 1
        if call.active == start:
            return []
        before = call.targets
        call.targets = targets_for(call)
        if any(step.offer_callback for step in steps[start:call.active]):
            call.callback_due = True
        if announce:
            self._announce_callback(call)
        if call.active < len(steps):
            self._timers.add(call.enqueued_at + steps[call.active].after_s, TimerKind.STEP,
                             call.seq, call.step_gen)
        return [t for t in call.targets if t not in before]

    def _announce_callback(self, call: CallRec) -> None:
        if call.callback_due and not call.callback_offered:
            call.callback_offered = True
            self._emit(OfferCallback(call.call_id, call.request.skill, self.now - call.enqueued_at,
                                     self.now))

    def _relax(self, call: CallRec) -> None:
        added = self._activate_steps(call, announce=call.status is CallStatus.WAITING)
        if added and call.status is CallStatus.WAITING:
            self._matcher.call_targets_added(call, added)
            self._dirty_calls[call.seq] = call

    def _enqueue(self, call: CallRec) -> None:
        call.status = CallStatus.WAITING
        call.agent = None
        call.gen += 1
        self.book.waiting[call.seq] = call
        self._matcher.call_waiting(call)
        self._dirty_calls[call.seq] = call

    def _requeue(self, call: CallRec) -> None:
        self._enqueue(call)
        self._announce_callback(call)

    def _release(self, call: CallRec) -> None:
        """The sticky hold ended: anyone the steps allow may take the call now."""
        held = self._held.get(call.held_for or "")
        if held is not None:
            held.discard(call.seq)
        call.held_for = None
        call.key = call.make_key()
        if call.status is CallStatus.WAITING:
            self._matcher.call_left(call)
            self._enqueue(call)

    def _release_held_for(self, agent_id: str) -> None:
        for seq in sorted(self._held.pop(agent_id, ())):
            call = self.book.by_seq.get(seq)
            if call is not None and call.held_for == agent_id:
                self._release(call)

    def _leave_queue(self, call: CallRec) -> None:
        if call.status is CallStatus.WAITING:
            del self.book.waiting[call.seq]
            self._matcher.call_left(call)

    def _done(self, call: CallRec) -> None:
        self._leave_queue(call)
        call.status = CallStatus.DONE
        if call.held_for is not None:
            held = self._held.get(call.held_for)
            if held is not None:
                held.discard(call.seq)
        del self.book.calls[call.call_id]
        del self.book.by_seq[call.seq]
        self._callbacks.pop(call.seq, None)

    def _offer(self, call: CallRec, agent: AgentRec) -> None:
        self._leave_queue(call)
        self._offer_seq += 1
        call.status = CallStatus.OFFERED
        call.agent = agent
        call.offer_id = self._offer_seq
        call.offered_at = self.now
        agent.call = call
        agent.last_offer_seq = self._offer_seq
        self._set_state(agent, AgentState.OFFERED)
        policy = call.policy
        self._emit(self._offer_decision(call, agent))
        self._timers.add(self.now + policy.ring_timeout_s + self.book.policy.offer_grace_s,
                         TimerKind.RING_GUARD, call.seq, call.offer_id)

    def _offer_decision(self, call: CallRec, agent: AgentRec) -> Decision:
        """Ring the agent into the caller's bridge, or, for a callback, ring the agent first."""
        policy, entry = call.policy, call.callback
        if entry is not None:
            return DialCallback(call.call_id, agent.agent_id, call.offer_id,
                                agent.profile.dial_string, entry.number, entry.attempts + 1,
                                call.request.skill, policy.ring_timeout_s, policy.callback_ring_s,
                                self.now)
        return Offer(call.call_id, agent.agent_id, call.offer_id, agent.profile.dial_string,
                     call.request.skill, policy.ring_timeout_s, self.now)

    def _offer_failed(self, call: CallRec, result: str) -> None:
        agent = call.agent
        assert agent is not None
        agent.call = None
        self._requeue(call)
        if result == "not_sent":
            self._after_work(agent, keep_idle=True)
            return
        if result == "no_answer":
            self._stats.offer_missed(agent.agent_id)
        if result == "unavailable" and agent.reachable:
            agent.reachable = False
        if agent.after_call is not None:
            self._after_work(agent)
            return
        reaction = call.policy.reaction(result)
        # ready: back of the line, idle from now (an unreachable phone keeps them from offers)
        self._set_state(agent, reaction.state, reaction.reason)
        if reaction.state is AgentState.READY and not agent.reachable and agent.state is AgentState.READY:
            self._emit_reachability(agent)

    def _talk_ended(self, call: CallRec) -> None:
        agent = call.agent
        self._done(call)
        if agent is None:
            return
        agent.call = None
        self._wrap_up(agent, call.policy)

    def _wrap_up(self, agent: AgentRec, policy: SkillPolicy) -> None:
        """A talk of ``agent`` ended: wrap-up for the skill's time (none: free at once)."""
        wrap_up_s = policy.wrap_up_s
        if wrap_up_s <= 0:
            self._after_work(agent)
            return
        agent.wrap_gen += 1
        self._timers.add(self.now + wrap_up_s, TimerKind.WRAP_END, agent.order, agent.wrap_gen)
        if policy.wrap_up_max_s > 0:
            self._timers.add(self.now + max(wrap_up_s, policy.wrap_up_max_s), TimerKind.WRAP_LIMIT,
                             agent.order, agent.wrap_gen)
        self._set_state(agent, AgentState.WRAP_UP)

    def _emit(self, decision: Decision) -> None:
        self._out.append(decision)
