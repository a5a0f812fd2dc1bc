"""The runner on the real AMI client (``AmiClient`` is the AgiLink), over TCP to a scripted AMI
server: AGI actions out, AsyncAGIExec events (with the real Result strings) back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.parser import Frame
from callcenter.settings import AmiSettings, Secret
from ivr.registry import FlowRegistry
from ivr.runner import IvrRunner
from ivr.validate import Checks
from tests.amifake import FakeAmi, frame
from tests.amilab import capture
from tests.ivr.fakes import PLAYED, SET, Callbacks, Orders, Recorder, Router, key, settle
from tests.ivr.helpers import MONDAY_10

ROOT = Path(__file__).resolve().parents[2]
SURVEY_START = [line.frame for line in capture("post_call_survey")
                if line.direction == "in" and "Event: AsyncAGIStart\r\n" in line.frame][1]
LINKEDID = "1795315504.44"
CHANNEL = "Local/4001@inbound-00000013;2"


@contextlib.asynccontextmanager
async def linked(ami: FakeAmi) -> AsyncIterator[tuple[IvrRunner, Recorder]]:
    client = AmiClient(AmiSettings(port=ami.port, secret=Secret("s3cret"), ping_interval_s=3600.0,
                                   action_timeout_s=2.0, reconnect_min_s=0.05, reconnect_max_s=0.2))
    registry = FlowRegistry([ROOT / "config" / "ivr"], Checks())
    registry.reload()
    recorder = Recorder()
    runner = IvrRunner(client, registry, recorder, Router(), Orders(), Callbacks(), clock=lambda: MONDAY_10)
    client.subscribe(runner.on_event)
    task = asyncio.create_task(client.run())
    try:
        await client.wait_connected(5)
        yield runner, recorder
    finally:
        await runner.close()
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, AmiError):
            await task


class Sent(list[str]):
    """The AGI commands the server received; ``arrived(prefix)`` waits for one."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def add(self, command: str) -> None:
        self.append(command)
        self.changed.set()

    async def arrived(self, prefix: str) -> None:
        while not any(c.startswith(prefix) for c in self):
            self.changed.clear()
            await self.changed.wait()


def agi_server(answers: dict[str, str]) -> tuple[FakeAmi, Sent]:
    ami = FakeAmi()
    sent = Sent()

    def reply(action: Frame) -> list[bytes]:
        command = action.fields["Command"]
        sent.add(command)
        out = [frame("Response: Success", f"ActionID: {action.fields['ActionID']}",
                     "Message: Added AGI command to queue")]
        result = next((v for k, v in answers.items() if command.startswith(k)), None)
        if result is not None:
            out.append(frame("Event: AsyncAGIExec", "Privilege: agi,all", f"Channel: {CHANNEL}",
                             "Context: survey", f"Linkedid: {LINKEDID}", f"Result: {result}",
                             f"CommandId: {action.fields['CommandID']}"))
        return out

    ami.replies["AGI"] = reply
    return ami, sent


async def test_given_survey_asyncagi_start_on_the_wire_then_runner_drives_it_and_stores_csat() -> None:
    ami, sent = agi_server({"SET VARIABLE": SET, "STREAM FILE": PLAYED, "GET DATA": key("4"), "HANGUP": SET})
    async with ami, linked(ami) as (runner, recorder):
        ami.push(SURVEY_START.encode("utf-8"))
        await asyncio.wait_for(sent.arrived("HANGUP"), 5)
        await settle(runner)
    assert sent == ["SET VARIABLE CC_IVR active", 'STREAM FILE en/survey-intro ""',
                    "GET DATA en/survey-question 8000 1", 'STREAM FILE en/survey-thanks ""', "HANGUP"]
    assert recorder.context[LINKEDID]["survey.csat"] == "4"
    assert recorder.end(LINKEDID) == "hangup"


async def test_given_caller_hangs_up_while_get_data_waits_then_the_call_task_ends() -> None:
    ami, sent = agi_server({"SET VARIABLE": SET, "STREAM FILE": PLAYED})  # GET DATA never answers
    async with ami, linked(ami) as (runner, recorder):
        ami.push(SURVEY_START.encode("utf-8"))
        await asyncio.wait_for(sent.arrived("GET DATA"), 5)
        ami.push(frame("Event: Hangup", "Privilege: call,all", f"Channel: {CHANNEL}", f"Linkedid: {LINKEDID}",
                       "Cause: 16", "Cause-txt: Normal Clearing"))
        await settle(runner)
    assert recorder.end(LINKEDID) in ("hangup", "caller_gone")
    assert runner.statistics()["active"] == 0
