"""A scripted caller's call arriving at the PBX, production-shaped or lab-shaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator.model import RING, Channel, Endpoint, OriginateRequest
from callcenter.simulator.party import PartyRun
from callcenter.simulator.scenario import CallerScript

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx


def place_call(pbx: Pbx, caller: CallerScript) -> Channel:
    """The call enters ``[inbound]``; returns the channel the server sees there.

    ``pjsip`` style: ``PJSIP/<trunk>-XXXXXXXX`` in state Ring, as a carrier call arrives.
    ``local`` style: ``Local/<exten>@inbound/n`` halves as in the lab; the ``;1`` half runs the
    caller's script as ``[sim-caller]`` dialplan and the ``;2`` half is the call in ``[inbound]``.
    """
    if pbx.config.caller_channel_style == "local":
        handset = caller.handset.partition("@")[0] if caller.handset else "caller"
        endpoint = Endpoint(handset, "sim-caller", caller.behaviour, "caller", caller=caller)
        req = OriginateRequest(f"Local/{caller.exten}@inbound/n", None, "sim-caller", handset,
                               cid_num=caller.number, cid_name=caller.name,
                               language=caller.language)
        channel = pbx.dialer.originate(req, caller=endpoint)
        assert channel is not None  # [inbound] always exists
        return channel
    trunk = pbx.config.trunk
    ch = pbx.new_channel(f"PJSIP/{trunk}-{pbx.ids.channel_suffix()}", "PJSIP", f"PJSIP/{trunk}",
                         "inbound", caller.exten, RING)
    ch.cid_num, ch.cid_name, ch.language = caller.number, caller.name, caller.language
    pbx.channel_event(ch, "Newchannel")
    PartyRun(pbx, caller.behaviour, "caller", ch, ch)
    pbx.dialplan.run(ch, "inbound", caller.exten, 1)
    return ch
