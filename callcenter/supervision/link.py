"""The monitoring sessions and the AMI link: a spy the server could not hang up while the link
was down (an "orphan") is hung up once it is back, by its uniqueid, never by its name.

Every spy leg's Originate gives the supervisor's channel a ``ChannelId`` (the session's
``channel_id``), which Asterisk 22 makes the channel's uniqueid; its ``Hangup`` action takes a
uniqueid wherever it takes a channel name. A name such as ``PJSIP/1090-00000003`` is only the
spy's while Asterisk runs: restarted meanwhile, it counts channels from 1 again and the name may
be a new, unrelated call's. The uniqueid is never reused: hung up by it, the spy goes if it is
still there, and nothing else does if it is not.

A part of :class:`~callcenter.supervision.service.SupervisionService` (its base), kept apart
for size: the state and the session steps it uses are the service's.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from callcenter.ami import messages
from callcenter.ami.errors import AmiError, AmiLinkLost, AmiNotConnected
from callcenter.metrics import count_caught
from callcenter.supervision.keys import PhoneKeys
from callcenter.supervision.model import EndReason, Session

log = structlog.get_logger("callcenter.supervision")

LINK_DOWN = (AmiNotConnected, AmiLinkLost)  # not sent, or lost with the link: retried when it is back


class SpyLink(PhoneKeys):
    """The service's handling of the AMI link going down and coming back."""

    _clock: Callable[[], float]
    _orphans: set[str]  # uniqueids (channel_ids) of spies to hang up once the link is back

    async def _hang_up(self, session: Session) -> None:
        """Hang up ``session``'s spy (by name: the link is up, the name is the spy's); if the
        link is down, once it is back (by uniqueid)."""
        try:
            await self._send(messages.hangup(session.spy_channel))
        except AmiError as exc:  # gone already (Asterisk said so), or the link is down
            if isinstance(exc, LINK_DOWN):
                self._orphans.add(session.channel_id)
            log.info("supervision_hangup_not_done", channel=session.spy_channel, error=str(exc))

    async def on_link(self, state: str) -> None:
        """``AmiClient.observe_link``. Down: the sessions can no longer be followed; they end
        (``failed``) and their spies are hung up once the link is back (also one still ringing,
        whose name the server may not know yet: its uniqueid is the ``ChannelId`` it was rung
        with). Up: those spies are hung up, and rows left open by a previous run of the server
        are closed (``server_restart``)."""
        if state == "down":
            for session in list(self._live.values()):
                await self._end(session, EndReason.FAILED, hang_up=False)
                if session.spy_channel or session.action_id:
                    self._orphans.add(session.channel_id)
            self._orphan_switching()
            return
        orphans, self._orphans = sorted(self._orphans), set()
        for uniqueid in orphans:
            await self._hang_up_orphan(uniqueid)
        try:
            await self.store.close_stale([s.id for s in self._live.values()], self._clock())
        except Exception:
            count_caught(self._metrics, "supervision_stale_rows_not_closed")
            log.exception("supervision_stale_rows_not_closed")

    async def _hang_up_orphan(self, uniqueid: str) -> None:
        """A spy left while the link was down, by its uniqueid (Asterisk answers "No such
        channel" when it is gone, with its phone or with a restart)."""
        try:
            await self._send(messages.hangup(uniqueid))
        except AmiError as exc:
            if isinstance(exc, LINK_DOWN):  # down again: when it is back
                self._orphans.add(uniqueid)
            log.info("supervision_orphan_hangup_not_done", uniqueid=uniqueid, error=str(exc))
            return
        log.info("supervision_orphan_hung_up", uniqueid=uniqueid)

    def _orphan_switching(self) -> None:
        """The phones the server still follows out of ``_live`` when the link goes down are
        forgotten and hung up once it is back: switches being stored (each new row is closed
        when it is written: :meth:`_record_switch` finds the phone gone), and sessions that
        ended while their Originate may have reached Asterisk (its answer timed out or was lost
        with the link): Asterisk may ring that phone later, and a pickup would spy unrecorded."""
        for channel_id, left in list(self._by_channel.items()):
            del self._by_channel[channel_id]
            self._drop_keys(left)
            if left.spy_channel or left.action_id:
                self._orphans.add(channel_id)
