"""The router: a pure state machine from events to decisions. No I/O, no clock of its own.

Feed it events (:mod:`callcenter.routing.events`), each carrying its time; it answers with
decisions (:mod:`callcenter.routing.decisions`) for adapters to carry out. Timers (step
relaxations, sticky holds, ring guards, wrap-ups) fire inside :meth:`Router.handle` for every
event, in due order, before the event itself; a :class:`~callcenter.routing.events.Tick`
just lets time pass.

The rule it keeps after every event: **no ready agent is left idle while a call they may take
waits**. Calls are served in order of (sticky hold first, higher priority, longer wait); each
call goes to its best agent (earliest step's target first, then the skill's strategy). Only what
an event touched can form a new pair (an agent who became ready, a call that entered the queue
or relaxed a step), so each event settles with a few index lookups (``IndexedMatcher``), or, for
the reference :func:`naive_router`, with full scans that must reach the same decisions.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from callcenter.agents.model import AgentProfile, AgentState
from callcenter.routing import events as ev
from callcenter.routing.book import Book
from callcenter.routing.decisions import (
    AgentStateChanged,
    CancelOffer,
    Decision,
    Offer,
    OfferCallback,
)
from callcenter.routing.errors import RoutingError, UnknownRoutingAgent
from callcenter.routing.matching import IndexedMatcher, Matcher, ScanMatcher
from callcenter.routing.policy import RoutingPolicy, default_policy
from callcenter.routing.state import AgentRec, CallKey, CallRec, CallStatus, Target, targets_for
from callcenter.routing.stats import RoutingStatistics, RoutingStats
from callcenter.routing.timers import TimerKind, TimerQueue

_IN_QUEUE = (CallStatus.WAITING, CallStatus.OFFERED)


@dataclass(frozen=True, slots=True)
class AgentStatus:
    agent_id: str
    state: AgentState
    reason: str
    reachable: bool
    since: float
    call_id: str | None
    after_call: str | None  # "paused:<reason>" or "offline" when asked for mid-call

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "state": self.state.value, "reason": self.reason,
                "reachable": self.reachable, "since": self.since, "call_id": self.call_id,
                "after_call": self.after_call}


@dataclass(frozen=True, slots=True)
class CallStatusView:
    call_id: str
    skill: str
    status: str  # waiting, offered, talking
    priority: float
    enqueued_at: float
    agent_id: str | None
    held_for: str | None
    step: int  # number of steps in force


class Router:
    """Skill-based router.

    Args:
        policy: the routing policy (see :meth:`reload`).
        agents: the known agents (all offline at first).
        matcher: ``"indexed"`` (default) or ``"scan"`` (the naive reference).
        start: the clock's value at construction.
    """

    def __init__(self, policy: RoutingPolicy | None = None, agents: Iterable[AgentProfile] = (),
                 *, matcher: str = "indexed", start: float = 0.0) -> None:
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
        self._suspended = False
        self._call_seq = 0
        self._offer_seq = 0
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            ev.AgentAdded: self._on_agent_added,
            ev.AgentRemoved: self._on_agent_removed,
            ev.AgentLoggedIn: self._on_logged_in,
            ev.AgentReady: self._on_ready,
            ev.AgentPaused: self._on_paused,
            ev.AgentLoggedOut: self._on_logged_out,
            ev.PhoneReachable: self._on_reachable,
            ev.PhoneUnreachable: self._on_unreachable,
            ev.CallEnqueued: self._on_enqueued,
            ev.OfferAnswered: self._on_answered,
            ev.OfferFailed: self._on_failed,
            ev.CallHungUp: self._on_hung_up,
            ev.TalkEnded: self._on_talk_ended,
            ev.WrapUpDone: self._on_wrap_up_done,
            ev.CallbackAccepted: self._on_callback_accepted,
            ev.OffersSuspended: self._on_suspended,
            ev.OffersResumed: self._on_resumed,
            ev.Tick: lambda event: None,
        }
        for profile in agents:
            self._add_agent(profile)

    # --- public ------------------------------------------------------------------------------

    @property
    def policy(self) -> RoutingPolicy:
        return self.book.policy

    def handle(self, event: ev.RouterEvent) -> list[Decision]:
        """Apply one event (after the timers due by its time); returns the decisions.

        Raises:
            UnknownRoutingAgent: an agent event names an agent the router does not know.
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"not a router event: {event!r}")
        self._advance(event.at)
        try:
            handler(event)
            self._settle()
        finally:
            out, self._out = self._out, []
        return out

    def tick(self, at: float) -> list[Decision]:
        return self.handle(ev.Tick(at))

    def next_due(self) -> float | None:
        """When the next timer fires (None: no timer pending)."""
        return self._timers.next_due()

    def reload(self, policy: RoutingPolicy, at: float) -> list[Decision]:
        """Swap the policy at once. Waiting calls take the new steps (measured from when they
        were enqueued) and strategies; offers ringing keep their ring timeout, agents in wrap-up
        their timer, calls their priority. Returns the decisions the new policy leads to."""
        self._advance(at)
        try:
            self.book.set_policy(policy)
            for call in self.book.calls.values():
                call.policy = policy.for_skill(call.request.skill)
                call.active = 0
                call.step_gen += 1
                self._activate_steps(call, announce=call.status is CallStatus.WAITING)
            self._matcher.rebuild()
            self._mark_all_dirty()
            self._settle()
        finally:
            out, self._out = self._out, []
        return out

    def statistics(self, at: float | None = None) -> RoutingStatistics:
        """The live statistics at ``at`` (default: the last event's time)."""
        now = self.now if at is None else max(at, self.now)
        agents = [(a.agent_id, a.reason, a.reachable, a.since,
                   a.call.call_id if a.call is not None else None)
                  for a in self.book.agents.values()]
        return self._stats.snapshot(now, agents)

    def agent_status(self, agent_id: str) -> AgentStatus:
        """Raises: UnknownRoutingAgent."""
        return _status(self._agent(agent_id))

    def agent_statuses(self) -> list[AgentStatus]:
        return [_status(a) for a in self.book.agents.values()]

    def profile(self, agent_id: str) -> AgentProfile:
        """Raises: UnknownRoutingAgent."""
        return self._agent(agent_id).profile

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self.book.agents

    def call_status(self, call_id: str) -> CallStatusView | None:
        call = self.book.calls.get(call_id)
        if call is None:
            return None
        return CallStatusView(call.call_id, call.request.skill, call.status.name.lower(),
                              call.priority, call.enqueued_at,
                              call.agent.agent_id if call.agent is not None else None,
                              call.held_for, call.active)

    def waiting_calls(self) -> list[CallStatusView]:
        """Calls waiting for an agent, in the order they would be served."""
        views = [self.call_status(c.call_id) for c in
                 sorted(self.book.waiting.values(), key=lambda c: c.key)]
        return [v for v in views if v is not None]

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
        if kind is TimerKind.WRAP_END:
            agent = self.book.by_order[ref] if ref < len(self.book.by_order) else None
            if agent is not None and agent.state is AgentState.WRAP_UP and agent.wrap_gen == gen:
                self._after_work(agent)
            return
        call = self.book.by_seq.get(ref)
        if call is None:
            return
        if kind is TimerKind.STEP:
            if call.step_gen == gen and call.status in _IN_QUEUE:
                self._relax(call)
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
        matcher = self._matcher
        heap: list[tuple[CallKey, int, int]] = []  # (call key, 0 call / 1 agent, seq or order)
        for call in self._dirty_calls.values():
            if call.status is CallStatus.WAITING and matcher.best_agent(call) is not None:
                heap.append((call.key, 0, call.seq))
        for agent in self._dirty_agents.values():
            if agent.offerable:
                best = matcher.best_call(agent)
                if best is not None:
                    heap.append((best.key, 1, agent.order))
        self._dirty_calls.clear()
        self._dirty_agents.clear()
        heapq.heapify(heap)
        while heap:
            key, kind, ref = heapq.heappop(heap)
            if kind == 0:
                found = self.book.by_seq.get(ref)
                if found is None or found.status is not CallStatus.WAITING or found.key != key:
                    continue
                call = found
            else:
                seeker = self.book.by_order[ref]
                if seeker is None or not seeker.offerable:
                    continue
                best = matcher.best_call(seeker)
                if best is None:
                    continue
                if best.key != key:
                    heapq.heappush(heap, (best.key, 1, ref))
                    continue
                call = best
            taker = matcher.best_agent(call)
            if taker is None:
                continue
            self._offer(call, taker)
            if kind == 1 and taker.order != ref:
                again = self.book.by_order[ref]
                if again is not None and again.offerable:
                    best = matcher.best_call(again)
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

    def _on_agent_added(self, event: ev.AgentAdded) -> None:
        agent = self.book.agents.get(event.profile.agent_id)
        if agent is None:
            self._add_agent(event.profile)
            return
        old = agent.profile
        self._stats.agent_profile_changed(old, event.profile, self.now)
        agent.profile = event.profile
        self.book.profiles_version += 1
        if agent.offerable:
            self._matcher.agent_left(agent)
            self._enter_index(agent)

    def _on_agent_removed(self, event: ev.AgentRemoved) -> None:
        agent = self._agent(event.agent_id)
        if agent.state in (AgentState.OFFERED, AgentState.TALKING):
            raise RoutingError(f"agent {event.agent_id!r} is on a call: log them out first")
        self._set_state(agent, AgentState.OFFLINE)
        self._stats.agent_removed(agent.profile, self.now)
        del self.book.agents[event.agent_id]
        self.book.by_order[agent.order] = None
        self.book.profiles_version += 1

    def _on_logged_in(self, event: ev.AgentLoggedIn) -> None:
        agent = self._agent(event.agent_id)
        if agent.state is AgentState.OFFLINE:
            if event.ready:
                self._set_state(agent, AgentState.READY)
            else:
                login = self.book.policy.login_state
                self._set_state(agent, login.state, login.reason)
        elif event.ready:
            self._on_ready(ev.AgentReady(event.agent_id, event.at))

    def _on_ready(self, event: ev.AgentReady) -> None:
        agent = self._agent(event.agent_id)
        if agent.state in (AgentState.OFFERED, AgentState.TALKING):
            agent.after_call = None
        elif agent.state is not AgentState.READY:
            agent.after_call = None
            self._set_state(agent, AgentState.READY)

    def _on_paused(self, event: ev.AgentPaused) -> None:
        agent = self._agent(event.agent_id)
        if agent.state in (AgentState.OFFERED, AgentState.TALKING):
            agent.after_call = (AgentState.PAUSED, event.reason)
        else:
            agent.after_call = None
            self._set_state(agent, AgentState.PAUSED, event.reason)

    def _on_logged_out(self, event: ev.AgentLoggedOut) -> None:
        agent = self._agent(event.agent_id)
        if agent.state is AgentState.TALKING:
            agent.after_call = (AgentState.OFFLINE, "")
            return
        agent.after_call = None
        call = agent.call
        if agent.state is AgentState.OFFERED and call is not None:
            self._emit(CancelOffer(call.call_id, agent.agent_id, call.offer_id, "agent_logged_out",
                                   self.now))
            agent.call = None
            self._requeue(call)
        self._set_state(agent, AgentState.OFFLINE)

    def _on_reachable(self, event: ev.PhoneReachable) -> None:
        agent = self._agent(event.agent_id)
        if agent.reachable:
            return
        agent.reachable = True
        self._enter_index(agent)
        self._emit_reachability(agent)

    def _on_unreachable(self, event: ev.PhoneUnreachable) -> None:
        agent = self._agent(event.agent_id)
        if not agent.reachable:
            return
        was_offerable = agent.offerable
        agent.reachable = False
        if was_offerable:
            self._matcher.agent_left(agent)
        self._emit_reachability(agent)

    def _emit_reachability(self, agent: AgentRec) -> None:
        self._emit(AgentStateChanged(agent.agent_id, agent.state, agent.reason, agent.state,
                                     agent.reason, agent.reachable,
                                     agent.call.call_id if agent.call is not None else None,
                                     self.now))

    def _on_wrap_up_done(self, event: ev.WrapUpDone) -> None:
        agent = self._agent(event.agent_id)
        if agent.state is AgentState.WRAP_UP:
            self._after_work(agent)

    def _on_suspended(self, event: ev.OffersSuspended) -> None:
        self._suspended = True

    def _on_resumed(self, event: ev.OffersResumed) -> None:
        if self._suspended:
            self._suspended = False
            self._mark_all_dirty()

    # --- calls -------------------------------------------------------------------------------

    def _in_queue(self, seq: int) -> bool:
        call = self.book.by_seq.get(seq)
        return call is not None and call.status in _IN_QUEUE

    def _on_enqueued(self, event: ev.CallEnqueued) -> None:
        request = event.call
        if request.call_id in self.book.calls:
            return  # already queued: enqueueing is idempotent
        policy = self.book.policy.for_skill(request.skill)
        self._call_seq += 1
        priority = self.book.policy.priority.score(request.priority, request.tags,
                                                   request.order_value)
        call = CallRec(request, policy, self._call_seq, priority, self.now)
        owner = self.book.agents.get(request.preferred_agent or "")
        if owner is not None and owner.state is not AgentState.OFFLINE and policy.sticky_s > 0:
            call.held_for = owner.agent_id
            self._held.setdefault(owner.agent_id, set()).add(call.seq)
            self._timers.add(self.now + policy.sticky_s, TimerKind.HOLD_END, call.seq)
        call.key = call.make_key()
        self.book.calls[request.call_id] = call
        self.book.by_seq[call.seq] = call
        self._stats.call_entered(request.skill, call.seq, self.now, policy.service_level_s)
        self._activate_steps(call, announce=True)
        self._enqueue(call)

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
        self._emit(Offer(call.call_id, agent.agent_id, call.offer_id, agent.profile.dial_string,
                         call.request.skill, policy.ring_timeout_s, self.now))
        self._timers.add(self.now + policy.ring_timeout_s + self.book.policy.offer_grace_s,
                         TimerKind.RING_GUARD, call.seq, call.offer_id)

    def _on_answered(self, event: ev.OfferAnswered) -> None:
        call = self.book.calls.get(event.call_id)
        agent = self.book.agents.get(event.agent_id)
        if call is None or agent is None or call.status is CallStatus.TALKING:
            return
        if agent.call is not None and agent.call is not call:
            return  # the agent is on another call: cannot be (one call at a time)
        if call.status is CallStatus.OFFERED and call.agent is not agent and call.agent is not None:
            # Asterisk connected an offer the router had given up on: reality wins
            other = call.agent
            self._emit(CancelOffer(call.call_id, other.agent_id, call.offer_id,
                                   "answered_elsewhere", self.now))
            other.call = None
            self._after_work(other, keep_idle=True)
        self._leave_queue(call)
        call.status = CallStatus.TALKING
        call.agent = agent
        agent.call = call
        self._set_state(agent, AgentState.TALKING)
        waited = self.now - call.enqueued_at
        self._stats.call_answered(call.request.skill, waited, call.policy.service_level_s,
                                  agent.agent_id)

    def _on_failed(self, event: ev.OfferFailed) -> None:
        call = self.book.calls.get(event.call_id)
        if call is None or call.status is not CallStatus.OFFERED or call.agent is None \
                or call.agent.agent_id != event.agent_id:
            return  # stale: the router moved on (cancelled, timed out, re-offered)
        self._offer_failed(call, event.result)

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

    def _on_hung_up(self, event: ev.CallHungUp) -> None:
        call = self.book.calls.get(event.call_id)
        if call is None:
            return
        if call.status is CallStatus.TALKING:
            self._talk_ended(call)
            return
        if call.status is CallStatus.OFFERED and call.agent is not None:
            agent = call.agent
            self._emit(CancelOffer(call.call_id, agent.agent_id, call.offer_id, "caller_hung_up",
                                   self.now))
            agent.call = None
            self._after_work(agent, keep_idle=True)
        self._stats.call_abandoned(call.request.skill)
        self._done(call)

    def _on_talk_ended(self, event: ev.TalkEnded) -> None:
        call = self.book.calls.get(event.call_id)
        if call is not None and call.status is CallStatus.TALKING:
            self._talk_ended(call)

    def _talk_ended(self, call: CallRec) -> None:
        agent = call.agent
        self._done(call)
        if agent is None:
            return
        agent.call = None
        wrap_up_s = call.policy.wrap_up_s
        if wrap_up_s <= 0:
            self._after_work(agent)
            return
        agent.wrap_gen += 1
        self._timers.add(self.now + wrap_up_s, TimerKind.WRAP_END, agent.order, agent.wrap_gen)
        self._set_state(agent, AgentState.WRAP_UP)

    def _on_callback_accepted(self, event: ev.CallbackAccepted) -> None:
        call = self.book.calls.get(event.call_id)
        if call is None or call.status is CallStatus.TALKING:
            return
        if call.status is CallStatus.OFFERED and call.agent is not None:
            agent = call.agent
            self._emit(CancelOffer(call.call_id, agent.agent_id, call.offer_id,
                                   "callback_accepted", self.now))
            agent.call = None
            self._after_work(agent, keep_idle=True)
        self._stats.call_callback(call.request.skill)
        self._done(call)

    def _emit(self, decision: Decision) -> None:
        self._out.append(decision)


def naive_router(policy: RoutingPolicy | None = None, agents: Iterable[AgentProfile] = (),
                 start: float = 0.0) -> Router:
    """The reference router: the same rules, with full scans instead of indexes."""
    return Router(policy, agents, matcher="scan", start=start)


def _status(agent: AgentRec) -> AgentStatus:
    after = None
    if agent.after_call is not None:
        state, reason = agent.after_call
        after = f"{state.value}:{reason}" if reason else state.value
    return AgentStatus(agent.agent_id, agent.state, agent.reason, agent.reachable, agent.since,
                       agent.call.call_id if agent.call is not None else None, after)
