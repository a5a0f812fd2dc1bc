"""Talks the router learns of rather than offers: an agent who takes a call over (a completed
consult transfer), a consulted colleague's talk ending without the caller (wrap-up as after any
talk), and a talk found going on after a restart."""

from __future__ import annotations

from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.router_core import RouterCore
from callcenter.routing.state import AgentRec, CallStatus


class TakeOvers(RouterCore):
    """These events' handlers (mixed into the router)."""

    def _on_taken_over(self, event: ev.CallTakenOver) -> None:
        """The colleague talks with the caller (kept out of routing by the consult's pause
        until now): the first agent's talk ends (wrap-up), the colleague's begins, on the
        call's skill (its wrap-up); a break they chose meanwhile comes after the call."""
        agent = self.book.agents.get(event.agent_id)
        if agent is None or agent.call is not None or agent.state is AgentState.OFFLINE:
            return
        call = self.book.calls.get(event.call_id)
        if call is not None and call.status is not CallStatus.TALKING:
            return  # waiting or ringing: not a talk to take over
        skill = call.request.skill if call is not None else _best_skill(agent)
        if call is not None:
            self._talk_ended(call)
        if agent.state is AgentState.PAUSED and agent.reason != ev.CONSULT_PAUSE:
            agent.after_call = (AgentState.PAUSED, agent.reason)
        taken = self._register(ev.CallRequest(event.call_id, skill), self.now)
        taken.status = CallStatus.TALKING
        taken.agent = agent
        agent.call = taken
        self._set_state(agent, AgentState.TALKING)

    def _on_consult_talk_ended(self, event: ev.ConsultTalkEnded) -> None:
        """The colleague talked in a consult that ended without giving them the caller (or the
        caller left): wrap-up as after any talk (the call's skill), if they are still in the
        consult's pause (a break they chose meanwhile stands)."""
        agent = self.book.agents.get(event.agent_id)
        if agent is None or agent.call is not None or agent.state is not AgentState.PAUSED \
                or agent.reason != ev.CONSULT_PAUSE:
            return
        call = self.book.calls.get(event.call_id)  # gone if the caller left first
        skill = call.request.skill if call is not None else event.skill or _best_skill(agent)
        self._wrap_up(agent, self.book.policy.for_skill(skill))

    def _on_talk_restored(self, event: ev.TalkRestored) -> None:
        """Found talking after a restart: the talk goes on where the previous process left it
        (the ``restored`` pause is what the restart gave them, not a break they chose)."""
        agent = self.book.agents.get(event.agent_id)
        if agent is None or agent.call is not None or agent.state is AgentState.OFFLINE \
                or event.call_id in self.book.calls:
            return
        if agent.state is AgentState.PAUSED and agent.reason not in (ev.RESTORED_PAUSE, ev.CONSULT_PAUSE):
            agent.after_call = (AgentState.PAUSED, agent.reason)
        call = self._register(ev.CallRequest(event.call_id, event.skill or _best_skill(agent)), self.now)
        call.status = CallStatus.TALKING
        call.agent = agent
        agent.call = call
        self._set_state(agent, AgentState.TALKING)


def _best_skill(agent: AgentRec) -> str:
    skills = agent.profile.skills
    return max(skills, key=lambda s: (skills[s], s)) if skills else ""
