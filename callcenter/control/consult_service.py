"""Carries out consults (see :mod:`callcenter.control.consult`) and confirms each step from
the tracker's events: a consult is under way once the colleague's leg exists
(``AgentLegCreated`` of the ``Atxfer``), answered on that leg's ``AgentAnswered`` (only then
may it be completed or joined), completed on ``Transferred``, a three-way on ``Conferenced``,
cancelled once the colleague's leg ended (``AgentLegFailed`` unanswered, or ``ConsultEnded``).
The colleague's screen hears of the consult (a ``consult`` message with the caller's pop) while
their phone rings. A caller who leaves mid-consult ends it for both agents: both legs are hung
up, and each agent who talked on the call wraps up (a colleague still ringing does not). A
caller who leaves as the consult begins (Asterisk still taking the ``Atxfer``) ends the request
at once: refused (409 ``call_ended``), the colleague given back once, nothing left to cancel,
and no further action sent on the call. An agent who hangs up then (no colleague's leg yet)
hands nobody the caller: refused (409 ``consult_ended``), the colleague given back.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.consults import CONSULT_AGENT_HEADER, CONSULT_DIAL_HEADER
from callcenter.calls.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLegCreated,
    AgentLegFailed,
    CallEnded,
    CallEvent,
    Conferenced,
    ConsultEnded,
    Transferred,
)
from callcenter.control import consult as plan
from callcenter.control.consult import Consult, ConsultPlan, Stage
from callcenter.control.plan import CallView, Control, Refused, Verb
from callcenter.control.targets import AgentTarget
from callcenter.control.transfers import TRANSFER_CONTEXT
from callcenter.runtime.tasks import Tasks

log = structlog.get_logger("callcenter.control")

CONSULT_VERBS = frozenset({Verb.CONSULT, Verb.COMPLETE, Verb.CANCEL, Verb.CONFERENCE})
Send = Callable[[Action], Awaitable[AmiResponse]]


@dataclass(slots=True)
class _Waiting:
    kinds: tuple[type[CallEvent], ...]
    future: asyncio.Future[None]
    action_id: str = ""


@dataclass(slots=True)
class _Open:
    consult: Consult
    agent_channel: str
    waiting: list[_Waiting] = field(default_factory=list)
    colleague_channel: str = ""


class ConsultDesk:
    """Args:
        send: the AMI link's ``send``.
        agents: an agent as a consult's target (ready or not, their phone), None if unknown.
        first_ready: the first ready agent of a skill other than the one asking, None if none.
        skills: the routing policy's skills.
        publish: ``ConsoleHub.publish``; ``share``: ``ConsoleHub.share_pop`` (the caller's pop
        from the agent's screen to the colleague's).
        now: the server's clock; ``confirm_s``: how long a step waits for Asterisk.
        reserve: keep an agent out of routing (True: the consult rings or talks to them) or
            give them back (False), so routing offers them no call meanwhile.
        took: the colleague took the caller over (call id, agent): routing has them talk,
            and wrap up when the call ends.
        talked: the colleague answered and talked, and their leg ended without the caller
            (a cancelled consult, they left a three-way, or the caller left) (call id, agent,
            the call's skill): routing has them wrap up as after any talk (default: given back
            at once, as ``reserve(agent, False)``).
        skill_of: the skill routing gave the call (the colleague's wrap-up is that skill's).
    """

    def __init__(self, send: Send, agents: Callable[[str], AgentTarget | None],
                 first_ready: Callable[[str, str], str | None],
                 skills: Callable[[], Any], publish: Callable[[str, dict[str, Any]], object],
                 share: Callable[[str, str, str, dict[str, Any]], None], now: Callable[[], float],
                 confirm_s: float = 5.0,
                 reserve: Callable[[str, bool], None] = lambda _agent, _out: None,
                 took: Callable[[str, str], None] = lambda _call, _agent: None,
                 talked: Callable[[str, str, str], None] | None = None,
                 skill_of: Callable[[str], str] = lambda _call: "") -> None:
        self._send, self._agents, self._first_ready = send, agents, first_ready
        self._talked = talked or (lambda _call, agent_id, _skill: reserve(agent_id, False))
        self._skill_of = skill_of
        self._skills, self._publish, self._share = skills, publish, share
        self._now, self._confirm_s, self._reserve, self._took_over = now, confirm_s, reserve, took
        self._took: dict[str, str] = {}  # call id -> the colleague who talks on after a consult
        self._open: dict[str, _Open] = {}
        self.tasks = Tasks()
        self.started = self.completed = self.cancelled = self.conferences = 0

    def consult(self, call_id: str) -> Consult | None:
        found = self._open.get(call_id)
        return found.consult if found is not None else None

    async def act(self, agent_id: str, call: CallView, state: Control, verb: Verb,
                  to_agent: str = "", skill: str = "") -> Control:
        """Carry out a consult step for ``agent_id``; their control state after it.

        Raises:
            Refused: 404 no such agent or skill, 400 a consult to oneself, 409 the target not
            ready (or nobody ready in the skill), not now; 502 Asterisk refused; 504 not
            confirmed in time.
        """
        current = self.consult(call.call_id)
        if verb is Verb.CONSULT:
            if current is not None:  # a double click: before the target (now busy) is checked
                raise Refused(409, "a consult is already under way", "consult_busy")
            asked = self._target(call.call_id, agent_id, to_agent, skill)
            decided = plan.start(call, state, current, asked)
            return await self._start(call, decided, asked)
        step = {Verb.COMPLETE: plan.complete, Verb.CANCEL: plan.cancel,
                Verb.CONFERENCE: plan.conference}[verb]
        decided = step(call, state, current)
        confirm: tuple[type[CallEvent], ...] = {
            Verb.COMPLETE: (Transferred, CallEnded, AgentHungUp), Verb.CANCEL: (ConsultEnded, AgentLegFailed),
            Verb.CONFERENCE: (Conferenced,)}[verb]
        if verb is Verb.COMPLETE and current is not None and current.stage is Stage.CONFERENCE:
            confirm = ()  # the agent leaves the three-way: their hang-up is enough
        await self._carry(call.call_id, decided, confirm)
        if verb is Verb.CONFERENCE and decided.consult is not None:
            opened = self._open.get(call.call_id)
            self.conferences += 1
            if opened is not None:  # else a leg hung up as the three-way began: it is over
                opened.consult = decided.consult
        return decided.state

    def _target(self, call_id: str, agent_id: str, to_agent: str, skill: str) -> Consult:
        if skill and not to_agent:
            if skill not in self._skills():
                raise Refused(404, f"no such skill: {skill!r}", "unknown_skill")
            found = self._first_ready(skill, agent_id)
            if found is None:
                raise Refused(409, f"nobody is ready in {skill}", "nobody_ready")
            to_agent = found
        target = self._agents(to_agent)
        if target is None:
            raise Refused(404, f"no such agent: {to_agent!r}", "unknown_agent")
        if to_agent == agent_id:
            raise Refused(400, "you cannot consult yourself", "self_consult")
        if not target.ready or not target.dial:
            raise Refused(409, f"{to_agent} is not ready", "agent_not_ready")
        return Consult(call_id, agent_id, to_agent, target.dial,
                       f"{secrets.randbelow(10**8):08d}", self._now(),
                       skill=self._skill_of(call_id))

    async def _start(self, call: CallView, decided: ConsultPlan, asked: Consult) -> Control:
        opened = self._open[call.call_id] = _Open(asked, call.agent_channel)
        atxfer = decided.actions[-1]
        decided = ConsultPlan((*decided.actions[:-1], Action(atxfer.name, (
            *atxfer.headers, (CONSULT_AGENT_HEADER, asked.to),
            (CONSULT_DIAL_HEADER, asked.dial)))), decided.state, decided.consult)
        self._reserve(asked.to, True)  # before their phone rings: routing offers them nothing
        try:
            await self._carry(call.call_id, decided, (AgentLegCreated,))
        except Refused as refused:
            if self._open.get(call.call_id) is not opened:
                raise  # ended meanwhile (the caller left): its end gave the colleague back
            if refused.status == 504:  # Asterisk may still ring the colleague: cancel it there
                await self._abandon(call.agent_channel, opened)
            if self._open.get(call.call_id) is opened:
                del self._open[call.call_id]
                self._reserve(asked.to, False)
            raise
        self.started += 1
        # Atxfer left its own context in the agent's TRANSFER_CONTEXT (read once the transfer
        # began): a later transfer from the agent's phone (SIP REFER) needs theirs back
        self._spawn(plan.restore_transfer_context(call.agent_channel, TRANSFER_CONTEXT),
                    call.call_id)
        self._share(asked.by, asked.to, call.call_id, {"by": asked.by, "at": asked.at})
        log.info("call_consult", call_id=call.call_id, agent_id=asked.by, to_agent=asked.to)
        return decided.state

    async def _abandon(self, agent_channel: str, opened: _Open) -> None:
        """A consult Asterisk did not confirm in time: abort the attended transfer (``*1``)
        and hang up the colleague's leg if it is known, so no phone rings for a consult the
        server forgot."""
        actions = list(plan.dtmf(agent_channel, plan.ABORT))
        if opened.colleague_channel:
            actions.append(Action("Hangup", (("Channel", opened.colleague_channel),
                                             ("Cause", "16"))))
        for action in actions:
            await self._send_quietly(action, opened.consult.call_id)
        log.info("call_consult_abandoned", call_id=opened.consult.call_id,
                 agent_id=opened.consult.by, to_agent=opened.consult.to)

    async def _carry(self, call_id: str, decided: ConsultPlan,
                     confirm: tuple[type[CallEvent], ...]) -> None:
        opened = self._open.get(call_id)
        waiting = None
        if confirm and opened is not None:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiting = _Waiting(confirm, future)
            opened.waiting.append(waiting)
        try:
            for action in decided.actions:
                _raise_if_over(waiting)  # the consult ended meanwhile: nothing more goes out
                try:
                    await self._send(action)
                except AmiError as exc:
                    _raise_if_over(waiting)  # refused as the channel went with the call
                    raise Refused(502, f"Asterisk refused the action: {exc}",
                                  "pbx_refused") from exc
            if waiting is not None:
                await asyncio.wait_for(asyncio.shield(waiting.future), self._confirm_s)
        except TimeoutError:
            raise Refused(504, "Asterisk did not confirm the action",
                          "consult_not_confirmed") from None
        finally:
            if waiting is not None and opened is not None and waiting in opened.waiting:
                opened.waiting.remove(waiting)
            if waiting is not None and waiting.future.done():
                waiting.future.exception()  # retrieved: refused above, or no longer awaited

    # --- facts from the tracker ------------------------------------------------------------

    def on_call_event(self, event: CallEvent) -> None:
        """Dispatcher subscriber: confirmations, and the consult's end however it came."""
        if isinstance(event, CallEnded) and event.call_id in self._took:
            self._reserve(self._took.pop(event.call_id), False)
        opened = self._open.get(event.call_id)
        if opened is None:
            return
        if isinstance(event, AgentLegCreated) and not opened.colleague_channel:
            opened.colleague_channel = event.channel
        elif isinstance(event, AgentAnswered) and opened.colleague_channel \
                and event.agent_channel == opened.colleague_channel:
            opened.consult = replace(opened.consult, answered=True)
        for waiting in list(opened.waiting):
            if isinstance(event, waiting.kinds) and not waiting.future.done():
                waiting.future.set_result(None)
        left = isinstance(event, AgentHungUp) and event.channel == opened.agent_channel
        if left or isinstance(event, Transferred | ConsultEnded | AgentLegFailed | CallEnded):
            self._closed(event, opened)

    def _closed(self, event: CallEvent, opened: _Open) -> None:
        consult = opened.consult
        del self._open[event.call_id]
        _fail_waiting(opened, event)
        self._publish(consult.by, {"type": "consult_ended", "call_id": event.call_id})
        if isinstance(event, CallEnded):
            self._caller_left(event.call_id, opened)
            return
        left = isinstance(event, ConsultEnded)  # the colleague hung up (or left a three-way)
        # the agent hung up while consulting: Asterisk (atxferdropcall=no) completes the
        # transfer, the colleague gets the caller (at once, or once their phone is answered);
        # before the colleague's leg exists (Asterisk still taking the Atxfer) there is nothing
        # to complete: the colleague is given back, the caller stays where Asterisk leaves them
        dropped = isinstance(event, AgentHungUp) and consult.stage is Stage.CONSULTING \
            and bool(opened.colleague_channel)
        if isinstance(event, Transferred) or dropped \
                or (consult.stage is Stage.CONFERENCE and not left):
            # the colleague talks with the caller: back to routing when the call ends
            self.completed += isinstance(event, Transferred) or dropped
            self._took[event.call_id] = consult.to
            self._took_over(event.call_id, consult.to)
            return
        if left:
            # the colleague's answered leg ended (the consult cancelled, or they left the
            # three-way): they talked, so wrap-up as after any talk; a consult never answered
            # (AgentLegFailed) gives them straight back
            self._talked(event.call_id, consult.to, consult.skill)
        else:
            self._reserve(consult.to, False)
        self.cancelled += consult.stage is Stage.CONSULTING
        self._publish(consult.to, {"type": "consult_ended", "call_id": event.call_id})

    def _caller_left(self, call_id: str, opened: _Open) -> None:
        """The caller hung up mid-consult (or in a three-way): Asterisk would keep the two
        agents talking, so both legs are hung up. A colleague who answered talked on this
        call: they wrap up (the call's skill) and their screen shows the call ended; one whose
        phone still rang is given back at once (the ringing stops) and their pop cleared."""
        consult = opened.consult
        for channel in (opened.agent_channel, opened.colleague_channel):
            if channel:
                self._spawn(Action("Hangup", (("Channel", channel), ("Cause", "16"))), call_id)
        if consult.colleague_on_line:
            self._talked(call_id, consult.to, consult.skill)
            self._publish(consult.to, {"type": "call_ended", "call_id": call_id,
                                       "outcome": "caller_left"})
        else:
            self._reserve(consult.to, False)
            self._publish(consult.to, {"type": "consult_ended", "call_id": call_id})

    def _spawn(self, action: Action, call_id: str) -> None:
        self.tasks.spawn(self._send_quietly(action, call_id))

    async def _send_quietly(self, action: Action, call_id: str) -> None:
        try:
            await self._send(action)
        except AmiError as exc:
            log.info("call_consult_cleanup_failed", call_id=call_id, error=str(exc))

    def statistics(self) -> dict[str, Any]:
        return {"consults": len(self._open), "consults_started": self.started,
                "consults_completed": self.completed, "consults_cancelled": self.cancelled,
                "conferences": self.conferences}


def _fail_waiting(opened: _Open, event: CallEvent) -> None:
    """The consult ended (``event``) while a step still waited for Asterisk (the caller
    hung up as the consult began): the step ends now, refused, rather than waiting for a
    confirmation that cannot come and then cancelling what is already over."""
    refused = (Refused(409, "the call has ended", "call_ended") if isinstance(event, CallEnded)
               else Refused(409, "the consult has ended", "consult_ended"))
    for waiting in opened.waiting:
        if not waiting.future.done():
            waiting.future.set_exception(refused)


def _raise_if_over(waiting: _Waiting | None) -> None:
    """The step's wait already failed (:func:`_fail_waiting`): that refusal, not another."""
    failed = waiting.future.exception() if waiting is not None and waiting.future.done() else None
    if failed is not None:
        raise failed


def consult_json(consult: Consult | None) -> dict[str, Any] | None:
    """The consult as the agent's screen shows it (None when there is none)."""
    if consult is None:
        return None
    return {"to": consult.to, "stage": consult.stage.value, "since": consult.at,
            "answered": consult.colleague_on_line}
