"""Carries out the agent's control actions over AMI and confirms them from the events.

One action at a time per call (a second click while one is under way is refused with 409
``control_busy``). A hold is confirmed when the tracker reports ``Held`` (Asterisk's
``ChanSpyStart`` of the hold music on the caller), a resume when it reports ``Resumed``; a hold
that is not confirmed in time is undone. The agent's screen hears of each change from here
(``control`` messages on ``/ws/agent``), only once Asterisk has done it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from callcenter.ami import messages
from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.events import (
    AgentHungUp,
    CallEnded,
    CallEvent,
    Held,
    Resumed,
    Transferred,
)
from callcenter.calls.external import mask_number
from callcenter.calls.model import Call, CallState
from callcenter.control.consult import Stage
from callcenter.control.consult_service import CONSULT_VERBS, ConsultDesk, consult_json
from callcenter.control.external import ExternalNumbers, plan_outside
from callcenter.control.plan import CallView, Control, Plan, Refused, Verb, plan, stop_music
from callcenter.control.targets import AgentTarget
from callcenter.control.transfers import MAX_NOTE, SKILL_EXTEN, TransferDesk, TransferTicket
from callcenter.runtime.tasks import Tasks

log = structlog.get_logger("callcenter.control")

Send = Callable[[Action | messages.Originate], Awaitable[AmiResponse]]
Publish = Callable[[str, dict[str, Any]], object]
_NOT_WHILE_CONSULTING = frozenset({Verb.HOLD, Verb.RESUME, Verb.TRANSFER, Verb.HANGUP})
_CONFIRMED_BY: dict[Verb, type[CallEvent]] = {Verb.HOLD: Held, Verb.RESUME: Resumed,
                                              Verb.TRANSFER: Transferred}


@dataclass(slots=True)
class _Live:
    agent_id: str
    state: Control = field(default_factory=Control)
    busy: bool = False
    waiters: dict[type[CallEvent], asyncio.Future[None]] = field(default_factory=dict)


class ControlService:
    """Args:
        send: the AMI link's ``send``.
        calls: the tracker's live calls by id.
        owner: the agent talking on a call (the console's view), None when nobody is.
        publish: ``ConsoleHub.publish`` (agent id, message).
        now: the server's clock.
        confirm_s: how long a hold, resume or transfer waits for Asterisk's events.
        desk: where a transfer's ticket waits for the caller's return to routing.
        skills: the routing policy's skills (a transfer's possible targets).
        agents: an agent as a transfer's target (ready or not, their skill), None if unknown.
        outside: the outside numbers a caller may be transferred to.
    """

    def __init__(self, send: Send, calls: Callable[[str], Call | None],
                 owner: Callable[[str], str | None], publish: Publish, now: Callable[[], float],
                 confirm_s: float = 5.0, desk: TransferDesk | None = None,
                 skills: Callable[[], Collection[str]] = frozenset,
                 agents: Callable[[str], AgentTarget | None] = lambda _: None,
                 outside: ExternalNumbers | None = None,
                 consults: ConsultDesk | None = None) -> None:
        self._send, self._calls, self._owner = send, calls, owner
        self._publish, self._now, self._confirm_s = publish, now, confirm_s
        self.desk = desk if desk is not None else TransferDesk()
        self._skills = skills
        self._agents = agents
        self.outside = outside if outside is not None else ExternalNumbers()
        self.consults = consults if consults is not None else ConsultDesk(
            send, agents, lambda _skill, _besides: None, skills, publish, lambda *_: None, now,
            confirm_s)
        self._live: dict[str, _Live] = {}
        self._tasks = Tasks()
        self.done = 0
        self.refused = 0

    def state(self, call_id: str, live: _Live | None = None) -> dict[str, Any]:
        """The call's control state, as the agent's screen shows it."""
        live = live or self._live.get(call_id)
        call = self._calls(call_id)
        control = live.state if live is not None else Control()
        control = adopted(call, control) if call is not None else control
        return {"call_id": call_id, "held": control.held, "muted": control.muted,
                "held_since": call.held_since if call is not None else None,
                "hold_s": call.hold_total(self._now()) if call is not None else 0.0,
                "ended": control.ended or call is None or not call.live,
                "consult": consult_json(self.consults.consult(call_id))}

    async def act(self, agent_id: str, call_id: str, verb: Verb, skill: str = "",
                  note: str = "", to_agent: str = "", number: str = "") -> dict[str, Any]:
        """Carry out ``verb`` for ``agent_id`` on their call; the control state after it. A
        transfer goes to ``skill``, to the agent ``to_agent`` (who must be ready), or to an
        allowed outside ``number`` (a directory code or a number), with the agent's ``note``
        for the next agent. An outside number nobody answers sends the caller back to routing
        for the call's own skill.

        Raises:
            Refused: 404 not the agent's call, no such skill or agent, 400 a note too long,
            a transfer to oneself or a number not allowed, 409 not now or the target agent not
            ready, 502 Asterisk refused, 504 not confirmed in time.
        """
        call = self._calls(call_id)
        if call is None or self._owner(call_id) != agent_id:
            self.refused += 1
            raise Refused(404, "no such call", "not_found")
        verb = self._during_consult(call_id, verb)
        if verb is Verb.TRANSFER:
            skill, number = self._target(agent_id, skill, note, to_agent, number)
        live = self._take(call_id, agent_id)
        ticket = TransferTicket(call_id, skill, agent_id, note, self._now(), to_agent,
                                number) if verb is Verb.TRANSFER else None
        try:
            if verb in CONSULT_VERBS:
                live.state = await self.consults.act(agent_id, _view(call), adopted(call, live.state),
                                                     verb, to_agent, skill)
            else:
                await self._carry_out(call, live, verb, ticket)
        except Refused:
            self.refused += 1
            raise
        finally:
            live.busy = False
        self.done += 1
        if (verb is Verb.TRANSFER or live.state.ended) and self._live.get(call_id) is live:
            self._ended(call_id, live)
        return self.state(call_id, live)

    def _during_consult(self, call_id: str, verb: Verb) -> Verb:
        """``verb`` as it is carried out while a consult is open: in a three-way, hang-up is
        leaving it (the caller and the colleague talk on); while consulting, hold, resume,
        blind transfer and hang-up are refused (the agent's channel is bridged to the colleague:
        they would mute or transfer the consult, not the caller's leg)."""
        consult = self.consults.consult(call_id)
        if consult is None or verb in CONSULT_VERBS or verb not in _NOT_WHILE_CONSULTING:
            return verb
        if verb is Verb.HANGUP and consult.stage is Stage.CONFERENCE:
            return Verb.COMPLETE
        self.refused += 1
        raise Refused(409, "a consult is under way: complete or cancel it first",
                      "consult_under_way")

    def _take(self, call_id: str, agent_id: str) -> _Live:
        """The call's control state, marked busy for one action (409 when one is under way)."""
        live = self._live.get(call_id)
        if live is None or live.agent_id != agent_id:
            live = self._live[call_id] = _Live(agent_id)
        if live.busy:
            self.refused += 1
            raise Refused(409, "another action on this call is under way", "control_busy")
        live.busy = True
        return live

    def _agent_skill(self, agent_id: str, to_agent: str) -> str:
        """The skill a transfer to ``to_agent`` is routed by (they get it first)."""
        target = self._agents(to_agent)
        refusal = None
        if target is None:
            refusal = Refused(404, f"no such agent: {to_agent!r}", "unknown_agent")
        elif to_agent == agent_id:
            refusal = Refused(400, "you cannot transfer a call to yourself", "self_transfer")
        elif not target.ready or not target.skill:
            refusal = Refused(409, f"{to_agent} is not ready", "agent_not_ready")
        if refusal is not None:
            self.refused += 1
            raise refusal
        assert target is not None
        return target.skill

    def _target(self, agent_id: str, skill: str, note: str, to_agent: str,
                number: str) -> tuple[str, str]:
        """The skill a transfer is routed by, or the outside number it dials."""
        if number:
            return "", self._outside_number(number, note)
        if to_agent:
            skill = self._agent_skill(agent_id, to_agent)
        self._check_target(skill, note)
        return skill, ""

    def _outside_number(self, asked: str, note: str) -> str:
        try:
            outside = self.outside.resolve(asked)
        except Refused:
            self.refused += 1
            log.warning("outside_transfer_refused", number=mask_number(asked))
            raise
        if len(note) > MAX_NOTE:
            self.refused += 1
            raise Refused(400, f"the note is longer than {MAX_NOTE} characters", "bad_note")
        return outside.number

    def _check_target(self, skill: str, note: str) -> None:
        if len(note) > MAX_NOTE:
            self.refused += 1
            raise Refused(400, f"the note is longer than {MAX_NOTE} characters", "bad_note")
        if skill not in self._skills() or not SKILL_EXTEN.match(skill):
            self.refused += 1
            raise Refused(404, f"no such skill: {skill!r}", "unknown_skill")

    async def _carry_out(self, call: Call, live: _Live, verb: Verb,
                         ticket: TransferTicket | None = None) -> None:
        live.state = adopted(call, live.state)
        if ticket is not None and ticket.outside:
            decided = plan_outside(_view(call), live.state, ticket.number)
        else:
            decided = plan(_view(call), live.state, verb, token=f"{secrets.randbelow(10**9):09d}",
                           target=ticket.skill if ticket is not None else "")
        confirm = _CONFIRMED_BY.get(verb)
        waiter = self._expect(live, confirm) if confirm is not None else None
        if ticket is not None:
            self.desk.put(ticket)
            if call.agent is not None:  # for the agent's leg in the call's record
                call.agent.note = ticket.note
        try:
            await self._send_all(decided)
            if waiter is not None:
                await asyncio.wait_for(asyncio.shield(waiter), self._confirm_s)
        except TimeoutError:
            await self._undo(call, decided, verb)
            raise Refused(504, "Asterisk did not confirm the action", f"{verb}_not_confirmed") \
                from None
        except Refused:
            self.desk.drop(call.linkedid)
            raise
        finally:
            if confirm is not None:
                live.waiters.pop(confirm, None)
        live.state = decided.state
        log.info("call_control", call_id=call.linkedid, agent_id=live.agent_id, action=verb.value)
        self._tell(call.linkedid, live)

    def _expect(self, live: _Live, kind: type[CallEvent]) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        live.waiters[kind] = future
        return future

    async def _send_all(self, decided: Plan) -> None:
        for action in decided.actions:
            try:
                await self._send(action)
            except AmiError as exc:
                raise Refused(502, f"Asterisk refused the action: {exc}", "pbx_refused") from exc

    async def _undo(self, call: Call, decided: Plan, verb: Verb) -> None:
        """A hold nobody confirmed: stop its music, give the agent their audio back. A transfer
        nobody confirmed: its ticket is dropped (the caller did not leave)."""
        if verb is Verb.TRANSFER:
            self.desk.drop(call.linkedid)
        if verb is not Verb.HOLD:
            return
        undo = plan(_view(call), decided.state, Verb.RESUME)
        for action in undo.actions:
            try:
                await self._send(action)
            except AmiError as exc:
                log.warning("call_control_undo_failed", call_id=call.linkedid, error=str(exc))

    def _tell(self, call_id: str, live: _Live) -> None:
        self._publish(live.agent_id, {"type": "control", **self.state(call_id, live)})

    # --- facts from the tracker ------------------------------------------------------------

    def on_call_event(self, event: CallEvent) -> None:
        """Dispatcher subscriber: confirmations, and the end of the agent's talk."""
        if isinstance(event, CallEnded):  # an outside number answered: its ticket is not needed
            self.desk.drop(event.call_id)
        before = self.consults.consult(event.call_id)
        self.consults.on_call_event(event)
        changed = before is not None and self.consults.consult(event.call_id) != before
        if isinstance(event, Transferred):
            self._softphone_transfer(event)
        if isinstance(event, Resumed) and event.music_lost:
            self._tasks.spawn(self._music_lost(event.call_id))
            return
        live = self._live.get(event.call_id)
        if live is None:
            return
        if changed and not live.busy and not isinstance(event, AgentHungUp | CallEnded):
            # the colleague answered (Complete / Conference may go now), or however it closed
            # (the colleague hung up or never answered): the call bar drops Complete /
            # Conference / Cancel (an action under way answers for itself)
            self._tell(event.call_id, live)
        if isinstance(event, Transferred):
            waiter = live.waiters.get(Transferred)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif isinstance(event, Held | Resumed):
            waiter = live.waiters.get(type(event))
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            elif not live.busy:  # the music stopped on its own (E: the caller left)
                live.state = Control(muted=live.state.muted)
                self._tell(event.call_id, live)
        elif isinstance(event, AgentHungUp | CallEnded):
            if Transferred in live.waiters:  # the transfer's own hang-up: act() ends it
                return
            self._ended(event.call_id, live)

    async def _music_lost(self, call_id: str) -> None:
        """The hold music ended while the link was down (nobody resumed): the caller is put
        back on hold with new music, as the agent left them; if that fails, the agent's audio
        is given back (never muted in silence). Either way the agent's screen is told."""
        call, agent_id = self._calls(call_id), self._owner(call_id)
        if call is None or not agent_id or not call.live:
            return
        live = self._live.get(call_id)
        if live is None or live.agent_id != agent_id:
            live = self._live[call_id] = _Live(agent_id)
        if live.busy:  # the agent's own action decides
            return
        live.busy = True
        live.state = replace(live.state, held=False, hold_token="")
        notice = "hold_music_restarted"
        try:
            await self._carry_out(call, live, Verb.HOLD)
        except Refused as exc:
            log.warning("hold_music_not_restarted", call_id=call_id, error_id=exc.error_id)
            notice = "hold_music_lost"
            await self._give_audio_back(call, live)
        finally:
            live.busy = False
        if self._live.get(call_id) is live:
            self._publish(agent_id, {"type": "control", **self.state(call_id, live), "notice": notice})

    async def _give_audio_back(self, call: Call, live: _Live) -> None:
        live.state = replace(live.state, held=False, hold_token="")
        try:
            actions = plan(_view(call), replace(live.state, held=True), Verb.RESUME).actions
        except Refused:
            return  # the call is over or no longer the agent's: nothing is muted any more
        for action in actions:
            await self._send_quietly(action, call.linkedid)

    def _softphone_transfer(self, event: Transferred) -> None:
        """A blind transfer the agent made from their phone (SIP REFER to a skill's name, in
        ``TRANSFER_CONTEXT``): the caller comes back to routing as from the console, no note."""
        if event.call_id in self.desk or not SKILL_EXTEN.match(event.target) \
                or event.target not in self._skills():
            return
        by = self._owner(event.call_id) or ""
        self.desk.put(TransferTicket(event.call_id, event.target, by, "", self._now()))
        log.info("call_transferred_from_phone", call_id=event.call_id, agent_id=by,
                 skill=event.target)

    def _ended(self, call_id: str, live: _Live) -> None:
        del self._live[call_id]
        for stop in stop_music(live.state):  # the agent's leg ended on hold: stop the music
            self._tasks.spawn(self._send_quietly(stop, call_id))

    async def _send_quietly(self, action: Action | messages.Originate, call_id: str) -> None:
        try:
            await self._send(action)
        except AmiError as exc:
            log.info("call_control_cleanup_failed", call_id=call_id, error=str(exc))

    async def wait_idle(self) -> None:
        """Until the clean-ups started so far are answered (tests, shutdown)."""
        await self._tasks.wait_idle()
        await self.consults.tasks.wait_idle()

    async def close(self) -> None:
        """On shutdown: the clean-ups under way get their answers (the AMI link closes after)."""
        await self.wait_idle()

    def statistics(self) -> dict[str, Any]:
        return {"calls": len(self._live), "done": self.done, "refused": self.refused,
                "transfers_waiting": len(self.desk), "transfers_taken": self.desk.taken,
                **self.consults.statistics()}


def adopted(call: Call, state: Control) -> Control:
    """The control state, with a hold the tracker knows of and this service does not (the
    server restarted, or the link came back, while the caller held)."""
    token = call.hold_channel.removeprefix("Local/").split("@", 1)[0]
    if call.held_since is not None and not state.held and token.isdigit():
        return replace(state, held=True, hold_token=token)
    return state


def _view(call: Call) -> CallView:
    caller, agent = call.caller, call.agent
    talking = call.state is CallState.TALKING and agent is not None and agent.ended_at is None
    return CallView(call.linkedid, call.live, talking, caller.channel if caller else "",
                    agent.channel if agent is not None and agent.ended_at is None else "")
