"""The simulated PBX's state and the small operations every feature uses.

:class:`Pbx` owns the channels, the bridges and the event stream. The features live in their
own modules and are wired here: :mod:`.dialplan` (``[inbound]``, ``[survey]``), :mod:`.agi`
(AsyncAGI), :mod:`.bridging`, :mod:`.originate`, :mod:`.hangup`, :mod:`.party` (scripted
callers and agents), :mod:`.endpoints` (PJSIP phones), :mod:`.recorder` (MixMonitor). They see
the PBX and each other through :mod:`.ports`; this module is the only one that knows them all.
Everything here is synchronous and driven by the :class:`~.clock.Clock`: no I/O, no tasks.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import callcenter.simulator.frames as frames
from callcenter.simulator.agi import AgiRuntime
from callcenter.simulator.atxfer import Consults
from callcenter.simulator.audio import AudioLog
from callcenter.simulator.audiosocket import AudioSockets
from callcenter.simulator.bridging import Bridging
from callcenter.simulator.clock import Clock
from callcenter.simulator.config import SimulatorConfig
from callcenter.simulator.dialplan import Dialplan
from callcenter.simulator.dtmf import Dtmf
from callcenter.simulator.endpoints import Endpoints
from callcenter.simulator.hangup import Hangups
from callcenter.simulator.ids import Ids
from callcenter.simulator.model import STATE_DESC, UP, Bridge, Channel
from callcenter.simulator.originate import Dialer
from callcenter.simulator.recorder import Recorders
from callcenter.simulator.spy import Spies

log = logging.getLogger("callcenter.simulator")

Listener = Callable[[frames.Pairs], None]


class Pbx:
    """Args:
        config: simulator settings (sound folders, recording folder, trunk name…).
        clock: simulated time.
    """

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.rng = random.Random(config.seed)
        self.ids = Ids(clock, self.rng)
        self.channels: dict[str, Channel] = {}
        self._by_uniqueid: dict[str, Channel] = {}  # the same channels, by uniqueid
        self.bridges: dict[str, Bridge] = {}
        self.listeners: list[Listener] = []
        self.audio = AudioLog()
        self.recorders = Recorders(config.recording_dir, self.audio)
        self.endpoints = Endpoints(self)
        self.hangups = Hangups(self)
        self.dialplan = Dialplan(self)
        self.agi = AgiRuntime(self)
        self.bridging = Bridging(self)
        self.dialer = Dialer(self)
        self.dtmf = Dtmf(self)
        self.spies = Spies(self)
        self.audiosockets = AudioSockets(self)
        self.consults = Consults(self)
        self.events_emitted = 0
        self.idle_waiters: list[Callable[[], None]] = []
        self.globals: dict[str, str] = {}
        # what Asterisk would write as WARNING to its log: (module, message)
        self.warnings: list[tuple[str, str]] = []
        # cleared while the AMI side is frozen (a stopped Asterisk seen from the AMI client)
        self.ami_thawed = asyncio.Event()
        self.ami_thawed.set()

    # --- events ------------------------------------------------------------------------------

    def emit(self, pairs: frames.Pairs) -> None:
        self.events_emitted += 1
        for listener in list(self.listeners):
            try:
                listener(pairs)
            except Exception:
                log.exception("simulator event listener failed")

    def warn(self, module: str, message: str) -> None:
        """A WARNING line of Asterisk's log (kept for the tests; nothing on AMI)."""
        self.warnings.append((module, message))
        log.warning("asterisk %s: %s", module, message)

    def channel_event(self, ch: Channel, name: str, *extra: tuple[str, str]) -> None:
        self.emit(frames.channel_event(name, ch, *extra))

    def device_state(self, device: str, state: str) -> None:
        self.emit(frames.event("DeviceStateChange", [("Device", device), ("State", state)]))

    # --- channels ----------------------------------------------------------------------------

    def new_channel(self, name: str, tech: str, device: str, context: str, exten: str,
                    state: int, linkedid: str | None = None, uniqueid: str = "") -> Channel:
        uniqueid = uniqueid or self.ids.uniqueid()
        ch = Channel(name=name, uniqueid=uniqueid, linkedid=linkedid or uniqueid, tech=tech,
                     created_at=self.clock.now(), device=device, state=state, context=context,
                     exten=exten)
        if tech == "PJSIP":
            ch.pvt_call_id = self.ids.uuid()
        self.channels[name] = ch
        self._by_uniqueid[uniqueid] = ch
        return ch

    def find(self, name: str) -> Channel | None:
        """The live channel an action names: by its name, else by its uniqueid (as Asterisk
        22's actions take either, such as ``Hangup`` of an Originate's ``ChannelId``)."""
        ch = self.channels.get(name) or self._by_uniqueid.get(name)
        return ch if ch is not None and not ch.hungup else None

    def forget(self, ch: Channel) -> None:
        if self.channels.get(ch.name) is ch:
            del self.channels[ch.name]
        if self._by_uniqueid.get(ch.uniqueid) is ch:
            del self._by_uniqueid[ch.uniqueid]
        self.recorders.prune(self.clock.now())
        if not self.channels:
            waiters, self.idle_waiters = self.idle_waiters, []
            for waiter in waiters:
                waiter()

    def set_state(self, ch: Channel, state: int) -> None:
        if ch.state != state:
            ch.state = state
            self.channel_event(ch, "Newstate")

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        ch.variables[name] = value
        self.channel_event(ch, "VarSet", ("Variable", name), ("Value", value))

    def set_callerid(self, ch: Channel, num: str, name: str) -> None:
        ch.cid_num, ch.cid_name = num, name
        self.channel_event(ch, "NewCallerid", ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))

    def set_connected(self, ch: Channel, num: str, name: str) -> None:
        ch.conn_num, ch.conn_name = num, name
        self.channel_event(ch, "NewConnectedLine")

    def newexten(self, ch: Channel, app: str, data: str, priority: int | None = None) -> None:
        """A dialplan step starts: ``Newexten``, then a caller-ID change a Local half was
        holding back (Asterisk reports it when the half next runs an application)."""
        if priority is not None:
            ch.priority = priority
        ch.app, ch.app_data = app, data
        self.channel_event(ch, "Newexten", ("Extension", ch.exten), ("Application", app),
                           ("AppData", data))
        if ch.callerid_pending:
            ch.callerid_pending = False
            self.channel_event(ch, "NewCallerid",
                               ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))

    def answer(self, ch: Channel) -> bool:
        """Answer a channel (AGI ``ANSWER``, a handset's ``Answer()``). Returns True if it was
        not up yet (Asterisk then waits half a second for media on Local channels)."""
        if not ch.alive or ch.state == UP:
            return False
        self.set_state(ch, UP)
        partner = ch.partner
        if partner is not None and partner.alive and partner.state != UP:
            self.set_state(partner, UP)
            self.device_state(ch.device, "INUSE")
            self.device_state(ch.device, "INUSE")
            self.dialer.answered(partner)
        elif ch.tech == "PJSIP":
            self.device_state(ch.device, "INUSE")
            self.dialer.answered(ch)
        if ch.party is not None:
            ch.party.on_answered()
        return True

    def ringing(self, ch: Channel) -> None:
        """The far end rings (a handset's ``Ringing()``, a PJSIP phone's 180)."""
        target = ch.partner if ch.partner is not None else ch
        if not target.alive or target.state == UP:
            return
        self.set_state(target, 5)
        self.device_state(target.device, "INUSE" if target.is_local else "RINGING")
        self.dialer.ringing(target)

    def state_desc(self, ch: Channel) -> str:
        return STATE_DESC.get(ch.state, "Unknown")
