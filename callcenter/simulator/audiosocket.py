"""``Originate AudioSocket/host:port/<uuid>`` running ``ChanSpy(<channel>,…)``: live speech.

The server spies on each talking leg this way (``callcenter.live``); the simulator does what
Asterisk does: a channel ``AudioSocket/host:port-<uuid>`` appears, is answered, runs ChanSpy on
the named channel, connects to ``host:port``, sends the UUID frame, then the audio the spied
channel *reads* (what its party says, from the :class:`~.audio.AudioLog`) as 20 ms frames of
8 kHz signed linear audio, as time passes. It ends when the spied channel is gone (``E``) or the
spy channel is hung up (AMI ``Hangup``): a hang-up frame, the socket closed, ``Hangup`` events.
A spy on a channel that does not exist fails the originate (``OriginateResponse`` Failure), as
a spy that finds nothing to spy on ends at once on Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import callcenter.simulator.frames as frames
from callcenter.simulator.audio import render
from callcenter.simulator.model import DOWN, Channel, OriginateRequest
from callcenter.simulator.ports import Pbx
from callcenter.simulator.sounds import RATE

TICK_S = 0.2  # simulated seconds of audio sent at a time
FRAME_BYTES = 320


class AudioSockets:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self._tasks: set[asyncio.Task[None]] = set()
        self.streams = 0

    def originate(self, req: OriginateRequest, rest: str) -> Channel | None:
        address, _, stream_id = rest.partition("/")
        host, _, port = address.rpartition(":")
        target = self.pbx.channels.get(req.data.split(",", 1)[0])
        if (req.application.lower() != "chanspy" or not port.isdigit() or not _is_uuid(stream_id)
                or target is None or not target.alive):
            self._respond(req, "Failure", None, 0)
            return None
        ch = self.pbx.new_channel(f"AudioSocket/{address}-{stream_id}", "AudioSocket",
                                  f"AudioSocket/{address}", "", "", DOWN)
        self.pbx.channel_event(ch, "Newchannel")
        for key, value in req.variables:
            self.pbx.set_var(ch, key, value)
        self.pbx.answer(ch)
        self._respond(req, "Success", ch, 4)
        self.pbx.newexten(ch, "ChanSpy", req.data)
        stream = self._stream(ch, target.name, host, int(port), stream_id)
        task = asyncio.get_running_loop().create_task(stream)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return ch

    async def _stream(self, ch: Channel, target: str, host: str, port: int, stream_id: str) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.write(b"\x01\x00\x10" + uuid.UUID(stream_id).bytes)
            self.streams += 1
            origin, sent, pending = self.pbx.clock.now(), 0, b""
            while ch.alive and self._spied_alive(target):
                await self._wait(TICK_S)
                total = int((self.pbx.clock.now() - origin) * RATE)  # on the stream's sample grid
                lo, hi = origin + sent / RATE, origin + total / RATE
                read, _ = self.pbx.audio.heard_by(target, lo, hi)
                pending += render(lo, hi, read, []).tobytes()
                sent = total
                whole = len(pending) - len(pending) % FRAME_BYTES
                for i in range(0, whole, FRAME_BYTES):
                    writer.write(b"\x10\x01\x40" + pending[i:i + FRAME_BYTES])
                pending = pending[whole:]
                await writer.drain()
            writer.write(b"\x00\x00\x00")
            await writer.drain()
        except OSError:
            pass  # the server went away: Asterisk hangs the spy up
        finally:
            if writer is not None:
                writer.close()
            if ch.alive:
                self.pbx.hangups.finish(ch, 16)

    def _spied_alive(self, name: str) -> bool:
        spied = self.pbx.channels.get(name)
        return spied is not None and spied.alive

    async def _wait(self, seconds: float) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        timer = self.pbx.clock.call_later(seconds, wake)
        try:
            await done
        finally:
            timer.cancel()

    def _respond(self, req: OriginateRequest, status: str, ch: Channel | None, reason: int) -> None:
        if req.action_id is None:
            return
        self.pbx.emit(frames.event("OriginateResponse", [
            ("ActionID", req.action_id), ("Response", status), ("Channel", ch.name if ch else req.dial),
            ("Application", req.application), ("Data", req.data), ("Reason", str(reason)),
            ("Uniqueid", ch.uniqueid if ch else "<unknown>"), ("CallerIDNum", "<unknown>"),
            ("CallerIDName", "<unknown>")]))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
