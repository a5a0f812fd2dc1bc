"""A callback that keeps its place, end to end through the PBX simulator: real AMI over TCP, the
real IVR flow, router and PostgreSQL. Three callers wait with no agent ready; the second takes
the offer (1, then # for the number they call from) when it plays; the agent becomes ready and
serves them in arrival order, ringing for the callback first and then the customer's phone."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.ami.parser import Frame
from callcenter.routing.decisions import (
    CallbackConnected,
    CallbackGaveUp,
    CallbackKept,
    DialCallback,
    Offer,
)
from callcenter.simulator import Behaviour
from tests.pbx.fidelity import ACCEPTED, ACCEPTED_FIELDS, read_capture
from tests.pbx.rig import CAPTURES
from tests.routing.sim_harness import EN_CUSTOMERS, Harness, agent_entry, caller, fetch, phone, running
from tests.simulator.lab import Sequences, normalise_channel

pytestmark = pytest.mark.integration

# the offer comes long after all three are queued (a caller who misses a menu key under load
# reaches the queue a minute late)
GENERAL = {"steps": [{"after_s": 0}, {"after_s": 150, "offer_callback": True}],
           "callback_attempts": 2, "callback_retry_s": 30, "callback_ring_s": 15}
POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 0}, "skills": {"general": GENERAL}}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


def press_when(h: Harness, channel: str, prompt: str, digit: str) -> None:
    """The caller on ``channel`` presses ``digit`` once ``prompt`` starts playing (as a person
    who listens does)."""
    pbx = h.simulator.pbx
    pressed: list[str] = []

    def listen(pairs: list[tuple[str, str]]) -> None:
        fields = dict(pairs)
        if not pressed and fields.get("Event") == "AGIExecStart" \
                and fields.get("Channel") == channel and prompt in fields.get("Command", ""):
            pressed.append(digit)
            pbx.clock.call_later(0.5, lambda: pbx.dtmf.receive(pbx.channels[channel], digit, 100))

    pbx.listeners.append(listen)


async def take_callback_then_serve(h: Harness, customer: Behaviour) -> str:
    """Three callers queue; the one queued second takes the callback; then the agent is ready.
    Returns the callback's call id."""
    channels = []
    for i in EN_CUSTOMERS[:3]:  # one second apart
        channels.append(h.call(caller(i, "general", patience_s=None, survey=None)))
        await h.sleep(1.0)
    await h.wait_for(lambda: len(h.probe.enqueued()) == 3, 120, "three callers queued")
    middle = h.probe.enqueued()[1].call.call_id
    [channel] = [c for c in channels if h.simulator.pbx.channels[c].linkedid == middle]
    press_when(h, channel, "callback-offer", "1")
    press_when(h, channel, "callback-enter-number", "#")
    await h.wait_for(lambda: any(isinstance(d, CallbackKept) for d in h.probe.decisions), 300,
                     "the second caller took the callback")
    kept = next(d for d in h.probe.decisions if isinstance(d, CallbackKept))
    assert kept.request.call_id == middle
    h.simulator.add_callback_customer(kept.number, customer)
    h.server.agents.login("ann", ready=True)
    return middle


async def test_callback_served_in_its_place_agent_first_then_customer(fresh_db: str,
                                                                      tmp_path: Path) -> None:
    async with running(tmp_path, fresh_db, policy=POLICY, ready=[],
                       agents=[agent_entry("ann", "1001", {"general": 5})],
                       phones=[phone("1001", answer_after_s=1.0, hangup_after_s=8.0)]) as h:
        call_id = await take_callback_then_serve(h, Behaviour(answer_after_s=2.0,
                                                              hangup_after_s=5.0))
        await h.wait_for(lambda: any(isinstance(d, CallbackConnected) for d in h.probe.decisions),
                         120, "the customer answered")
        await h.finish(180)
        served = [(d.call_id, type(d).__name__) for d in h.probe.decisions
                  if isinstance(d, Offer | DialCallback)]
        queued = [e.call.call_id for e in h.probe.enqueued()]
        screen = list(h.server.console.feed("ann").events)
    assert [c for c, _ in served] == queued  # arrival order, the callback in its place
    assert served[1] == (call_id, "DialCallback") and len(served) == 3
    [row] = await fetch(fresh_db, "SELECT * FROM callbacks WHERE call_linkedid = $1", call_id)
    # the agent's screen follows the callback's own call: its pop, its answer and its end
    pops = [e for e in screen if e["type"] in ("pop", "pop_update") and e.get("callback")]
    assert pops and pops[-1]["call_id"] == row["callback_linkedid"] and pops[-1]["callback_of"] == call_id
    assert row["callback_linkedid"] in [e["call_id"] for e in screen if e["type"] == "answered"]
    assert row["callback_linkedid"] in [e["call_id"] for e in screen if e["type"] == "call_ended"]
    assert (row["status"], row["attempts"], row["agent_login"]) == ("completed", 1, "ann")
    # the callback's own call (the agent's leg and the customer's) is stored and linked
    [linked] = await fetch(fresh_db, "SELECT state, outcome FROM calls WHERE linkedid = $1",
                           row["callback_linkedid"])
    assert linked["state"] == "ended" and linked["outcome"] is not None
    # the agent's leg names the agent (the callback's Originate carries CC_AGENT, as offers do)
    legs = await fetch(fresh_db, "SELECT l.role, a.login FROM call_legs l JOIN calls c"
                       " ON c.id = l.call_id LEFT JOIN agents a ON a.id = l.agent_id"
                       " WHERE c.linkedid = $1", row["callback_linkedid"])
    assert ("agent", "ann") in [(leg["role"], leg["login"]) for leg in legs], legs


