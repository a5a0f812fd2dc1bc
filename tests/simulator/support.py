"""A small call-control client for the simulator's AMI tests, built on the product's AmiClient:
IVR (answer, greeting, one digit), hold, offer to an agent, record, survey."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.ami import messages
from callcenter.ami.agi import AgiResult
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.messages import AmiEvent
from callcenter.calls.tracker import CallTracker
from callcenter.simulator import PbxSimulator, Scenario, SimulatorConfig
from tests.simulator.driver import SECRET, settings


@dataclass
class Events:
    items: list[AmiEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: AmiEvent) -> None:
        self.items.append(event)
        self.changed.set()

    def named(self, name: str, **match: str) -> list[AmiEvent]:
        return [e for e in self.items if e.name == name and
                all(e.get(k) == v for k, v in match.items())]

    async def wait(self, predicate: Callable[[AmiEvent], bool], timeout: float = 10.0,
                   since: int = 0) -> AmiEvent:
        """The first event from index ``since`` on that matches, waiting for it if needed."""
        async def find() -> AmiEvent:
            seen = since
            while True:
                for event in self.items[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.items)
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(find(), timeout)


@dataclass
class Lab:
    sim: PbxSimulator
    client: AmiClient
    events: Events
    tracker: CallTracker
    recordings: Path

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until the simulator has no channel left and this client has read every event
        sent until then (a Ping's answer comes after them on the same stream)."""
        await self.sim.wait_idle(timeout)
        await self.client.send(messages.ping())
        for _ in range(3):
            await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(tmp: Path, sounds: Path, scenario: Scenario | None, time_scale: float,
                  **extra: Any) -> AsyncIterator[Lab]:
    config = SimulatorConfig(port=0, secret=SECRET, sound_dirs=(sounds,), time_scale=time_scale,
                             recording_dir=tmp / "rec", seed=1, **extra)
    sim = PbxSimulator(config)
    if scenario is not None:
        sim.install(scenario)
    port = await sim.start()
    client = AmiClient(settings(port))
    events, tracker = Events(), CallTracker()
    client.subscribe(events.add)
    client.subscribe(tracker.apply_event)
    client.observe_actions(tracker.apply_action)
    task = asyncio.create_task(client.run())
    try:
        await client.wait_connected(5)
        yield Lab(sim, client, events, tracker, tmp / "rec")
    finally:
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, AmiError):
            await task
        await sim.stop()


@dataclass
class CallControl:
    """What the product's server does for one call, in miniature."""

    lab: Lab
    agent_dial: str = "PJSIP/1001"
    survey: bool = False
    record: bool = True
    results: list[AgiResult] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def start(self) -> None:
        self.lab.client.subscribe(self._on_event)

    def _on_event(self, event: AmiEvent) -> None:
        if event.name == "AsyncAGIStart":
            flow = self._ivr if event.get("Context") == "inbound" else self._survey
            self.tasks.append(asyncio.create_task(flow(event.channel)))
        elif event.name == "BridgeEnter" and self.record and event.get("Context") == "inbound":
            base = f"{event.uniqueid}"
            self.tasks.append(asyncio.create_task(self.lab.client.send(messages.mix_monitor(
                event.channel, f"{base}.wav", f"{base}-customer.wav", f"{base}-agent.wav"))))

    async def _agi(self, channel: str, command: str) -> AgiResult:
        result = await self.lab.client.agi(channel, command, timeout=30)
        self.results.append(result)
        return result

    async def _ivr(self, channel: str) -> None:
        with contextlib.suppress(AmiError):
            await self._agi(channel, "ANSWER")
            await self._agi(channel, 'STREAM FILE hello-world ""')
            await self._agi(channel, "GET DATA vm-enter-num-to-call 6000 1")
            await self.lab.client.send(messages.agi(channel, "EXEC MusicOnHold default,120", "moh"))
            data = f"{channel},p,F(survey^s^1)" if self.survey else f"{channel},p"
            await self.lab.client.send(messages.Originate(
                self.agent_dial, application="Bridge", data=data, caller_id='"Queue" <1>',
                timeout_ms=5000, variables={"CC_CALL": "t-1"}))

    async def _survey(self, channel: str) -> None:
        with contextlib.suppress(AmiError):
            await self._agi(channel, "GET DATA vm-press 8000 1")
            await self._agi(channel, "HANGUP")
