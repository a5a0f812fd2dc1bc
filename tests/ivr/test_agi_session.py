"""One channel's AGI commands: resent when the AMI link comes back, given up when it does not,
abandoned when the caller leaves; answers checked the way Asterisk 22 means them."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.ami.agi import AgiResult, parse_agi_result
from callcenter.ami.errors import AmiLinkLost
from callcenter.settings import IvrSettings
from ivr.agi_session import AgiEnded, AgiError, AgiSession, CallStart, Stop, check
from tests.ivr.fakes import INVALID, MISSING_PROMPT, PLAYED

START = CallStart(channel="PJSIP/caller-1", linkedid="1700000000.1", uniqueid="1700000000.1",
                  context="inbound")


class DroppingLink:
    """Loses the link under the first ``drops`` commands; ``up`` says whether it comes back."""

    def __init__(self, drops: int, up: bool = True) -> None:
        self.drops = drops
        self.up = up
        self.sent: list[str] = []
        self.waits = 0

    async def agi(self, channel: str, command: str, timeout: float) -> AgiResult:
        self.sent.append(command)
        if len(self.sent) <= self.drops:
            raise AmiLinkLost("link lost")
        return parse_agi_result(PLAYED)

    async def wait_connected(self, timeout: float) -> None:
        self.waits += 1
        if not self.up:
            raise TimeoutError


async def test_given_the_link_drops_under_a_command_when_it_comes_back_then_the_command_is_sent_again() -> None:
    link = DroppingLink(drops=2)
    session = AgiSession(START, "inbound", link, IvrSettings(link_retries=3))
    assert (await session.run("STREAM FILE welcome \"\"")).ok
    assert link.sent == ['STREAM FILE welcome ""'] * 3 and link.waits == 2


async def test_given_the_link_keeps_dropping_then_the_command_fails_after_link_retries() -> None:
    link = DroppingLink(drops=10)
    session = AgiSession(START, "inbound", link, IvrSettings(link_retries=2))
    with pytest.raises(AmiLinkLost):
        await session.send("ANSWER")
    assert len(link.sent) == 3


async def test_given_the_link_stays_down_then_the_command_is_not_sent_again() -> None:
    link = DroppingLink(drops=1, up=False)
    session = AgiSession(START, "inbound", link, IvrSettings())
    with pytest.raises(AmiLinkLost):
        await session.send("ANSWER")
    assert link.sent == ["ANSWER"]


class SilentLink:
    async def agi(self, channel: str, command: str, timeout: float) -> AgiResult:
        await asyncio.Event().wait()
        raise AssertionError("never answered")


async def test_given_a_command_waiting_when_the_channel_leaves_agi_then_it_stops_with_the_reason() -> None:
    session = AgiSession(START, "inbound", SilentLink(), IvrSettings())
    waiting = asyncio.create_task(session.send("EXEC MusicOnHold default"))
    await asyncio.sleep(0)
    session.leave("bridged")
    with pytest.raises(Stop, match="bridged"):
        await waiting
    with pytest.raises(Stop, match="bridged"):
        await session.send("ANSWER")


@pytest.mark.parametrize(("answer", "error", "reason"), [
    (MISSING_PROMPT, AgiEnded, "agi_ended"),
    (INVALID, AgiError, "AGI answered 510"),
])
def test_failed_answers_end_agi_or_raise_an_agi_error(answer: str, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        check(parse_agi_result(answer))


def test_a_hang_up_answer_says_the_caller_is_gone() -> None:
    with pytest.raises(AgiEnded) as info:
        check(AgiResult(200, -1, "hangup"))
    assert info.value.reason == "caller_gone"
