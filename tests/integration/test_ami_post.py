"""``AmiClient.post``: the action is written in the caller's turn of the loop (an offer's
Originate does not wait for other ready work); its answer is awaited as ``send``'s."""

from __future__ import annotations

import warnings

import pytest

from callcenter.ami import messages
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiActionFailed, AmiNotConnected
from callcenter.ami.messages import Action
from callcenter.ami.parser import Frame
from tests.amifake import FakeAmi, frame
from tests.helpers.polling import wait_until
from tests.integration.test_ami_faults import running, settings


async def test_given_link_up_when_posting_then_written_before_the_answer_is_awaited() -> None:
    async with FakeAmi() as ami:
        client = AmiClient(settings(ami.port))
        written: list[str] = []
        client.observe_actions(lambda action, action_id, at: written.append(action.name))
        async with running(client):
            await client.wait_connected(5)
            written.clear()  # the login
            answer = client.post(messages.ping())
            assert written == ["Ping"]  # in this turn, before anything awaited
            assert (await answer).ok
            await wait_until(lambda: [f.fields.get("Action") for f in ami.received].count("Ping") >= 1)


async def test_given_link_down_when_posting_then_refused_at_once() -> None:
    client = AmiClient(settings(1))
    with pytest.raises(AmiNotConnected):
        client.post(messages.ping())


async def test_given_refused_action_when_posted_then_its_answer_raises() -> None:
    async with FakeAmi() as ami:
        def refuse(action: Frame) -> list[bytes]:
            return [frame("Response: Error", f"ActionID: {action.fields['ActionID']}",
                          "Message: Permission denied")]

        ami.replies["Status"] = refuse
        client = AmiClient(settings(ami.port))
        async with running(client):
            await client.wait_connected(5)
            answer = client.post(Action("Status"))
            with pytest.raises(AmiActionFailed, match="Permission denied"):
                await answer
            assert client.connected


async def test_given_an_answer_nobody_awaits_then_nothing_is_left_pending() -> None:
    async with FakeAmi() as ami:
        client = AmiClient(settings(ami.port))
        async with running(client):
            await client.wait_connected(5)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a coroutine never awaited would warn
                client.post(messages.ping())
                await wait_until(lambda: client.statistics()["pending_actions"] == 0,
                                 what="the answered action forgotten")
