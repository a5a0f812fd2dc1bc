"""Modes keyed on the supervisor's phone: ChanSpy's ``d`` switches the live spy on a digit
received on its channel (4 listen, 5 whisper, 6 barge), whether the server played it (a switch
asked on the wallboard) or the supervisor pressed it. The stored session (the wallboard, the
audit, the one-barge guard) follows, up to the last digit, once no other switch of that phone is
in flight; a barge keyed on a call someone else barges is refused and ChanSpy put back, also
when the database refuses it (another barge's row written between the check and the write):
the supervisor goes on in the previous mode and their wallboard says why.

A part of :class:`~callcenter.supervision.service.SupervisionService` (its base), kept apart
for size: the state and the session steps it uses are the service's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiEvent, AmiResponse
from callcenter.metrics import Metrics, count_caught
from callcenter.supervision.actions import spy_mode_dtmf
from callcenter.supervision.errors import BargeTaken, PbxUnavailable, SupervisionError
from callcenter.supervision.model import DIGIT_MODES, EndReason, Mode, Session
from callcenter.supervision.rules import fallback_mode
from callcenter.supervision.store import SessionRows

log = structlog.get_logger("callcenter.supervision")

# what a step the server lives without can run into: a refusal, the PBX or the database gone
EXPECTED = (SupervisionError, AmiError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
Send = Callable[[Action], Awaitable[AmiResponse]]
Audit = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]


class PhoneKeys:
    """The service's handling of mode digits (see the module docstring)."""

    _send: Send
    _metrics: Metrics | None
    _by_channel: dict[str, Session]  # channel_id -> session
    _spies: dict[str, str]  # answered spy channel -> its channel_id (across switches)
    _keyed: dict[str, Mode]  # channel_id -> the mode ChanSpy was last given a digit for
    _switching: set[str]  # channel_ids whose session's mode is being switched
    _audit_to: Audit | None
    _live: dict[int, Session]
    store: SessionRows
    switched_on_phone: int
    refused_on_phone: int

    # the service's steps
    async def _record_switch(self, session: Session, mode: Mode) -> Session:
        raise NotImplementedError

    async def _end(self, session: Session, reason: EndReason, *, hang_up: bool) -> None:
        raise NotImplementedError

    def _barge_free(self, mine: Session) -> bool:
        raise NotImplementedError

    def _spawn(self, work: Awaitable[None]) -> None:
        raise NotImplementedError

    async def _hang_up(self, session: Session) -> None:
        raise NotImplementedError

    def _drop_keys(self, session: Session) -> None:
        """Digits from ``session``'s spy switch nothing any more."""
        if self._spies.get(session.spy_channel) == session.channel_id:
            del self._spies[session.spy_channel]
        self._keyed.pop(session.channel_id, None)

    async def _give_chanspy(self, session: Session, mode: Mode) -> None:
        """The digit of ``mode`` played into the live spy. It is the last digit ChanSpy was
        given until a later one is reported (the phone's, or this one's own echo).

        Raises: PbxUnavailable."""
        before = self._keyed.get(session.channel_id)
        self._keyed[session.channel_id] = mode
        try:
            await self._send(spy_mode_dtmf(session.spy_channel, mode))
        except AmiError as exc:
            if self._keyed.get(session.channel_id) is mode:  # no digit came since: as it was
                self._keyed.pop(session.channel_id)
                if before is not None:
                    self._keyed[session.channel_id] = before
            raise PbxUnavailable(f"the PBX did not switch the mode: {exc}") from None

    def _digit(self, event: AmiEvent) -> None:
        """A digit received on a live spy's channel: ChanSpy's ``d`` switches the spy's mode
        (4 listen, 5 whisper, 6 barge), whether the server played it (a switch asked on the
        wallboard, recorded there) or the supervisor pressed it on their phone, even while an
        earlier switch is being recorded."""
        mode = DIGIT_MODES.get(event.get("Digit"))
        channel_id = self._spies.get(event.channel) if event.channel else None
        if mode is None or channel_id is None:
            return
        self._keyed[channel_id] = mode
        self._follow_keys(channel_id)

    def _follow_keys(self, channel_id: str) -> None:
        """ChanSpy switched (``d``) on a digit received on the spy's channel: the stored session
        (the wallboard, the audit, the one-barge guard) follows, up to the last digit, once no
        other switch of that phone is in flight."""
        if channel_id not in self._switching and self._next_key(channel_id) is not None:
            self._switching.add(channel_id)
            self._spawn(self._follow_phone(channel_id))

    def _next_key(self, channel_id: str) -> tuple[Session, Mode] | None:
        session = self._by_channel.get(channel_id)
        mode = self._keyed.get(channel_id)
        if session is None or not session.live or mode is None or mode is session.mode:
            return None
        return session, mode

    async def _follow_phone(self, channel_id: str) -> None:
        try:
            while (keyed := self._next_key(channel_id)) is not None:
                session, mode = keyed
                if mode is Mode.BARGE and not self._barge_free(session):
                    await self._refuse_barge(session)
                    continue
                try:
                    new = await self._record_switch(session, mode)
                except BargeTaken:  # the database's last word: the spy went back, and goes on
                    await self._barge_refused(self._by_channel.get(channel_id) or session, "phone")
                    continue
                log.info("supervision_switched_on_phone", session=session.id, to_session=new.id,
                         mode=mode.value)
                self.switched_on_phone += 1
                await self._audit(new.supervisor, "call_monitor_switched", new.call_id,
                                  {"mode": mode.value, "session": new.id, "by": "phone"})
        except Exception as exc:
            self._caught("supervision_phone_switch_not_recorded", exc, channel_id=channel_id)
        finally:
            self._switching.discard(channel_id)

    async def _refuse_barge(self, session: Session) -> None:
        """6 keyed while another supervisor barges on the call: ChanSpy is given the digit of
        the session's mode back, and the session goes on as it was."""
        try:
            await self._give_chanspy(session, session.mode)
        except PbxUnavailable:  # it must not go on barging unrecorded
            await self._end(session, EndReason.FAILED, hang_up=True)
            raise
        finally:
            await self._barge_refused(session, "phone")

    async def _barge_refused(self, session: Session, by: str) -> None:
        """A barge keyed on the phone (``by`` ``phone``) or asked on the wallboard (``wallboard``:
        the database refused it, ``session`` is the one going on anew) was refused; ``session``
        goes on in its mode: counted (``supervision_{by}_barge_refused``), audited, and the
        supervisor's wallboard told why (the session's note)."""
        session.note = BargeTaken.error_id
        if by == "phone":
            self.refused_on_phone += 1
        where = f"supervision_{by}_barge_refused"
        count_caught(self._metrics, where)
        log.info(where, session=session.id, call_id=session.call_id, mode=session.mode.value)
        await self._audit(session.supervisor, "call_monitor_switch_refused", session.call_id,
                          {"mode": Mode.BARGE.value, "session": session.id, "by": by,
                           "error_id": BargeTaken.error_id})

    async def _open_switched(self, session: Session, mode: Mode, at: float) -> tuple[int, Mode]:
        """The row of the session going on after a switch to ``mode``, and its mode: ``mode``,
        or the previous one when the database refuses the barge (:func:`fallback_mode`; ChanSpy
        is given that mode's digit back). A phone recorded in neither is hung up (raised)."""
        try:
            return await self._open_row(session, mode, at), mode
        except Exception as exc:
            back = fallback_mode(session.mode, mode, exc)
            if back is None:  # no row: the phone must not go on unrecorded
                await self._let_go(session)
                raise
        try:
            await self._give_chanspy(session, back)
            return await self._open_row(session, back, at), back
        except Exception:
            await self._let_go(session)
            raise

    async def _let_go(self, session: Session) -> None:
        """A spy recorded in no row (its session ended ``switched``): forgotten, so that its
        digits switch nothing, and hung up (once the link is back, when it is down)."""
        if self._by_channel.get(session.channel_id) is session:
            del self._by_channel[session.channel_id]
        self._drop_keys(session)
        await self._hang_up(session)

    async def _open_row(self, session: Session, mode: Mode, at: float) -> int:
        return await self.store.open(session.supervisor, session.call_id, session.agent_id, mode,
                                     session.phone, at, live=[s.id for s in self._live.values()])

    async def _audit(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        if self._audit_to is None:
            return
        try:
            await self._audit_to(actor, action, target, detail)
        except Exception as exc:
            self._caught("supervision_audit_failed", exc, action=action)

    def _caught(self, where: str, exc: Exception, **fields: Any) -> None:
        """Counted; an expected error logged without a traceback (a refusal at info)."""
        count_caught(self._metrics, where)
        if isinstance(exc, SupervisionError):
            log.info(where, error_id=exc.error_id, error=exc.message, **fields)
        elif isinstance(exc, EXPECTED):
            log.warning(where, error=f"{type(exc).__name__}: {exc}"[:300], **fields)
        else:
            log.exception(where, **fields)
