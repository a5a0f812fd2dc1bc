"""Which route brings one party's live audio into the server: measured on the real Asterisk 22.

Each target is a Local channel whose ``;2`` half plays the lab's recorded customer sentence
(``customer-refund.wav``) after a ``UserEvent(LivePlay)``; the spy listens to the ``;1`` half
with ``ChanSpy(channel,qoES)`` (only the audio that half reads; this build ignores a
uniqueid there, so the full channel name is given) and hands it to this script by:

- ``audiosocket``: an ``AudioSocket/host:port/uuid`` channel (TCP, 3-byte frames of 8 kHz slin);
- ``websocket``: a ``WebSocket/live/c(slin)`` channel (chan_websocket, an outgoing WebSocket
  to this script's ``websocket_client.conf`` connection; binary messages are the audio).

For each route and ``--calls`` concurrent targets it prints: the onset lag (the UserEvent on AMI
→ the first frame above -40 dBFS at the receiver; Playback starts right after the UserEvent,
so this is Asterisk's spy/transport delay plus AMI's), the 95th percentile gap between audio
messages, the bytes of audio received per second of playback, and Asterisk's CPU seconds per
spied call per minute (the Asterisk process's CPU over the playback, minus the same targets with
no spy). Prints one JSON object.

    .venv/bin/python benchmarks/live_route.py [--calls 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from aiohttp import WSMsgType, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callcenter.live.protocol import FrameReader, Kind
from tests.pbx.amiclient import Seen, TestAmi, event
from tests.pbx.bundle import Bundle, _locate
from tests.pbx.overlay import OverlaySpec
from tests.pbx.pbx import Pbx
from tests.pbx.slots import release, take_slot

LAB = Path(os.environ.get("CALLCENTER_ASTERISK_LAB", Path(__file__).resolve().parents[2] / "shared" / "asterisk-lab"))
SENTENCE = LAB / "recordings" / "customer-refund"
PLAY_S = 9.0

DIALPLAN = """
[live-lab]
exten => play,1,Answer()
 same => n,Wait(2)
 same => n,UserEvent(LivePlay,Target: ${{TARGET}})
 same => n,Playback({sentence})
 same => n,Wait(1)
 same => n,Hangup()
