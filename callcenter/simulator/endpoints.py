"""The phones the simulator knows: agents' PJSIP endpoints or Local handsets, the lab's PJSIP
caller phone, registration state and the events a (de)registration produces (sip_register)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.model import Endpoint
from callcenter.simulator.scenario import AgentScript, CallerScript, Scenario

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx


class Endpoints:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.pjsip: dict[str, Endpoint] = {}
        self.local: dict[tuple[str, str], Endpoint] = {}

    def install(self, scenario: Scenario) -> None:
        for i, agent in enumerate(scenario.agents):
            self.add_agent(agent, 5070 + i)
        for caller in scenario.callers:
            self.add_caller(caller)

    def add_agent(self, agent: AgentScript, port: int = 5070) -> None:
        dial = agent.dial_string
        if dial.startswith("PJSIP/"):
            name = dial.split("/", 1)[1]
            self.pjsip[name] = Endpoint(name, agent.context, agent.behaviour, "agent",
                                        agent.registered, port=port)
        else:
            exten, _, context = dial.split("/", 2)[1].partition("@")
            self.local[(context, exten)] = Endpoint(exten, context, agent.behaviour, "agent")

    def add_caller(self, caller: CallerScript) -> None:
        if caller.endpoint:
            self.pjsip[caller.endpoint] = Endpoint(caller.endpoint, "inbound", caller.behaviour,
                                                   "caller", caller=caller)
        if caller.handset:
            exten, _, context = caller.handset.partition("@")
            self.local[(context or "sim-caller", exten)] = Endpoint(
                exten, context or "sim-caller", caller.behaviour, "caller", caller=caller)

    def find_pjsip(self, name: str) -> Endpoint | None:
        return self.pjsip.get(name)

    def find_local(self, context: str, exten: str) -> Endpoint | None:
        return self.local.get((context, exten))

    def set_registered(self, name: str, registered: bool) -> bool:
        """A phone stops answering qualify (or registers again): the events Asterisk sends.

        Returns False for an unknown endpoint.
        """
        endpoint = self.pjsip.get(name)
        if endpoint is None:
            return False
        if endpoint.registered == registered:
            return True
        endpoint.registered = registered
        status = "Reachable" if registered else "Unreachable"
        peer = frames.event("PeerStatus", [("ChannelType", "PJSIP"), ("Peer", f"PJSIP/{name}"),
                                           ("PeerStatus", status)])
        contact = frames.event("ContactStatus", [
            ("URI", f"sip:{name}@127.0.0.1:{endpoint.port};ob"), ("ContactStatus", status),
            ("AOR", name), ("EndpointName", name), ("RoundtripUsec", "444" if registered else "0")])
        self.pbx.emit(peer)
        if registered:
            self.pbx.emit(contact)
            self.pbx.device_state(f"PJSIP/{name}", "NOT_INUSE")
        else:
            self.pbx.device_state(f"PJSIP/{name}", "UNAVAILABLE")
            self.pbx.emit(contact)
        return True
