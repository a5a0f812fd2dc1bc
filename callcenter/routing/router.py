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

from collections.abc import Callable, Iterable
from typing import Any

from callcenter.agents.model import AgentProfile, AgentState
from callcenter.agents.pause_reasons import AFTER_CALL_WORK
from callcenter.routing import events as ev
from callcenter.routing.decisions import CancelOffer, Decision
from callcenter.routing.errors import RoutingError
from callcenter.routing.policy import RoutingPolicy
from callcenter.routing.router_callbacks import CallbackMoves
from callcenter.routing.router_takeover import TakeOvers
from callcenter.routing.state import CallStatus
from callcenter.routing.stats import RoutingStatistics
from callcenter.routing.timers import TimerKind
from callcenter.routing.views import AgentStatus, CallStatusView, agent_status, call_view


class Router(CallbackMoves, TakeOvers):
    """Skill-based router.

    Args:
        policy: the routing policy (see :meth:`reload`).
        agents: the known agents (all offline at first).
        matcher: ``"indexed"`` (default) or ``"scan"`` (the naive reference).
        start: the clock's value at construction.
    """

    def __init__(self, policy: RoutingPolicy | None = None, agents: Iterable[AgentProfile] = (),
                 *, matcher: str = "indexed", start: float = 0.0) -> None:
        super().__init__(policy, matcher, start)
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
            ev.CallTakenOver: self._on_taken_over,
            ev.TalkRestored: self._on_talk_restored,
            ev.ConsultTalkEnded: self._on_consult_talk_ended,
            ev.WrapUpDone: self._on_wrap_up_done,
            ev.CallbackAccepted: self._on_callback_accepted,
            ev.CallbackQueued: self._on_callback_queued,
            ev.CallbackRestored: self._on_callback_restored,
            ev.CallbackDialed: self._on_callback_dialed,
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
        return agent_status(self._agent(agent_id))

    def agent_statuses(self) -> list[AgentStatus]:
        return [agent_status(a) for a in self.book.agents.values()]

    def profile(self, agent_id: str) -> AgentProfile:
        """Raises: UnknownRoutingAgent."""
        return self._agent(agent_id).profile

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self.book.agents

    def call_status(self, call_id: str) -> CallStatusView | None:
        call = self.book.calls.get(call_id)
        return call_view(call) if call is not None else None

    def waiting_calls(self) -> list[CallStatusView]:
        """Calls waiting for an agent, in the order they would be served."""
        return [call_view(c) for c in sorted(self.book.waiting.values(), key=lambda c: c.key)]

    def dial_strings(self) -> dict[str, str]:
        """Agent id -> the dial string of their phone."""
        return {a.agent_id: a.profile.dial_string for a in self.book.agents.values()}

    def profiles_version(self) -> int:
        """Changes whenever an agent is added, removed or changed."""
        return self.book.profiles_version

    # --- agent events ------------------------------------------------------------------------

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
            # "More time" in wrap-up: held to the policy's limit (WRAP_LIMIT); any other pause is not
            extended = agent.state is AgentState.WRAP_UP and event.reason == AFTER_CALL_WORK
            agent.extended_gen = agent.wrap_gen if extended else -1
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

    # --- call events -------------------------------------------------------------------------

    def _on_enqueued(self, event: ev.CallEnqueued) -> None:
        request = event.call
        if request.call_id in self.book.calls:
            return  # already queued: enqueueing is idempotent
        call = self._register(request, self.now)
        policy = call.policy
        owner = self.book.agents.get(request.preferred_agent or "")
        if owner is not None and owner.state is not AgentState.OFFLINE and policy.sticky_s > 0:
            call.held_for = owner.agent_id
            self._held.setdefault(owner.agent_id, set()).add(call.seq)
            self._timers.add(self.now + policy.sticky_s, TimerKind.HOLD_END, call.seq)
        call.key = call.make_key()
        self._stats.call_entered(request.skill, call.seq, self.now, policy.service_level_s)
        self._activate_steps(call, announce=True)
        self._enqueue(call)

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
        if call.callback is not None:
            return  # counted as a callback when the caller took it
        waited = self.now - call.enqueued_at
        self._stats.call_answered(call.request.skill, waited, call.policy.service_level_s,
                                  agent.agent_id)

    def _on_failed(self, event: ev.OfferFailed) -> None:
        call = self.book.calls.get(event.call_id)
        if call is None or call.status is not CallStatus.OFFERED or call.agent is None \
                or call.agent.agent_id != event.agent_id:
            return  # stale: the router moved on (cancelled, timed out, re-offered)
        self._offer_failed(call, event.result)

    def _on_hung_up(self, event: ev.CallHungUp) -> None:
        call = self.book.calls.get(event.call_id)
        if call is None or call.callback is not None:
            return  # a callback's caller left on purpose; its own legs end it (TalkEnded)
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
        if call is None or call.status is not CallStatus.TALKING:
            return
        if event.agent_id and (call.agent is None or call.agent.agent_id != event.agent_id):
            return  # the agent who left no longer has the call (a colleague took it over)
        self._talk_ended(call)

    def _on_callback_accepted(self, event: ev.CallbackAccepted) -> None:
        call = self.book.calls.get(event.call_id)
        if call is None or call.status is CallStatus.TALKING or call.callback is not None:
            return
        if call.status is CallStatus.OFFERED and call.agent is not None:
            agent = call.agent
            self._emit(CancelOffer(call.call_id, agent.agent_id, call.offer_id,
                                   "callback_accepted", self.now))
            agent.call = None
            self._after_work(agent, keep_idle=True)
        self._stats.call_callback(call.request.skill)
        self._done(call)


def naive_router(policy: RoutingPolicy | None = None, agents: Iterable[AgentProfile] = (),
                 start: float = 0.0) -> Router:
    """The reference router: the same rules, with full scans instead of indexes."""
    return Router(policy, agents, matcher="scan", start=start)

