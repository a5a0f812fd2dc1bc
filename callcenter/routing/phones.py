"""Which agent a phone belongs to, and whether it can ring: the phone events of the AMI link
(``ContactStatus``, ``PeerStatus``, ``DeviceStateChange``) become router facts.

Asterisk facts (``shared/asterisk-lab``): ``ContactStatus: Unreachable`` / ``DeviceStateChange
UNAVAILABLE`` mean the phone cannot ring until ``Reachable`` / ``NOT_INUSE``.
"""

from __future__ import annotations

import re

from callcenter.agents.model import device_of
from callcenter.ami.messages import AmiEvent
from callcenter.routing import events as ev
from callcenter.routing.engine import RoutingEngine

_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+(;[12])?$")
_DOWN_DEVICE_STATES = ("UNAVAILABLE", "INVALID")
_UP_DEVICE_STATES = ("NOT_INUSE", "INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD")
_CONTACT = {"Reachable": True, "Created": True, "NonQualified": True, "Updated": True,
            "Unreachable": False, "Removed": False}
_PEER = {"Reachable": True, "Registered": True, "Unreachable": False, "Unregistered": False}


def channel_device(channel: str) -> str:
    """The device a channel belongs to: ``PJSIP/1002-0000001a`` → ``PJSIP/1002``,
    ``Local/1001@sim-agent-00000007;1`` → ``Local/1001@sim-agent``."""
    return _CHANNEL_SUFFIX.sub("", channel)


class Phones:
    """The agents' phones as the router should see them.

    Args:
        engine: where reachability facts go, and whose agents' dial strings name the phones.
    """

    def __init__(self, engine: RoutingEngine) -> None:
        self._engine = engine
        self._reachable: dict[str, bool] = {}  # agent id -> last known
        self._devices: dict[str, str] = {}
        self._devices_version = -1

    def on_ami_event(self, event: AmiEvent) -> None:
        """Feed every AMI event (cheap for the ones that are not about phones)."""
        name = event.name
        if name == "DeviceStateChange":
            state = event.get("State")
            if state in _DOWN_DEVICE_STATES:
                self._phone(event.get("Device"), False)
            elif state in _UP_DEVICE_STATES:
                self._phone(event.get("Device"), True)
        elif name == "ContactStatus":
            up = _CONTACT.get(event.get("ContactStatus"))
            endpoint = event.get("EndpointName") or event.get("AOR")
            if up is not None and endpoint:
                self._phone(f"PJSIP/{endpoint}", up)
        elif name == "PeerStatus":
            up = _PEER.get(event.get("PeerStatus"))
            if up is not None:
                self._phone(event.get("Peer"), up)

    def _phone(self, device: str, up: bool) -> None:
        agent_id = self.agent_for_device(device)
        if agent_id is None or self._reachable.get(agent_id, True) == up:
            return
        self._reachable[agent_id] = up
        now = self._engine.now()
        self._engine.submit(ev.PhoneReachable(agent_id, now) if up else
                            ev.PhoneUnreachable(agent_id, now))

    def agent_for_channel(self, channel: str) -> str | None:
        """The agent whose phone ``channel`` is (``PJSIP/1002-0000001a``), if any."""
        return self.agent_for_device(channel_device(channel))

    def agent_for_device(self, device: str) -> str | None:
        version = self._engine.profiles_version()
        if self._devices_version != version:
            self._devices = {device_of(dial): agent_id
                             for agent_id, dial in self._engine.dial_strings().items()}
            self._devices_version = version
        return self._devices.get(device)
