"""A consult while the colleague's phone rings, as Asterisk 22 reports it
(``tests/data/pbx-captures/call_control_consult_ringing_caller_left.jsonl``): the ringing
reaches ``;1`` through the Local pair (``Newstate Ringing``) and ``Dial()`` on ``;2`` reports
it (``DialState``, then a ``DialState`` naming ``;1`` alone); the caller hanging up meanwhile
fails the attended transfer (``AttendedTransfer`` ``Result: Fail``) and destroys the caller's
bridge before the caller's ``Hangup``; then Asterisk hangs up the transferer, then the Local
pair (``Dial()`` cancelled) and with it the ringing phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.consult_bridges as bridges
import callcenter.simulator.frames as frames
from callcenter.simulator.consult_model import Consult

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

RINGING = 5  # AST_STATE_RINGING
NORMAL = 16


def dial_end(pbx: Pbx, c: Consult, status: str) -> None:
    """``Dial()`` on ``;2`` ended with ``status`` (ANSWER, NOANSWER, BUSY, CANCEL)."""
    assert c.two is not None and c.target is not None
    pbx.emit(frames.event("DialEnd", frames.snapshot(c.two), frames.snapshot(c.target, "Dest"),
                          [("DialStatus", status)]))


def ringing(pbx: Pbx, c: Consult) -> None:
    """The colleague's phone rings (its own ``Newstate`` is already out)."""
    one, two, target = c.one, c.two, c.target
    if c.state != "ringing" or one is None or two is None or target is None:
        return
    pbx.set_state(one, RINGING)
    pbx.emit(frames.event("DialState", frames.snapshot(two), frames.snapshot(target, "Dest"),
                          [("DialStatus", "RINGING")]))
    pbx.emit(frames.event("DialState", frames.snapshot(one, "Dest"), [("DialStatus", "RINGING")]))


def caller_left(pbx: Pbx, c: Consult) -> bool:
    """The caller (already off hold) leaves its bridge as it hangs up. While the colleague's
    phone rings the attended transfer fails there and then, before the caller's ``Hangup``
    (as in the capture: ``BridgeLeave``, ``AttendedTransfer`` ``Result: Fail``, the caller's
    bridge's ``BridgeDestroy``, then ``Hangup``); returns whether it failed, the rest then
    follows in :func:`transfer_failed`. Otherwise the emptied bridge dissolves as usual."""
    ringing_now = c.state == "ringing"
    # while the feature collects the extension (no Local pair yet) the transferer stays in the
    # bridge until hung up or the collection ends (:func:`transferer_alone`)
    pbx.bridging.leave(c.caller, dissolve=not ringing_now and c.one is not None)
    if not ringing_now:
        return False
    if c.timer is not None:  # nobody is to answer now
        c.timer.cancel()
    agent, one, bridge = c.agent, c.one, c.consult_bridge
    assert one is not None and bridge is not None
    pbx.emit(frames.event(
        "AttendedTransfer", [("Result", "Fail")],
        frames.snapshot(agent, "OrigTransferer"), bridges.prefixed(c.home, "Orig"),
        frames.snapshot(agent, "SecondTransferer"), bridges.prefixed(bridge, "Second"),
        frames.snapshot(one, "TransferTarget"), [("IsExternal", "No"), ("DestType", "Fail")]))
    if not c.home.members:
        bridges.destroy(pbx, c.home)
    return True


def transfer_failed(pbx: Pbx, c: Consult) -> None:
    """After :func:`caller_left` failed the transfer: the transferer leaves the consult bridge
    and hangs up; ``Dial()`` is cancelled (the caller of this function then hangs up the Local
    pair and the phone)."""
    agent = c.agent
    agent.activity = None
    pbx.bridging.leave(agent, dissolve=False)
    pbx.hangups.finish(agent, NORMAL)
    if c.two is not None and c.target is not None:
        dial_end(pbx, c, "CANCEL")


def transferer_alone(pbx: Pbx, c: Consult) -> None:
    """The caller left while the ``Atxfer`` feature collected the extension and the transferer
    was not hung up meanwhile: the collection over, the transferer is unheld and leaves the
    caller's bridge (which goes), and its ``Bridge()`` returns.

    A model, not a capture: no recorded run has the transferer still up once the collection
    ends (in ``call_control_consult_caller_left_in_atxfer`` the server hangs the agent up
    first). This follows Asterisk's feature code, unchecked against the real PBX."""
    agent = c.agent
    agent.activity = None
    pbx.channel_event(agent, "Unhold")
    pbx.bridging.leave(agent)
    if agent.in_bridge_app:
        pbx.bridging.app_returned(agent)
    else:
        pbx.dialplan.after_bridge(agent)
