"""The PBX simulator speaks the live-speech route: an ``AudioSocket`` channel running ``ChanSpy``
on the caller's leg streams what the caller says (and only that) to the server's receiver, and
the stream ends when the leg hangs up; a spy on a channel that is not there fails."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from callcenter.ami import messages
from callcenter.ami.errors import AmiError
from callcenter.live.receiver import LiveReceiver
from callcenter.live.streams import StreamBook
from callcenter.simulator import AgentScript, Behaviour, CallerScript, Press, Scenario, Speech
from tests.amilab import LAB
from tests.helpers.polling import wait_until
from tests.live.test_receiver import Sink
from tests.simulator.lab import make_sounds, write_tone
from tests.simulator.support import CallControl, running

SENTENCE = LAB / "recordings" / "customer-refund.wav"


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sounds(tmp_path_factory.mktemp("sounds"))


def scenario(agent_voice: Path) -> Scenario:
    caller = Behaviour(presses=(Press(1.6, "2"),), says=(Speech(3.0, SENTENCE),))
    agent = Behaviour(says=(Speech(0.5, agent_voice),), hangup_after_s=16.0)
    return Scenario((CallerScript("13800000001", "Alice", behaviour=caller),),
                    (AgentScript("1001", behaviour=agent),))


async def test_given_a_spy_on_the_callers_leg_then_the_callers_words_stream_until_hang_up(
        tmp_path: Path, sounds: Path) -> None:
    agent_voice = write_tone(tmp_path / "agent.wav", 8000, -7000)
    book, sink = StreamBook(), Sink()
    script = scenario(agent_voice)
    receiver = LiveReceiver(book, sink, lambda: 0.0)
    await receiver.start()
    try:
        async with running(tmp_path, sounds, script, 4.0) as lab:
            control = CallControl(lab, record=False)
            control.start()
            lab.sim.place_call(script.callers[0])
            enter = await lab.events.wait(lambda e: e.name == "BridgeEnter" and e.get("Context") == "inbound",
                                          timeout=30)
            stream = book.expect("call", "customer", enter.channel, bridged_at=0.0)
            reply = await lab.client.send(messages.Originate(
                f"AudioSocket/127.0.0.1:{receiver.port}/{stream.stream_id}", application="ChanSpy",
                data=f"{enter.channel},qoES", timeout_ms=5000))
            assert reply.ok
            await wait_until(lambda: sink.closed, what="the spy ends with the call", timeout_s=60)
            assert sink.closed == [(stream.stream_id, True)]
            assert sink.utterances, "no utterance from the caller's words"
            said = SENTENCE.read_bytes()[44:]
            heard = b"".join(u.pcm for _, _, u, _ in sink.utterances)
            assert said[16000:17600] in heard and said[40000:41600] in heard, "not the caller's voice, sample for sample"
            agent = agent_voice.read_bytes()[44:][800:2400]
            assert agent not in heard, "the agent's voice is in the caller's stream"
            spy = lab.events.named("Newchannel")
            assert any(e.channel.startswith("AudioSocket/127.0.0.1:") for e in spy)
    finally:
        await receiver.close()


async def test_given_a_spy_on_no_channel_then_the_originate_fails(tmp_path: Path, sounds: Path) -> None:
    async with running(tmp_path, sounds, None, 4.0) as lab:
        await lab.client.send(messages.Originate(
            f"AudioSocket/127.0.0.1:9/{uuid.uuid4()}", application="ChanSpy", data="PJSIP/9999-00000001,qoES",
            timeout_ms=5000))
        failed = await lab.events.wait(lambda e: e.name == "OriginateResponse", timeout=10)
        assert failed.get("Response") == "Failure"
        await asyncio.sleep(0)
        assert not [c for c in lab.sim.channels() if "AudioSocket" in c.name]
        with pytest.raises(AmiError):
            await lab.client.send(messages.hangup(f"AudioSocket/127.0.0.1:9-{uuid.uuid4()}"))