async def test_busy_customer_in_the_simulator_is_retried_then_ticketed(fresh_db: str,
                                                                       tmp_path: Path) -> None:
    async with running(tmp_path, fresh_db, policy=POLICY, ready=[],
                       agents=[agent_entry("ann", "1001", {"general": 5})],
                       phones=[phone("1001", answer_after_s=1.0, hangup_after_s=8.0)]) as h:
        call_id = await take_callback_then_serve(h, Behaviour(busy=True))
        await h.wait_for(lambda: any(isinstance(d, CallbackGaveUp) for d in h.probe.decisions),
                         240, "the callback given up")
        await h.finish(180)
        dials = [d for d in h.probe.decisions if isinstance(d, DialCallback)]
    assert [d.attempt for d in dials] == [1, 2] and dials[1].at - dials[0].at >= 30
    [row] = await fetch(fresh_db, "SELECT * FROM callbacks WHERE call_linkedid = $1", call_id)
    assert (row["status"], row["attempts"], row["last_result"]) == ("failed", 2, "busy")
    [ticket] = await fetch(fresh_db, "SELECT kind FROM tickets WHERE id = $1", row["ticket_id"])
    assert ticket["kind"] == "callback"


def callback_legs(frames: list[Frame]) -> dict[str, list[str]]:
    """The callback's two channels (the agent's phone rung into ``[cc-callback]`` and the
    customer's leg through the carrier): per leg, the event signatures as the fidelity tests
    normalise them, without the differences they accept (``tests.pbx.fidelity.ACCEPTED``)."""
    agent = next(f.get("Channel") for f in frames
                 if f.get("Context") == "cc-callback" and f.event != "OriginateResponse")
    leg = next(f.get("DestChannel") for f in frames
               if f.event == "DialBegin" and f.get("Channel") == agent)
    names = {normalise_channel(agent): "agent", normalise_channel(leg): "customer"}
    seqs = Sequences()
    for f in frames:
        if f.event not in ACCEPTED and (agent in (f.get("Channel"), f.get("DestChannel"))
                                        or leg in (f.get("Channel"), f.get("DestChannel"))):
            seqs.add(f)
    out = {}
    for key, items in seqs.normalised().items():
        text = [item for item in (" ".join(p for p in i.split(" ")
                                           if p.split("=", 1)[0] not in ACCEPTED_FIELDS)
                                  for i in items)]
        for name, role in names.items():
            text = [t.replace(name, role) for t in text]
        out[names.get(key, key)] = text
    return out


@pytest.mark.parametrize(("capture", "customer"), [
    ("callback_kept_place", Behaviour(answer_after_s=0.0, hangup_after_s=30.0)),
    ("callback_busy_ticket", Behaviour(busy=True)),
])
async def test_callback_legs_match_the_real_pbx(capture: str, customer: Behaviour, fresh_db: str,
                                                tmp_path: Path) -> None:
    """The simulator's [cc-callback] against the real PBX's (tests/pbx/test_callbacks.py's
    captures): the agent's phone answers at once; the customer's answers at once and the agent
    hangs up first, or it is busy (the first attempt is compared)."""
    real = read_capture(CAPTURES / f"{capture}.jsonl")
    expected = callback_legs([c.frame for c in real if c.direction == "in"])
    frames: list[Frame] = []
    async with running(tmp_path, fresh_db, policy=POLICY, ready=[],
                       agents=[agent_entry("ann", "1001", {"general": 5})],
                       phones=[phone("1001", answer_after_s=0.0, hangup_after_s=4.0)]) as h:
        h.simulator.pbx.listeners.append(lambda pairs: frames.append(Frame(dict(pairs), "")))
        await take_callback_then_serve(h, customer)
        await h.wait_for(lambda: any(isinstance(d, CallbackConnected | CallbackGaveUp)
                                     for d in h.probe.decisions), 240, "the callback's end")
        await h.finish(180)
    actual = callback_legs(frames)
    assert sorted(actual) == sorted(expected) == ["agent", "customer", "orig#1"]
    for role in ("agent", "customer", "orig#1"):
        assert actual[role] == expected[role], (role, "\n".join(difflib.unified_diff(
            expected[role], actual[role], "real", "simulator", lineterm="")))
