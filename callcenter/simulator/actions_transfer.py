"""AMI ``BlindTransfer`` of a channel in a two-party bridge (the agent console's transfer), as
Asterisk 22 does it (``tests/data/pbx-captures/call_control_blind_transfer.jsonl``): the
answer ``Transfer succeeded``; ``Unhold`` and the ``BlindTransfer`` event; the transferer leaves
the bridge, then the transferee, already at the target (``Context``/``Exten``, priority 1); the
transferee runs the dialplan there; the transferer's ``Bridge()`` returns and it hangs up; the
bridge is destroyed. The transferee keeps the ``F()`` goto of the agent's ``Bridge()``
(``tests/data/pbx-captures/call_control_external_transfer.jsonl``: the caller an outside number
hung up on goes to the survey)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.ami.parser import Frame
from callcenter.simulator.replies import Handler, Reply, SessionState, err, ok

if TYPE_CHECKING:
    from callcenter.simulator.model import Channel
    from callcenter.simulator.ports import Pbx


def blind_transfer(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    name, exten = frame.get("Channel").strip(), frame.get("Exten").strip()
    if not name:
        return err(aid, "No channel specified")
    if not exten:
        return err(aid, "No extension specified")
    ch = pbx.find(name)
    if ch is None or not ch.alive:
        return err(aid, "Channel specified does not exist")
    context = frame.get("Context").strip() or ch.context
    bridge = ch.bridge
    peers = [m for m in bridge.members if m is not ch] if bridge is not None else []
    if bridge is None or len(peers) != 1:
        return err(aid, "Transfer invalid")
    return ok(aid, "Transfer succeeded", lambda: _transfer(pbx, ch, peers[0], context, exten))


def _transfer(pbx: Pbx, ch: Channel, peer: Channel, context: str, exten: str) -> None:
    bridge = ch.bridge
    if bridge is None or peer.bridge is not bridge or not peer.alive:
        return
    pbx.emit(frames.event("Unhold", frames.snapshot(ch)))
    pbx.emit(frames.event("BlindTransfer", [("Result", "Success")],
                          frames.snapshot(ch, "Transferer"), frames.snapshot(peer, "Transferee"),
                          frames.bridge_fields(bridge),
                          [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)]))
    in_app = ch.in_bridge_app
    pbx.bridging.leave(ch, dissolve=False)
    peer.context, peer.exten, peer.priority = context, exten, 1
    # the agent's Bridge() F() goto stays on the caller, as on Asterisk: whatever bridge the
    # caller leaves next (an outside number's Dial) sends them there
    peer.activity, peer.in_bridge_app = None, False
    pbx.bridging.leave(peer)  # the bridge is destroyed once empty
    pbx.dialplan.run(peer, context, exten, 1)
    if in_app:
        pbx.bridging.app_returned(ch)
    else:
        pbx.hangups.finish(ch, 16)


TRANSFER_HANDLERS: dict[str, Handler] = {"blindtransfer": blind_transfer}
