"""A caller ID with a line feed (or any control character) reaching the offer's Originate
neither fails the offer nor escapes the offer task: the agent's phone rings, nobody is paused
as "missed", and the action on the wire stays one action."""

from __future__ import annotations

import asyncio

from callcenter.agents.model import AgentState
from callcenter.ami.messages import Action, AmiResponse, Originate
from callcenter.ami.parser import Frame, parse_frame
from callcenter.routing import events as ev
from callcenter.routing.decisions import AgentStateChanged, Decision
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferAdapter
from callcenter.routing.router import Router
from tests.routing.helpers import agent, policy


async def test_control_characters_in_the_caller_id_do_not_fail_the_offer() -> None:
    now = [0.0]
    pol = policy(refunds={"ring_timeout_s": 8, "wrap_up_s": 30, "steps": [{"after_s": 0}]})
    engine = RoutingEngine(Router(pol, [agent("a1", {"refunds": 3}, dial="PJSIP/1001")]),
                           clock=lambda: now[0])
    wire: list[bytes] = []

    async def send(action: Action | Originate, timeout: float | None = None) -> AmiResponse:
        if isinstance(action, Originate):
            action = action.action()
        wire.append(action.render("id-1"))
        ok = parse_frame("Response: Success\r\nActionID: id-1")
        assert isinstance(ok, Frame), ok
        return AmiResponse(ok)

    decisions: list[Decision] = []
    adapter = OfferAdapter(engine, send)
    engine.add_sink(decisions.extend)
    engine.add_sink(adapter.carry_out)
    engine.submit(ev.AgentLoggedIn("a1", now[0], ready=True))
    loop = asyncio.get_running_loop()
    escaped: list[object] = []
    loop.set_exception_handler(lambda _loop, context: escaped.append(context))
    request = ev.CallRequest("call-1", "refunds")
    adapter.enqueue(request, "PJSIP/pstn-1", "138\nAction: Hangup\r\nChannel: PJSIP/1002\x00",
                    "Eve\r\n")
    await adapter.wait_idle()
    assert adapter.originate_errors == 0 and adapter.originates_sent == 1
    [sent] = wire
    lines = sent.decode().split("\r\n")
    assert [line for line in lines if line.startswith("Action:")] == ["Action: Originate"]
    assert sent.count(b"\r\n\r\n") == 1 and b"\x00" not in sent
    paused = [d for d in decisions if isinstance(d, AgentStateChanged) and d.state is AgentState.PAUSED]
    assert paused == [] and escaped == []
