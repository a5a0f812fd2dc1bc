"""The AMI actions of a monitoring session: the supervisor's phone rung into ChanSpy, and hung up.

The Originate names the supervisor's channel (``ChannelId``; ``OtherChannelId`` too for a Local
dial string, whose two halves both get one), so the call tracker leaves that channel out of
the calls and the service finds its events by uniqueid.
"""

from __future__ import annotations

from callcenter.ami.messages import Action
from callcenter.ami.sanitize import clean_text
from callcenter.supervision.model import CHANSPY_OPTIONS, MODE_DIGITS, Mode, Session


def spy_originate(session: Session, ring_timeout_s: float, caller_id: str) -> Action:
    headers = [("Channel", session.phone), ("Application", "ChanSpy"),
               ("Data", f"{session.agent_channel},{CHANSPY_OPTIONS[session.mode]}"),
               ("ChannelId", session.channel_id)]
    if session.phone.startswith("Local/"):
        headers.append(("OtherChannelId", f"{session.channel_id}-2"))
    headers += [("CallerID", clean_text(caller_id, limit=128)), ("Async", "true"),
                ("Timeout", str(int(ring_timeout_s * 1000))),
                ("Variable", f"CC_SPY={session.id}")]
    return Action("Originate", tuple(headers))


def spy_mode_dtmf(spy_channel: str, mode: Mode) -> Action:
    """The digit that switches a live ChanSpy (option ``d``) to ``mode``, as if the supervisor's
    phone had sent it: received on the spy's own channel, never sent out to the phone."""
    return Action("PlayDTMF", (("Channel", spy_channel), ("Digit", MODE_DIGITS[mode]),
                               ("Duration", "100"), ("Receive", "true")))
