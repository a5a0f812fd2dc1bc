"""Monitoring sessions: start (ring the supervisor's phone into ChanSpy on the agent's channel),
switch mode (the live spy switches; the session ends and one in the new mode goes on), stop,
and follow them on the AMI stream until they end. Every session is a row of
``supervision_sessions`` from the moment it is asked for to its end, with why it ended.

Rules: the call must be live with an agent talking on it; one live session per supervisor (they
have one phone); one barge per call (the database's partial unique indexes are the last word,
so two requests racing each other cannot both win). A session ends when the supervisor's phone
hangs up (ChanSpy's ``E`` hangs it up when the agent's channel goes), when the call ends (the
server then hangs the phone up itself, in case it was still ringing), or on stop.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from callcenter.ami.errors import AmiError, AmiLinkLost, AmiTimeout
from callcenter.ami.messages import Action, AmiEvent
from callcenter.calls.model import Call
from callcenter.metrics import Metrics, count_caught
from callcenter.runtime.tasks import Tasks
from callcenter.supervision.actions import spy_originate
from callcenter.supervision.errors import (
    AlreadyMonitoring,
    BargeTaken,
    CallEnded,
    NoPhone,
    PbxUnavailable,
    PhoneUnavailable,
    SessionNotFound,
    SessionStopped,
)
from callcenter.supervision.keys import Audit, Send
from callcenter.supervision.link import SpyLink
from callcenter.supervision.model import EndReason, Mode, Session
from callcenter.supervision.rules import barge_free, check_free, spied_call
from callcenter.supervision.store import SessionRows

log = structlog.get_logger("callcenter.supervision")

RING_TIMEOUT_S = 20.0


class SupervisionService(SpyLink):
    """Args:
        send: the AMI link's ``send``.
        call_of: the tracker's live call by id (linkedid).
        agent_of_channel: the agent login whose phone a channel belongs to.
        store: the sessions' rows and the supervisors' phones.
        clock: the server's time.
        audit: ``(actor, action, target, detail)`` into the audit log, for what the supervisor
            did on their phone and a wallboard barge the database refused (the web layer
            audits the rest of what they do on the wallboard).
    """

    def __init__(self, send: Send, call_of: Callable[[str], Call | None],
                 agent_of_channel: Callable[[str], str | None], store: SessionRows,
                 clock: Callable[[], float], ring_timeout_s: float = RING_TIMEOUT_S,
                 metrics: Metrics | None = None, audit: Audit | None = None) -> None:
        self._send = send
        self._metrics = metrics
        self._call_of = call_of
        self._agent_of = agent_of_channel
        self.store = store
        self._clock = clock
        self._ring_s = ring_timeout_s
        self._live: dict[int, Session] = {}
        self._by_channel: dict[str, Session] = {}  # channel_id -> session
        self._answers: dict[int, asyncio.Future[bool]] = {}
        self._tasks = Tasks()
        self._reserved: set[tuple[str, str]] = set()  # (supervisor, call barged or "") being opened
        self._orphans: set[str] = set()  # uniqueids of spies to hang up once the link is back
        self._spies: dict[str, str] = {}  # answered spy channel -> its channel_id (across switches)
        self._keyed: dict[str, Mode] = {}  # channel_id -> the mode ChanSpy was last given a digit for
        self._switching: set[str] = set()  # channel_ids whose session's mode is being switched
        self._audit_to = audit
        self.switched_on_phone = 0
        self.refused_on_phone = 0
        self.started = 0
        self.refused = 0

    # --- use cases ---------------------------------------------------------------------------

    async def start(self, supervisor: str, call_id: str, mode: Mode) -> Session:
        """Ring the supervisor's phone into the call; returns once they picked up.

        Raises:
            CallNotFound, CallEnded, NoAgentYet, NoPhone, AlreadyMonitoring, BargeTaken,
            PhoneUnavailable, PbxUnavailable.
        """
        try:
            call = self._spied_call(call_id)
            self._check_free(supervisor, call_id, mode)
        except Exception:
            self.refused += 1
            raise
        reservation = (supervisor, call_id if mode is Mode.BARGE else "")
        self._reserved.add(reservation)  # taken before the first await: a double click sees it
        try:
            phone = await self.store.phone(supervisor)
            if not phone:
                raise NoPhone("give your phone first (your extension, such as PJSIP/1009)")
            session = await self._open(supervisor, call, mode, phone)
        except Exception:
            self.refused += 1
            raise
        finally:
            self._reserved.discard(reservation)
        return await self._ring(session, call)

    async def switch(self, supervisor: str, session_id: int, mode: Mode) -> Session:
        """Go on in ``mode`` on the same call: the session ends ``switched`` and a new one takes
        over. On the phone, the live spy switches (a digit received on the spy's channel) and
        the phone does not ring again; a phone still ringing is hung up and rung anew.

        Raises: as :meth:`start`, and SessionNotFound."""
        session = self._own(supervisor, session_id)
        if session.answered_at is None or not session.spy_channel:
            await self._end(session, EndReason.SWITCHED, hang_up=True)
            return await self.start(supervisor, session.call_id, mode)
        if session.channel_id in self._switching:
            raise AlreadyMonitoring("your monitoring is already switching mode")
        self._switching.add(session.channel_id)
        try:
            return await self._switch_live(session, mode)
        except Exception:
            self.refused += 1
            raise
        finally:
            self._switching.discard(session.channel_id)
            self._follow_keys(session.channel_id)  # a key pressed on the phone meanwhile

    async def _switch_live(self, session: Session, mode: Mode) -> Session:
        self._spied_call(session.call_id)
        if mode is Mode.BARGE:
            self._check_barge_free(session.call_id, session)
        await self._give_chanspy(session, mode)
        try:
            return await self._record_switch(session, mode)
        except BargeTaken:  # the database's: the session goes on anew in its previous mode...
            going_on = self._by_channel.get(session.channel_id)
            if going_on is not None and going_on is not session and going_on.live:
                await self._barge_refused(going_on, "wallboard")
            raise  # ...unless it could not go back (let go, hung up: nothing goes on to tell of)

    async def _record_switch(self, session: Session, mode: Mode) -> Session:
        """The live spy switched to ``mode``: the session ends ``switched``, one in ``mode``
        goes on (a phone whose new session cannot be recorded is hung up; a barge the database
        refuses goes on in the previous mode, then BargeTaken). Between the two, the
        supervisor's place (and the call's barge) stays reserved."""
        reservation = (session.supervisor, session.call_id if mode is Mode.BARGE else "")
        self._reserved.add(reservation)
        try:
            await self._end(session, EndReason.SWITCHED, hang_up=False)
            now = self._clock()
            new_id, kept = await self._open_switched(session, mode, now)
        finally:
            self._reserved.discard(reservation)
        new = Session(new_id, session.supervisor, session.call_id, session.agent_id,
                      session.agent_channel, session.agent_uniqueid, kept, session.phone,
                      session.channel_id, now, spy_channel=session.spy_channel, answered_at=now,
                      action_id=session.action_id)
        if self._by_channel.get(new.channel_id) is not session:  # the phone hung up, or the link went
            gone = EndReason.FAILED if new.channel_id in self._orphans else EndReason.HUNG_UP
            new.ended_at, new.end_reason = now, gone
            await self._close_row(new, gone)
            raise SessionStopped("your phone hung up, or was lost, while the mode was switching")
        self._live[new_id] = new
        self._by_channel[new.channel_id] = new
        await self.store.answered(new_id, new.spy_channel, now)
        if kept is not mode:
            new.note = BargeTaken.error_id
            raise BargeTaken(f"another supervisor started barging into this call first; you are"
                             f" back in {kept.value} mode")
        log.info("supervision_switched", session=session.id, to_session=new_id, mode=mode.value)
        return new

    async def stop(self, supervisor: str, session_id: int) -> Session:
        """Raises: SessionNotFound (not live, or someone else's)."""
        session = self._own(supervisor, session_id)
        await self._end(session, EndReason.STOPPED, hang_up=True)
        return session

    def sessions(self) -> list[Session]:
        """The live sessions, oldest first."""
        return sorted(self._live.values(), key=lambda s: s.id)

    # --- checks ------------------------------------------------------------------------------

    def _spied_call(self, call_id: str) -> Call:
        return spied_call(self._call_of(call_id), call_id)

    def _check_free(self, supervisor: str, call_id: str, mode: Mode) -> None:
        check_free(supervisor, call_id, mode, self._reserved, self._live.values())

    def _check_barge_free(self, call_id: str, mine: Session) -> None:
        if not self._barge_free(mine):
            raise BargeTaken("another supervisor is already barging into this call")

    def _barge_free(self, mine: Session) -> bool:
        return barge_free(mine, self._reserved, self._live.values())

    def _own(self, supervisor: str, session_id: int) -> Session:
        session = self._live.get(session_id)
        if session is None or session.supervisor != supervisor:
            raise SessionNotFound(f"no live session {session_id} of yours")
        return session

    # --- a session's life --------------------------------------------------------------------

    async def _open(self, supervisor: str, call: Call, mode: Mode, phone: str) -> Session:
        agent = call.agent
        assert agent is not None
        agent_id = self._agent_of(agent.channel) or ""
        now = self._clock()
        session_id = await self.store.open(supervisor, call.linkedid, agent_id, mode, phone, now,
                                           live=[s.id for s in self._live.values()])
        session = Session(session_id, supervisor, call.linkedid, agent_id, agent.channel,
                          agent.uniqueid, mode, phone, f"spy-{session_id}-{secrets.token_hex(4)}", now)
        if not call.live or not self._call_live(session):  # ended while the row was written
            await self._close_row(session, EndReason.CALL_ENDED)
            raise CallEnded("the call has ended")
        self._live[session_id] = session
        self._by_channel[session.channel_id] = session
        self._answers[session_id] = asyncio.get_running_loop().create_future()
        log.info("supervision_started", session=session_id, supervisor=supervisor,
                 call_id=call.linkedid, agent_id=agent_id, mode=mode.value)
        return session

    async def _ring(self, session: Session, call: Call) -> Session:
        answer = self._answers[session.id]
        caller = call.caller
        number = caller.caller_number if caller is not None else ""
        caller_id = f'"{session.mode.value}: {session.agent_id or "agent"}" <{number}>'
        try:
            await self._send(spy_originate(session, self._ring_s, caller_id))
        except AmiError as exc:
            if not isinstance(exc, (AmiLinkLost, AmiTimeout)):  # not sent, or refused: no phone rings
                self._by_channel.pop(session.channel_id, None)
            # otherwise still followed: hung up if Asterisk rings it (or once the link is back)
            await self._end(session, EndReason.FAILED, hang_up=False)
            raise PbxUnavailable(f"the PBX did not take the call: {exc}") from None
        try:
            picked_up = await asyncio.wait_for(asyncio.shield(answer), self._ring_s + 10.0)
        except TimeoutError:
            picked_up = False
        if not picked_up:
            ended_before = session.end_reason
            # a phone still ringing is hung up; one stopped or ended with the call already was
            await self._end(session, EndReason.PHONE_UNAVAILABLE, hang_up=ended_before is None)
            if ended_before is EndReason.CALL_ENDED:
                raise CallEnded("the call ended before your phone was answered")
            if ended_before not in (None, EndReason.PHONE_UNAVAILABLE):
                raise SessionStopped(f"monitoring ended ({ended_before.value}) before your phone answered")
            raise PhoneUnavailable(f"your phone {session.phone} did not answer (is it registered?)")
        self.started += 1
        return session

    async def _end(self, session: Session, reason: EndReason, *, hang_up: bool) -> None:
        if session.live:
            session.ended_at, session.end_reason = self._clock(), reason
            self._forget(session)
            if reason is not EndReason.SWITCHED:  # its phone's digits switch nothing any more
                self._drop_keys(session)
            log.info("supervision_ended", session=session.id, reason=reason.value)
            await self._close_row(session, reason)
        if hang_up and session.spy_channel:
            await self._hang_up(session)

    def _forget(self, session: Session) -> None:
        self._live.pop(session.id, None)
        answer = self._answers.pop(session.id, None)
        if answer is not None and not answer.done():
            answer.set_result(False)

    async def _close_row(self, session: Session, reason: EndReason) -> None:
        try:
            await self.store.close(session.id, reason, session.ended_at or self._clock())
        except Exception:
            count_caught(self._metrics, "supervision_row_not_closed")
            log.exception("supervision_row_not_closed", session=session.id)

    def _call_live(self, session: Session) -> bool:
        call = self._call_of(session.call_id)
        agent = call.agent if call is not None else None
        return call is not None and call.live and agent is not None and agent.ended_at is None

    # --- the AMI stream ----------------------------------------------------------------------

    def on_action(self, action: Action, action_id: str, at: float) -> None:
        """``AmiClient.observe_actions``: remember which Originate rang which session."""
        del at
        if action.name == "Originate":
            session = self._by_channel.get(action.header("ChannelId"))
            if session is not None:
                session.action_id = action_id

    def on_ami_event(self, event: AmiEvent) -> None:
        """A dispatcher listener: the sessions' channels appear, answer and hang up; the
        spied-on agent's channel hangs up."""
        name = event.name
        if name == "Newchannel":
            session = self._by_channel.get(event.uniqueid)
            if session is not None:
                session.spy_channel = event.channel
        elif name == "OriginateResponse":
            self._originated(event)
        elif name == "DTMFEnd" and event.get("Direction") == "Received":
            self._digit(event)
        elif name == "Hangup":
            self._hung_up(event)

    def _originated(self, event: AmiEvent) -> None:
        action_id = event.action_id
        session = next((s for s in self._by_channel.values() if s.action_id == action_id), None)
        if session is None or not action_id:
            return
        ok = event.get("Response") == "Success"
        if ok:
            session.spy_channel = event.channel or session.spy_channel
            if not session.live:  # stopped while ringing: it must not go on spying
                self._spawn(self._hang_up(session))
                return
            session.answered_at = self._clock()
            if session.spy_channel:
                self._spies[session.spy_channel] = session.channel_id
            self._spawn(self.store.answered(session.id, session.spy_channel, session.answered_at))
        else:
            self._by_channel.pop(session.channel_id, None)
        answer = self._answers.get(session.id)
        if answer is not None and not answer.done():
            answer.set_result(ok)

    def _hung_up(self, event: AmiEvent) -> None:
        uid = event.uniqueid
        mine = self._by_channel.pop(uid, None)
        if mine is not None:
            self._drop_keys(mine)
            reason = EndReason.HUNG_UP if self._call_live(mine) else EndReason.CALL_ENDED
            if mine.answered_at is None and reason is EndReason.HUNG_UP:
                reason = EndReason.PHONE_UNAVAILABLE  # busy, rejected: gone before it answered
            self._spawn(self._end(mine, reason, hang_up=False))
            return
        for session in list(self._live.values()):
            if session.agent_uniqueid == uid:  # the spied-on agent's channel is gone
                call = self._call_of(session.call_id)
                leg = call.legs.get(uid) if call is not None else None
                moved = call is not None and call.live and leg is not None and leg.ended_how == "transfer"
                self._spawn(self._end(session, EndReason.AGENT_LEFT if moved else EndReason.CALL_ENDED,
                                      hang_up=True))

    def _spawn(self, work: Awaitable[None]) -> None:
        self._tasks.spawn(work)

    async def close(self) -> None:
        """Hang up every live session's phone (server stopping) and wait for the writes."""
        for session in list(self._live.values()):
            await self._end(session, EndReason.SERVER_RESTART, hang_up=True)
        await self._tasks.wait_idle()

    def statistics(self) -> dict[str, Any]:
        return {"live": len(self._live), "started": self.started, "refused": self.refused,
                "switched_on_phone": self.switched_on_phone, "refused_on_phone": self.refused_on_phone}
