"""A monitoring session and the ChanSpy options of each mode.

Asterisk 22 ``ChanSpy(<chanprefix>,<options>)`` (app_chanspy): ``q`` no beep nor channel name
announced to the spy; ``w`` whisper: the spy's audio is mixed into what the spied-on channel
sends to its own phone (the agent hears it, the caller does not); ``B`` barge: mixed into both
channels of the bridge (agent and caller hear it); ``E`` exit, and so hang the spy's phone up,
when the spied-on channel hangs up. Without ``w``/``B`` the spy only listens (to both sides).
``d``: DTMF on the spy's channel switches the mode of the live spy (4 listen, 5 whisper, 6
barge; both whisper paths are set up from the start), so a switch never rings the phone again
(the server injects the digit with ``PlayDTMF`` ``Receive: true``). The supervisor can press
the same digits on their phone: Asterisk reports each as ``DTMFEnd`` ``Direction: Received`` on
the spy's channel, and the stored session follows.
The spied-on channel is the agent's own channel (``PJSIP/1001-0000002a``), named exactly, so
the prefix matches nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


CHANSPY_OPTIONS: dict[Mode, str] = {Mode.LISTEN: "qdE", Mode.WHISPER: "qwdE", Mode.BARGE: "qBdE"}
MODE_DIGITS: dict[Mode, str] = {Mode.LISTEN: "4", Mode.WHISPER: "5", Mode.BARGE: "6"}
DIGIT_MODES: dict[str, Mode] = {digit: mode for mode, digit in MODE_DIGITS.items()}


class EndReason(StrEnum):
    STOPPED = "stopped"  # the supervisor pressed stop
    SWITCHED = "switched"  # replaced by a session in another mode
    CALL_ENDED = "call_ended"
    AGENT_LEFT = "agent_left"  # the spied-on agent transferred the call, which goes on
    HUNG_UP = "hung_up"  # the supervisor's phone hung up
    PHONE_UNAVAILABLE = "phone_unavailable"  # never answered / not registered
    FAILED = "failed"  # the PBX refused the Originate or the link dropped
    SERVER_RESTART = "server_restart"  # open when the server stopped


@dataclass(slots=True)
class Session:
    """One supervisor on one call in one mode. ``channel_id`` is the uniqueid the Originate
    gives the supervisor's channel (``ChannelId``), so its events are found without a name."""

    id: int
    supervisor: str
    call_id: str
    agent_id: str
    agent_channel: str
    agent_uniqueid: str
    mode: Mode
    phone: str
    channel_id: str
    started_at: float
    spy_channel: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None
    action_id: str = ""
    note: str = ""  # why the supervisor's last switch on this session was refused (an error_id)

    @property
    def live(self) -> bool:
        return self.ended_at is None

    @property
    def state(self) -> str:
        if self.ended_at is not None:
            return "ended"
        return "ringing" if self.answered_at is None else "active"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "supervisor": self.supervisor, "call_id": self.call_id,
                "agent_id": self.agent_id, "mode": self.mode.value, "phone": self.phone,
                "state": self.state, "spy_channel": self.spy_channel, "started_at": self.started_at,
                "answered_at": self.answered_at, "ended_at": self.ended_at,
                "end_reason": self.end_reason.value if self.end_reason else None, "note": self.note}