"""


class Stream:
    def __init__(self) -> None:
        self.first_loud = 0.0
        self.arrivals: list[float] = []
        self.audio_bytes = 0

    def audio(self, pcm: bytes, at: float) -> None:
        self.arrivals.append(at)
        self.audio_bytes += len(pcm)
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64) / 32768
        if not self.first_loud and samples.size and 10 * np.log10(np.mean(samples ** 2) + 1e-12) > -40:
            self.first_loud = at


class Receivers:
    """The AudioSocket TCP server and the chan_websocket WebSocket server, one stream per id."""

    def __init__(self) -> None:
        self.streams: dict[str, Stream] = {}

    async def audiosocket(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = FrameReader()
        stream = Stream()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                now = time.time()
                for frame in parser.feed(data):
                    if frame.kind is Kind.UUID and parser.stream_id:
                        self.streams[parser.stream_id] = stream
                    elif frame.kind is Kind.AUDIO:
                        stream.audio(frame.payload, now)
        writer.close()

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("media",))
        await ws.prepare(request)
        stream = self.streams.setdefault(request.query.get("stream", "?"), Stream())
        async for message in ws:
            if message.type is WSMsgType.BINARY:
                stream.audio(message.data, time.time())
        return ws


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_round(ami: TestAmi, pbx: Pbx, route: str | None, calls: int, ports: tuple[int, int],
                    receivers: Receivers) -> dict[str, float]:
    since = time.time()
    targets = [f"t{uuid.uuid4().hex[:8]}" for _ in range(calls)]
    for target in targets:
        await ami.send({"Action": "Originate", "Channel": "Local/play@live-lab", "Application": "Wait",
                        "Data": str(PLAY_S + 5), "Async": "true", "Variable": f"TARGET={target}"})
    halves = []
    for target in targets:
        def carries(s: Seen, t: str = target) -> bool:
            return s.frame.event == "VarSet" and s.get("Value") == t and s.get("Channel").endswith(";2")

        seen = await ami.wait(carries, since=since, what="target")
        halves.append(seen.get("Channel")[:-1] + "1")
    ids: dict[str, str] = {}
    for half in halves:
        stream_id = str(uuid.uuid4())
        ids[half] = stream_id
        if route == "audiosocket":
            channel = f"AudioSocket/127.0.0.1:{ports[0]}/{stream_id}"
        elif route == "websocket":
            channel = f"WebSocket/live/c(slin)v(stream={stream_id})"
        else:
            continue
        await ami.send({"Action": "Originate", "Channel": channel, "Application": "ChanSpy",
                        "Data": f"{half},qoES", "Async": "true"})
    plays = [await ami.wait(event("UserEvent", UserEvent="LivePlay", Target=t), since=since, timeout_s=30)
             for t in targets]
    cpu0 = cpu_seconds(pbx.pid)
    await asyncio.sleep(PLAY_S)
    cpu = cpu_seconds(pbx.pid) - cpu0
    await asyncio.sleep(3)
    result: dict[str, float] = {"asterisk_cpu_s_per_call_minute": cpu / calls * 60 / PLAY_S}
    if route is None:
        return result
    streams = [receivers.streams.get(ids[h]) for h in halves]
    lags = [s.first_loud - p.at for s, p in zip(streams, plays, strict=True) if s and s.first_loud]
    gaps = [b - a for s in streams if s for a, b in zip(s.arrivals, s.arrivals[1:], strict=False)]
    got = sum(s.audio_bytes for s in streams if s) / 16000 / PLAY_S / calls
    result.update({"streams": float(sum(1 for s in streams if s)), "onset_lag_ms_p50": _ms(lags, 50),
                   "onset_lag_ms_max": _ms(lags, 100), "gap_ms_p95": _ms(gaps, 95),
                   "audio_s_per_playback_s": round(got, 2)})
    return result


def _ms(values: list[float], pct: float) -> float:
    return round(float(np.percentile(values, pct)) * 1000, 1) if values else -1.0


async def measure(calls: int) -> dict[str, object]:
    found = _locate()
    assert isinstance(found, Bundle), found
    ports = take_slot()
    work = Path(tempfile.mkdtemp(prefix="live-route-"))
    receivers = Receivers()
    tcp = await asyncio.start_server(receivers.audiosocket, "127.0.0.1", 0)
    tcp_port = tcp.sockets[0].getsockname()[1]
    app = web.Application()
    app.router.add_get("/media", receivers.websocket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ws_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    spec = OverlaySpec(ami_port=ports.ami, sip_port=ports.sip, rtp_start=ports.rtp[0], rtp_end=ports.rtp[1],
                       extra_files={"websocket_client.conf": (
                           f"[live]\ntype = websocket_client\nuri = ws://127.0.0.1:{ws_port}/media\n"
                           "protocols = media\nconnection_type = per_call_config\nconnection_timeout = 500\n"
                           "reconnect_interval = 500\nreconnect_attempts = 3\ntls_enabled = no\n")})
    pbx = Pbx(found, work, spec)
    with (pbx.conf / "extensions.conf").open("a") as f:
        f.write(DIALPLAN.format(sentence=SENTENCE))
    pbx.start()
    ami = await TestAmi(spec.ami_port, spec.test_ami_secret).connect()
    try:
        out: dict[str, object] = {"calls": calls}
        for route in (None, "audiosocket", "websocket"):
            out[route or "no_spy"] = await run_round(ami, pbx, route, calls, (tcp_port, ws_port), receivers)
        for route in ("audiosocket", "websocket"):
            r = out[route]
            assert isinstance(r, dict)
            r["spy_cpu_s_per_call_minute"] = round(
                r["asterisk_cpu_s_per_call_minute"] - out["no_spy"]["asterisk_cpu_s_per_call_minute"], 3)  # type: ignore[index]
        return out
    finally:
        await ami.close()
        pbx.stop()
        tcp.close()
        await runner.cleanup()
        release(ports)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.calls))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
