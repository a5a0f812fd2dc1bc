"""The simulator as a service: the AMI TCP server around the PBX, scenarios, inspection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import callcenter.simulator.arrivals as arrivals
import callcenter.simulator.calls as calls
from callcenter.simulator.clock import ScaledClock, epoch, sleep
from callcenter.simulator.config import SimulatorConfig
from callcenter.simulator.model import STATE_DESC
from callcenter.simulator.pbx import Pbx
from callcenter.simulator.recorder import CLOSE_DELAY_S, RecordingInfo
from callcenter.simulator.scenario import Behaviour, CallerScript, Scenario, load_scenario
from callcenter.simulator.session import AmiSession

log = logging.getLogger("callcenter.simulator")


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    name: str
    uniqueid: str
    linkedid: str
    state: str
    context: str
    exten: str
    priority: int
    application: str
    bridge_id: str
    caller_id_num: str
    caller_id_name: str


@dataclass(frozen=True, slots=True)
class BridgeInfo:
    uniqueid: str
    channels: tuple[str, ...]


class PbxSimulator:
    """An AMI-speaking PBX with scripted callers and agents.

    Args:
        config: listening address, credentials, sound and recording folders, time scale.
        clock: a clock to use instead of a :class:`ScaledClock` at ``config.time_scale``.
    """

    def __init__(self, config: SimulatorConfig, clock: ScaledClock | None = None) -> None:
        self.config = config
        self.clock = clock or ScaledClock(config.time_scale)
        self.pbx = Pbx(config, self.clock)
        self.scenario: Scenario | None = None
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sessions: set[AmiSession] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> int:
        """Listen for AMI clients; returns the bound port (``config.port`` 0 picks one)."""
        self.clock.start()
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("simulator listening on %s:%d", self.config.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening, drop the clients, and write the recordings still running."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        self.pbx.recorders.stop_all(self.clock.now())
        await self.pbx.audiosockets.close()

    def drop_clients(self) -> int:
        """Cut every AMI client's connection (a network fault); the calls go on. Returns how
        many were cut."""
        sessions = list(self._sessions)
        for session in sessions:
            session.close()
        return len(sessions)

    def freeze_ami(self) -> None:
        """The AMI side stops (as ``kill -STOP`` looks to the client): nothing is read, answered
        or sent, new connections get no banner, and the events of what happens meanwhile (the
        calls go on: callers hang up, agents leave) are lost to every client."""
        self.pbx.ami_thawed.clear()

    def thaw_ami(self) -> None:
        """The AMI side goes on (``kill -CONT``): what clients sent meanwhile is read now."""
        self.pbx.ami_thawed.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self.pbx, reader, writer)
        self._sessions.add(session)
        try:
            await session.serve()
        finally:
            self._sessions.discard(session)

    # --- scenarios -------------------------------------------------------------------------

    def load_scenario(self, path: str | Path) -> Scenario:
        """Load a YAML scenario and install its phones (agents ring from now on).

        Raises:
            ScenarioError: the file is invalid (the message names the field).
        """
        scenario = load_scenario(path)
        self.install(scenario)
        return scenario

    def install(self, scenario: Scenario) -> None:
        """Make the scenario's phones known and schedule their registration changes."""
        self.scenario = scenario
        self.pbx.endpoints.install(scenario)
        for agent in scenario.agents:
            name = agent.dial_string.split("/", 1)[1]
            if not agent.dial_string.startswith("PJSIP/"):
                continue
            for change in agent.registration:
                self.clock.call_later(change.at_s, self._registration(name, change.registered))

    def _registration(self, name: str, registered: bool) -> Callable[[], None]:
        def change() -> None:
            self.set_registered(name, registered)

        return change

    async def run_scenario(self, scenario: Scenario, idle_timeout_s: float | None = None) -> None:
        """Install the scenario, place every caller's calls at their arrival times, and return
        once all of them were placed and every channel has ended."""
        self.install(scenario)
        times = sorted((t, i) for i, caller in enumerate(scenario.callers)
                       for t in arrivals.arrival_times(caller.arrival, self.pbx.rng))
        started = self.clock.now()
        for at, index in times:
            await sleep(self.clock, max(0.0, started + at - self.clock.now()))
            self.place_call(scenario.callers[index])
        await self.wait_idle(idle_timeout_s)

    def place_call(self, caller: CallerScript) -> str:
        """A scripted caller's call arrives now; returns the channel name in ``[inbound]``."""
        return calls.place_call(self.pbx, caller).name

    def add_callback_customer(self, number: str, behaviour: Behaviour) -> None:
        """How the phone of ``number`` answers when a callback dials it through the carrier
        (other numbers answer after a few seconds)."""
        self.pbx.dialplan.callbacks.add_customer(number, behaviour)

    def set_registered(self, endpoint: str, registered: bool) -> bool:
        """An agent's phone goes unreachable / registers again (PeerStatus, ContactStatus…)."""
        return self.pbx.endpoints.set_registered(endpoint, registered)

    # --- time ------------------------------------------------------------------------------

    def now(self) -> float:
        """Simulated seconds since start."""
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        await sleep(self.clock, seconds)

    async def wait_idle(self, timeout_s: float | None = None) -> None:
        """Wait until no channel is left and every recording file is closed (``timeout_s`` in
        real seconds).

        Raises:
            TimeoutError: channels were still up after ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            if self.pbx.channels:
                idle = asyncio.Event()
                self.pbx.idle_waiters.append(idle.set)
                try:
                    await idle.wait()
                finally:
                    if idle.set in self.pbx.idle_waiters:
                        self.pbx.idle_waiters.remove(idle.set)
            if self.pbx.recorders.closing:  # closed CLOSE_DELAY_S after their stop
                await self.sleep(2 * CLOSE_DELAY_S)

    # --- inspection ------------------------------------------------------------------------

    def channels(self) -> list[ChannelInfo]:
        return [ChannelInfo(c.name, c.uniqueid, c.linkedid, STATE_DESC.get(c.state, "Unknown"),
                            c.context, c.exten, c.priority, c.app,
                            c.bridge.uniqueid if c.bridge else "", c.cid_num, c.cid_name)
                for c in self.pbx.channels.values() if not c.hungup]

    def bridges(self) -> list[BridgeInfo]:
        return [BridgeInfo(b.uniqueid, tuple(m.name for m in b.members))
                for b in self.pbx.bridges.values()]

    def recordings(self) -> list[RecordingInfo]:
        return [m.info() for m in self.pbx.recorders.all]

    def statistics(self) -> dict[str, Any]:
        return {"sim_time_s": round(self.clock.now(), 3), "epoch": epoch(self.clock),
                "channels": len(self.pbx.channels), "bridges": len(self.pbx.bridges),
                "clients": len(self._sessions), "events": self.pbx.events_emitted,
                "recordings": len(self.pbx.recorders.all)}
