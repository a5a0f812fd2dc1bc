"""A callback on the agent's screen: routing names it by the original call, the tracker by the
callback's own call; the screen follows the callback's own call from its first channel on, so
its end clears the call bar and the controls (keyed by the live call) keep working after a
reload."""

from __future__ import annotations

import time

from callcenter.calls.events import Bridged, CallbackStarted, CallEnded
from callcenter.calls.model import HangupBy, Outcome
from callcenter.console.hub import ConsoleHub
from callcenter.routing.offers import OfferRinging
from tests.console.test_hub import NoDb, Shop, events, summary

ORIGINAL, CALLBACK = "1700.1", "1800.5"
CHANNEL = "PJSIP/1001-0000000a"


def callback_ringing() -> OfferRinging:
    info = {"number": "13800000001", "attempt": 1, "waited_s": 40, "ivr_path": []}
    return OfferRinging(ORIGINAL, "sam", "", "", "13800000001", "", "refunds", time.time(), info)


def started() -> CallbackStarted:
    return CallbackStarted(CALLBACK, time.time(), "act-1", CHANNEL, ORIGINAL, "13800000001")


def hub() -> ConsoleHub:
    return ConsoleHub(Shop(), NoDb(), summary, agent_for_channel=lambda _: "sam")


async def talk_and_end(console: ConsoleHub) -> list[dict[str, object]]:
    now = time.time()
    console.on_call_event(Bridged(CALLBACK, now, CHANNEL, "1800.5", "", True, now))
    assert console.agent_talking(CALLBACK) == "sam"
    snapshot = console.snapshot("sam")
    assert snapshot["pop"]["call_id"] == CALLBACK and snapshot["pop"]["callback_of"] == ORIGINAL
    console.on_call_event(CallEnded(CALLBACK, now + 5, Outcome.ANSWERED, HangupBy.CALLER, 16, None))
    return [e for e in console.feed("sam").events if e["type"] in ("answered", "call_ended")]


async def test_given_the_pop_first_when_the_callback_channel_appears_then_the_pop_is_renamed() -> None:
    console = hub()
    console.on_ringing(callback_ringing())
    [pop] = await events(console, "sam", 1)
    assert pop["call_id"] == ORIGINAL
    console.on_call_event(started())
    renamed = (await events(console, "sam", 2))[-1]
    assert renamed["type"] == "pop" and renamed["call_id"] == CALLBACK
    assert renamed["callback_of"] == ORIGINAL and renamed["callback"]["attempt"] == 1
    answered, ended = await talk_and_end(console)
    assert answered["call_id"] == ended["call_id"] == CALLBACK
    assert console.agent_on_call(ORIGINAL) is None and console.agent_on_call(CALLBACK) is None


async def test_given_the_channel_first_when_the_pop_comes_then_it_names_the_callback_call() -> None:
    console = hub()
    console.on_call_event(started())
    console.on_ringing(callback_ringing())
    [pop] = await events(console, "sam", 1)
    assert pop["call_id"] == CALLBACK and pop["callback_of"] == ORIGINAL
    answered, ended = await talk_and_end(console)
    assert answered["call_id"] == ended["call_id"] == CALLBACK


async def test_a_callback_that_ended_leaves_no_alias_for_the_next_attempt() -> None:
    console = hub()
    console.on_call_event(started())
    console.on_call_event(CallEnded(CALLBACK, time.time(), Outcome.FAILED, HangupBy.SYSTEM, 17, None))
    console.on_ringing(callback_ringing())  # the second attempt rings before its channel is seen
    [pop] = await events(console, "sam", 1)
    assert pop["call_id"] == ORIGINAL
