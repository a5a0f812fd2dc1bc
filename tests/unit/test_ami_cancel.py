"""A task waiting on an AMI answer that is cancelled as the answer arrives is cancelled: on
Python 3.11 ``asyncio.wait_for`` returned the answer then and swallowed the cancel, and a loop
stopped at shutdown (the IVR heartbeat) went on for ever, so the server never stopped."""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.inbound import PendingAction
from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.settings import AmiSettings


async def test_a_cancel_that_comes_with_the_answer_is_not_swallowed() -> None:
    client = AmiClient(AmiSettings())
    future: asyncio.Future[AmiResponse] = asyncio.get_running_loop().create_future()
    pending = PendingAction(Action("Ping", ()), future, time.perf_counter())
    waiting = asyncio.create_task(client._answer("cc-1", pending, 5.0))
    await asyncio.sleep(0)  # the task waits on the answer

    def answer_and_cancel() -> None:
        future.set_result(AmiResponse(Frame({"Response": "Success"}, "")))
        waiting.cancel()

    asyncio.get_running_loop().call_soon(answer_and_cancel)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert waiting.cancelled()


async def test_an_answer_that_never_comes_is_a_timeout() -> None:
    from callcenter.ami.errors import AmiTimeout

    client = AmiClient(AmiSettings())
    future: asyncio.Future[AmiResponse] = asyncio.get_running_loop().create_future()
    pending = PendingAction(Action("Ping", ()), future, time.perf_counter())
    with pytest.raises(AmiTimeout):
        await client._answer("cc-2", pending, 0.05)
