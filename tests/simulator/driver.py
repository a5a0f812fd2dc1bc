"""Drive the simulator through a capture: the lab client's actions, in the same order.

An action that followed a frame within ``REACTION_S`` reacts to it: it is sent when the
simulator produces the same frame. A later one was timed by the lab client: it is sent as long
after the answer to the client's previous action as in the capture (in simulated seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiEvent
from callcenter.ami.parser import Frame, parse_frame
from callcenter.calls.tracker import CallTracker
from callcenter.server.replay import TranscriptLine, action_from_frame
from callcenter.settings import AmiSettings, Secret
from callcenter.simulator import PbxSimulator, SimulatorConfig
from tests.simulator.lab import lab_scenario, normalise_channel

LIST_ACTIONS = ("CoreShowChannels", "Status", "BridgeList")
REACTION_S = 0.3
SECRET = "lab-secret"


def settings(port: int) -> AmiSettings:
    return AmiSettings(port=port, secret=Secret(SECRET), ping_interval_s=3600.0,
                       action_timeout_s=10.0, reconnect_min_s=0.05, reconnect_max_s=0.2)


def config(tmp: Path, sounds: Path, time_scale: float, **extra: Any) -> SimulatorConfig:
    return SimulatorConfig(port=0, secret=SECRET, sound_dirs=(sounds,), time_scale=time_scale,
                           recording_dir=tmp / "recordings", seed=7, **extra)


def trigger_key(frame: Frame) -> tuple[str, str]:
    f = frame.fields
    if "Event" in f:
        name = f["Event"]
        if name == "OriginateResponse":
            return ("orig", f.get("ActionID", ""))
        channel = f.get("Channel") or f.get("DestChannel") or f.get("LocalOneChannel") or \
            f.get("Device") or f.get("Peer") or ""
        return (name, normalise_channel(channel))
    return ("response", f.get("ActionID", ""))


@dataclass
class Run:
    events: list[AmiEvent] = field(default_factory=list)
    responses: list[tuple[str, str, str]] = field(default_factory=list)
    tracker: CallTracker = field(default_factory=CallTracker)
    names: dict[str, str] = field(default_factory=dict)  # normalised -> simulator's name
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class CaptureDriver:
    def __init__(self, lines: list[TranscriptLine], sim: PbxSimulator) -> None:
        self.lines = lines
        self.sim = sim
        self.run = Run()
        self.action_ids: dict[str, str] = {}  # capture ActionID -> ours ("lab-3" -> "a3")
        self._ours: dict[int, str] = {}  # id(Action) -> ours
        self.client_ids: dict[str, str] = {}  # the client's ActionID -> ours

    def _on_event(self, event: AmiEvent) -> None:
        self.run.events.append(event)
        frame = event.frame
        channel = frame.fields.get("Channel", "")
        if channel:
            self.run.names.setdefault(normalise_channel(channel), channel)
        key = trigger_key(frame)
        if key[0] == "orig":
            key = ("orig", self.client_ids.get(key[1], key[1]))
        self.run.seen[key] += 1
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.run.changed:
            self.run.changed.notify_all()

    async def _wait_for(self, key: tuple[str, str], count: int, timeout: float) -> None:
        try:
            async with self.run.changed:
                await asyncio.wait_for(self.run.changed.wait_for(
                    lambda: self.run.seen[key] >= count), timeout)
        except TimeoutError:
            seen = [e.frame.fields.get("Event") + " " + e.frame.fields.get("Channel", "")
                    for e in self.run.events[-15:]]
            raise AssertionError(f"simulator never sent {key} #{count}; last events: {seen}; "
                                 f"responses: {self.run.responses}") from None

    def _rewrite(self, value: str) -> str:
        for part in sorted({p for p in _channel_like(value)}, key=len, reverse=True):
            sim_name = self.run.names.get(normalise_channel(part))
            if sim_name:
                value = value.replace(part, sim_name)
        return value

    def attach(self, client: AmiClient) -> None:
        client.subscribe(self._on_event)
        client.subscribe(self.run.tracker.apply_event)
        client.observe_actions(self.run.tracker.apply_action)
        client.observe_actions(self._sent)

    def _sent(self, action: Action, action_id: str, at: float) -> None:
        ours = self._ours.pop(id(action), None)
        if ours is not None:
            self.client_ids[action_id] = ours

    async def play(self, client: AmiClient, timeout: float = 30.0) -> Run:
        capture_seen: Counter[tuple[str, str]] = Counter()
        last_in: tuple[tuple[str, str], int, float] | None = None
        answered_at: dict[str, float] = {}  # capture ActionID -> when its response came
        previous = ""
        pending: list[asyncio.Task[None]] = []
        for line in self.lines:
            if line.direction == "in":
                parsed = parse_frame(line.frame.rstrip("\r\n"))
                if isinstance(parsed, Frame):
                    key = trigger_key(parsed)
                    capture_seen[key] += 1
                    last_in = (key, capture_seen[key], line.t)
                    if key[0] == "response":
                        answered_at.setdefault(key[1], line.t)
                continue
            frame = parse_frame(line.frame.rstrip("\r\n"), ("Action",))
            assert isinstance(frame, Frame)
            name = frame.fields["Action"]
            if name in ("Login", "Logoff"):
                continue
            if last_in is not None and line.t - last_in[2] >= REACTION_S and previous in answered_at:
                last_in = (("response", previous), 1, answered_at[previous])
            if last_in is not None:
                key, count, at = last_in
                if key[0] == "response":
                    key = ("response", self.action_ids.get(key[1], key[1]))
                elif key[0] == "orig":
                    key = ("orig", self.action_ids.get(key[1], key[1]))
                if key[0] == "response" and key[1].startswith("lab-1"):
                    pass  # the login: already done by the client
                else:
                    await self._wait_for(key, count if key[0] != "response" else 1, timeout)
                delay = line.t - at
                if delay > 0.02:
                    await self.sim.sleep(delay)
            our_id = f"a{len(self.action_ids) + 1}"
            previous = frame.fields.get("ActionID", "")
            self.action_ids[previous] = our_id
            action = action_from_frame(frame)
            assert action is not None
            headers = tuple((k, self._rewrite(v)) for k, v in action.headers)
            ours = Action(name, headers, is_list=name in LIST_ACTIONS)
            self._ours[id(ours)] = our_id
            pending.append(asyncio.create_task(self._send(client, ours, our_id)))
            await asyncio.sleep(0)
        await asyncio.gather(*pending)
        return self.run

    async def _send(self, client: AmiClient, action: Action, our_id: str) -> None:
        status, message = "Error", ""
        try:
            response = await client.send(action)
            status, message = response.frame.fields.get("Response", ""), response.message
        except AmiError as exc:
            message = getattr(exc, "message", str(exc))
        for sim_name in sorted(self.run.names.values(), key=len, reverse=True):
            message = message.replace(sim_name, normalise_channel(sim_name))
        self.run.responses.append((action.name, status, message))
        self.run.seen[("response", our_id)] += 1
        await self._notify()


def _channel_like(value: str) -> list[str]:
    out = []
    for token in value.replace(",", " ").split():
        if token.startswith(("Local/", "PJSIP/")) and "-" in token:
            out.append(token)
    return out


async def drive(lines: list[TranscriptLine], name: str, tmp: Path, sounds: Path,
                time_scale: float) -> tuple[Run, PbxSimulator]:
    sim = PbxSimulator(config(tmp, sounds, time_scale))
    sim.install(lab_scenario(name))
    port = await sim.start()
    client = AmiClient(settings(port))
    driver = CaptureDriver(lines, sim)
    driver.action_ids["lab-1"] = "login"
    driver.attach(client)
    task = asyncio.create_task(client.run())
    try:
        await client.wait_connected(5)
        run = await driver.play(client)
        await sim.wait_idle(60 / time_scale + 10)
        if name == "sip_register":
            await sim.sleep(max(0.0, 41.0 - sim.now()))
        await client.send(Action("Ping"))  # answered after every event sent before it
        await asyncio.sleep(0)
        return run, sim
    finally:
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, AmiError):
            await task
        await sim.stop()
