"""AMI ``Atxfer`` (a consult transfer from the transferer's channel) and ``PlayDTMF`` (a digit
played to a channel; with ``Receive: true`` as if the channel had received it, how the server
presses the transfer's features codes and switches a supervisor's spy mode). The consult
itself is :mod:`.atxfer`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.ami.parser import Frame
from callcenter.simulator.replies import TRUE, Handler, Reply, SessionState, err, ok

if TYPE_CHECKING:
    from callcenter.simulator.model import Channel
    from callcenter.simulator.ports import Pbx

DTMF_DIGITS = frozenset("0123456789*#ABCDabcd")
SENT_MS = 250  # a sent digit's length when the action names none


def atxfer(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    name, exten = frame.get("Channel").strip(), frame.get("Exten").strip()
    if not name:
        return err(aid, "No channel specified")
    if not exten:
        return err(aid, "No extension specified")
    if not all(c in DTMF_DIGITS for c in exten):
        return err(aid, "Invalid extension: it is dialled as digits")
    ch = pbx.find(name)
    if ch is None or not ch.alive:
        return err(aid, "Channel specified does not exist")
    context = frame.get("Context").strip() or ch.variables.get("TRANSFER_CONTEXT", "") or ch.context
    return ok(aid, "Atxfer successfully queued", lambda: pbx.consults.atxfer(ch, context, exten))


def play_dtmf(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    name, digit = frame.get("Channel").strip(), frame.get("Digit").strip()
    if not name:
        return err(aid, "Channel not specified")
    if not digit or digit[0] not in DTMF_DIGITS:
        return err(aid, "No digit specified")
    ch = pbx.find(name)
    if ch is None or not ch.alive:
        return err(aid, "Channel not found")
    duration = frame.get("Duration").strip()
    if frame.get("Receive").strip().lower() in TRUE:
        received_ms = int(duration) if duration.isdigit() else 0
        return ok(aid, "DTMF successfully queued",
                  lambda: pbx.consults.received_digit(ch, digit[0], received_ms))
    duration_ms = int(duration) if duration.isdigit() else SENT_MS
    return ok(aid, "DTMF successfully queued", lambda: _send(pbx, ch, digit[0], duration_ms))


def _send(pbx: Pbx, ch: Channel, digit: str, duration_ms: int) -> None:
    """A digit sent out of the channel to its phone: ``DTMFBegin``/``DTMFEnd`` ``Sent``."""
    pbx.channel_event(ch, "DTMFBegin", ("Digit", digit), ("Direction", "Sent"))

    def end() -> None:
        if ch.alive:
            pbx.channel_event(ch, "DTMFEnd", ("Digit", digit), ("DurationMs", str(duration_ms)),
                              ("Direction", "Sent"))

    pbx.clock.call_later(duration_ms / 1000, end)


ATXFER_HANDLERS: dict[str, Handler] = {"atxfer": atxfer, "playdtmf": play_dtmf}
