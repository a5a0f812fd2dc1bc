"""A callback that keeps its place, end to end through the PBX simulator: real AMI over TCP, the
real IVR flow, router and PostgreSQL. Three callers wait with no agent ready; the second takes
the offer (1, then # for the number they call from) when it plays; the agent becomes ready and
serves them in arrival order, ringing for the callback first and then the customer's phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.routing.decisions import (
    CallbackConnected,
    CallbackGaveUp,
    CallbackKept,
    DialCallback,
    Offer,
)
from callcenter.simulator import Behaviour
from tests.routing.sim_harness import EN_CUSTOMERS, Harness, agent_entry, caller, fetch, phone, running

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
    assert [c for c, _ in served] == queued  # arrival order, the callback in its place
    assert served[1] == (call_id, "DialCallback") and len(served) == 3
    [row] = await fetch(fresh_db, "SELECT * FROM callbacks WHERE call_linkedid = $1", call_id)
    assert (row["status"], row["attempts"], row["agent_login"]) == ("completed", 1, "ann")
    # the callback's own call (the agent's leg and the customer's) is stored and linked
    [linked] = await fetch(fresh_db, "SELECT state, outcome FROM calls WHERE linkedid = $1",
                           row["callback_linkedid"])
    assert linked["state"] == "ended" and linked["outcome"] is not None


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
