"""AMI ingest: bare panoramisk dispatch versus the full adapter + tracker + batched persistence.

Builds one long stream from the real Asterisk captures (each repeated with fresh uniqueids,
channel names and bridge ids so every copy is a distinct call), then measures in one run:

- bare: panoramisk 1.4's protocol parsing the bytes and its Manager dispatching every event
  to a no-op callback;
- full: the project's AMI protocol → typed events → call tracker → event-log rows and call
  upserts written to PostgreSQL in batches (the final flush is inside the timing).

Each side runs three times (the full side on a fresh database each time); the best run counts.
Prints ``{"events", "stored_events", "bare_events_per_s", "full_events_per_s", "ratio"}``.
Usage: ``python benchmarks/ami_ingest.py [--copies N] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callcenter.ami.client import AmiClient  # noqa: E402
from callcenter.ami.protocol import AmiProtocol  # noqa: E402
from callcenter.calls.dispatch import CallDispatcher  # noqa: E402
from callcenter.calls.recorder import CallRecorder  # noqa: E402
from callcenter.calls.store import CallStore  # noqa: E402
from callcenter.calls.tracker import CallTracker  # noqa: E402
from callcenter.server.replay import read_transcript  # noqa: E402
from callcenter.settings import AmiSettings  # noqa: E402
from callcenter.store.events import EventLogWriter  # noqa: E402
from callcenter.store.migrate import migrate  # noqa: E402

LAB = Path(os.environ.get("CALLCENTER_ASTERISK_LAB", ROOT.parent / "shared" / "asterisk-lab"))
_UID = re.compile(r"\b(17953\d{5})\.(\d+)\b")
_CHAN = re.compile(r"-([0-9a-f]{8})(?=[;\r,])")
_BRIDGE = re.compile(r"\b[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")


def build_stream(copies: int) -> tuple[bytes, int]:
    frames: list[str] = []
    for path in sorted((LAB / "transcripts").glob("*.jsonl")):
        for line in read_transcript(path):
            if (line.direction == "in" and line.frame.startswith("Event: ") and "ActionID" not in line.frame
                    and not line.frame.startswith("Event: FullyBooted")):
                frames.append(line.frame)
    template = "".join(frames)
    out = ["Asterisk Call Manager/11.0.0\r\n"]
    for k in range(copies):
        text = _UID.sub(lambda m: f"{int(m.group(1)) + k * 100_000}.{m.group(2)}", template)  # noqa: B023
        text = _CHAN.sub(lambda m: f"-{(int(m.group(1), 16) + k * 64):08x}", text)  # noqa: B023
        text = _BRIDGE.sub(lambda m: f"{k:08x}{m.group(1)}", text)  # noqa: B023
        out.append(text)
    return "".join(out).encode("utf-8"), len(frames) * copies


def chunks(data: bytes, size: int = 65536) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def bare(data: list[bytes]) -> float:
    from panoramisk import Manager
    from panoramisk.ami_protocol import AMIProtocol

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        manager = Manager(loop=loop)
        count = [0]

        def on_event(_: object, __: object) -> None:
            count[0] += 1

        manager.register_event("*", on_event)
        protocol = AMIProtocol()

        class _Transport:
            def write(self, _: bytes) -> None: ...
            def close(self) -> None: ...

        protocol.connection_made(_Transport())
        protocol.factory = manager
        protocol.encoding = "utf8"
        started = time.perf_counter()
        for chunk in data:
            protocol.data_received(chunk)
        return time.perf_counter() - started
    finally:
        loop.close()


async def full(data: list[bytes], admin_dsn: str) -> tuple[float, int]:
    import asyncpg

    name = f"cc_bench_ingest_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_dsn.rpartition("/")
    pool = await asyncpg.create_pool(f"{base}/{name}", min_size=2, max_size=4)
    try:
        await migrate(pool)
        tracker = CallTracker()
        recorder = CallRecorder(tracker, EventLogWriter(pool, max_buffer=10_000_000), CallStore(pool))
        client = AmiClient(AmiSettings())
        client.subscribe(CallDispatcher(tracker, recorder).on_ami_event)  # as the server wires it
        protocol = AmiProtocol(client)
        client._protocol = protocol  # feed bytes straight in, as the socket would
        started = time.perf_counter()
        flushing: asyncio.Task[None] | None = None
        for i, chunk in enumerate(data):
            protocol.data_received(chunk)
            if i % 8 == 7:
                if flushing is not None:
                    await flushing
                flushing = asyncio.create_task(recorder.flush())
            await asyncio.sleep(0)
        if flushing is not None:
            await flushing
        await recorder.flush()
        elapsed = time.perf_counter() - started
        stored = await pool.fetchval("SELECT count(*) FROM call_events")
        return elapsed, int(stored)
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=60)
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    stream, events = build_stream(args.copies)
    data = chunks(stream)
    bare_s = min(bare(data) for _ in range(3))
    runs = [asyncio.run(full(data, args.database_url)) for _ in range(3)]
    full_s, stored = min(runs)
    print(json.dumps({"events": events, "stored_events": stored,
                      "bare_events_per_s": round(events / bare_s),
                      "full_events_per_s": round(events / full_s),
                      "ratio": round(bare_s / full_s, 3)}))


if __name__ == "__main__":
    main()
