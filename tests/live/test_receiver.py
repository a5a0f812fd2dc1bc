"""The AudioSocket receiver: real TCP connections, hostile input refused per stream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest

from callcenter.live.protocol import Kind, encode, encode_uuid
from callcenter.live.receiver import LiveReceiver
from callcenter.live.streams import Expected, StreamBook
from callcenter.live.vad import RATE, Utterance
from tests.helpers.polling import wait_until


class Sink:
    def __init__(self) -> None:
        self.utterances: list[tuple[str, str, Utterance, float]] = []
        self.closed: list[tuple[str, bool]] = []

    def utterance(self, stream: Expected, utterance: Utterance, offset_s: float) -> None:
        self.utterances.append((stream.call_id, stream.speaker, utterance, offset_s))

    def stream_closed(self, stream: Expected, dropped: bool, at_s: float) -> None:
        self.closed.append((stream.stream_id, dropped))


def speech_then_silence() -> list[bytes]:
    t = np.arange(int(RATE * 1.0)) / RATE
    voice = sum(np.sin(2 * np.pi * k * 150 * t) / k for k in range(1, 20)) * 4000
    audio = np.concatenate([np.zeros(RATE // 2), voice, np.zeros(RATE)]).astype("<i2").tobytes()
    return [encode(Kind.AUDIO, audio[i:i + 320]) for i in range(0, len(audio), 320)]


@pytest.fixture
async def served() -> AsyncIterator[tuple[LiveReceiver, StreamBook, Sink]]:
    book, sink = StreamBook(), Sink()
    receiver = LiveReceiver(book, sink, lambda: 100.0, max_streams=3, hello_s=0.5, idle_s=2.0)
    await receiver.start()
    yield receiver, book, sink
    await receiver.close()


async def send(port: int, *chunks: bytes, close: bool = True) -> asyncio.StreamWriter:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    for chunk in chunks:
        writer.write(chunk)
    await writer.drain()
    if close:
        writer.close()
    return writer


async def test_given_an_expected_stream_then_its_speech_becomes_an_utterance(served) -> None:
    receiver, book, sink = served
    stream = book.expect("call-1", "customer", "PJSIP/1001-00000001", bridged_at=98.0)
    await send(receiver.port, encode_uuid(stream.stream_id), *speech_then_silence(), encode(Kind.HANGUP))
    await wait_until(lambda: sink.closed, what="stream closed")
    assert [(c, s) for c, s, _, _ in sink.utterances] == [("call-1", "customer")]
    _, _, utterance, offset = sink.utterances[0]
    assert offset == 2.0 and 0.3 <= utterance.start <= 0.5
    assert sink.closed == [(stream.stream_id, True)]  # not ended by the server: the sink decides


@pytest.mark.parametrize(("chunks", "reason"), [
    ([encode_uuid(str(uuid.uuid4()))], "unknown_stream"),
    ([encode(Kind.AUDIO, b"\0" * 320)], "no_uuid"),
    ([b"\x42\x00\x01x"], "unknown_kind"),
    ([encode(Kind.UUID, b"short")], "bad_uuid"),
    ([b"\x10\xff\xff"], "too_long"),
])
async def test_given_hostile_input_then_that_stream_is_refused_and_counted(served, chunks, reason) -> None:
    receiver, _, sink = served
    await send(receiver.port, *chunks, close=False)
    await wait_until(lambda: receiver.rejected[reason], what=reason, detail=lambda: receiver.rejected)
    assert sink.utterances == [] and sink.closed == []


async def test_given_a_bad_stream_beside_a_good_one_then_the_good_one_goes_on(served) -> None:
    receiver, book, sink = served
    stream = book.expect("call-2", "agent", "PJSIP/1002-00000002", bridged_at=100.0)
    good = await send(receiver.port, encode_uuid(stream.stream_id), close=False)
    await send(receiver.port, encode_uuid(stream.stream_id), close=False)  # replayed UUID
    await send(receiver.port, b"\x10\x00\x03abc")  # odd audio before a UUID
    for frame in speech_then_silence():
        good.write(frame)
    good.write(encode(Kind.HANGUP))
    await good.drain()
    await wait_until(lambda: sink.closed, what="good stream closed")
    assert receiver.rejected["unknown_stream"] == 1 and receiver.rejected["no_uuid"] == 1
    assert [(c, s) for c, s, _, _ in sink.utterances] == [("call-2", "agent")]


async def test_given_no_uuid_in_time_then_the_connection_is_closed(served) -> None:
    receiver, _, _ = served
    reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
    assert await asyncio.wait_for(reader.read(), 5.0) == b""
    writer.close()


async def test_given_more_connections_than_allowed_then_the_extra_is_refused(served) -> None:
    receiver, _, _ = served
    writers = [await send(receiver.port, close=False) for _ in range(3)]
    await wait_until(lambda: receiver.statistics()["open"] == 3, what="three open")
    await send(receiver.port, close=False)
    await wait_until(lambda: receiver.rejected["too_many_streams"] == 1, what="refused")
    for writer in writers:
        writer.close()


async def test_given_a_stream_cut_mid_utterance_then_it_is_a_drop_and_the_speech_so_far_is_kept(served) -> None:
    receiver, book, sink = served
    stream = book.expect("call-3", "customer", "PJSIP/1003-00000003", bridged_at=100.0)
    frames = speech_then_silence()[:60]  # half a second of lead-in, then speech, cut
    await send(receiver.port, encode_uuid(stream.stream_id), *frames)
    await wait_until(lambda: sink.closed, what="drop seen")
    assert sink.closed == [(stream.stream_id, True)]
    assert len(sink.utterances) == 1


async def test_given_the_server_hangs_up_a_stream_then_it_is_not_a_drop(served) -> None:
    receiver, book, sink = served
    stream = book.expect("call-5", "agent", "PJSIP/1005-00000005", bridged_at=100.0)
    client = await send(receiver.port, encode_uuid(stream.stream_id), close=False)
    await wait_until(lambda: receiver.statistics()["connected"] == 1, what="connected")
    receiver.hang_up(stream)
    await wait_until(lambda: sink.closed, what="closed")
    assert sink.closed == [(stream.stream_id, False)]
    client.close()


async def test_given_a_paused_call_then_its_audio_is_dropped_unheard(served) -> None:
    receiver, book, sink = served
    stream = book.expect("call-4", "customer", "PJSIP/1004-00000004", bridged_at=100.0)
    writer = await send(receiver.port, encode_uuid(stream.stream_id), close=False)
    await wait_until(lambda: receiver.statistics()["connected"] == 1, what="connected")
    book.paused.add("call-4")
    for frame in speech_then_silence():
        writer.write(frame)
    await writer.drain()
    await wait_until(lambda: receiver.paused_bytes > 0, what="paused audio counted")
    writer.close()
    await wait_until(lambda: sink.closed, what="closed")
    assert sink.utterances == [] and receiver.audio_bytes == 0
