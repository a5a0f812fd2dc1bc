"""Every AMI event type the server reads, with each header replaced by hostile values (NUL,
CR/LF, 100 KB, invalid UTF-8, huge, negative and Unicode numbers, a smuggled frame), pushed
through the server's real AMI link; then a good caller goes through the IVR, is routed to an
agent, talks and hangs up: the call is stored and routed, nothing escaped, and the writers
still make progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData
from callcenter.demo.run import running_demo
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import Scenario
from tests.integration.test_serve import get
from tests.routing.sim_harness import caller, phone

REPO = Path(__file__).resolve().parents[2]
COMMON = ("Channel", "Uniqueid", "Linkedid")
# The headers each event type is read for (tracker, IVR, offers, recording, AGI results).
EVENTS: dict[str, tuple[str, ...]] = {
    "Newchannel": ("CallerIDNum", "CallerIDName", "Exten", "Context", "ChannelState"),
    "Newstate": ("ChannelState", "ChannelStateDesc", "ConnectedLineNum"),
    "NewCallerid": ("CallerIDNum", "CallerIDName"),
    "DialState": ("DestChannel", "DestUniqueid", "DestLinkedid", "DialStatus"),
    "DialEnd": ("DestChannel", "DestUniqueid", "DestLinkedid", "DialStatus"),
    "AsyncAGIStart": ("Env",),
    "AsyncAGIExec": ("CommandId", "Result"),
    "AsyncAGIEnd": (),
    "DTMFEnd": ("Digit", "Direction", "DurationMs"),
    "MusicOnHoldStart": ("Class",),
    "BridgeEnter": ("BridgeUniqueid", "BridgeNumChannels"),
    "BridgeLeave": ("BridgeUniqueid", "BridgeNumChannels"),
    "VarSet": ("Variable", "Value"),
    "MixMonitorMute": ("State", "Direction"),
    "SoftHangupRequest": ("Cause",),
    "HangupRequest": ("Cause",),
    "Hangup": ("Cause", "Cause-txt"),
    "OriginateResponse": ("ActionID", "Response", "Reason"),
    "ContactStatus": ("AOR", "ContactStatus", "EndpointName"),
}
HOSTILE: list[bytes] = [
    b"\x00", b"a\x00b", b"x\ny", b"x\rEvent: Hangup", b"\x1b[2J\x07\x7f\xc2\x85",
    b"\r\n\r\nEvent: Hangup\r\nUniqueid: 1700000000.1", b"A" * 100_000, b"\xff\xfe\xc3(\xed\xa0\x80",
    b"99999999999999999999", b"-1", str(-(2**63)).encode(), "٤".encode(), b"%00%0a%0d%ff",
]
GOOD = {"Channel": "PJSIP/fuzz-{n}", "Uniqueid": "9000.{n}", "Linkedid": "9000.{n}",
        "CallerIDNum": "5550{n}", "CallerIDName": "Fuzz", "Exten": "4001", "Context": "inbound",
        "ChannelState": "4", "ChannelStateDesc": "Ring", "ConnectedLineNum": "", "DestChannel":
        "PJSIP/1001-{n}", "DestUniqueid": "9100.{n}", "DestLinkedid": "9000.{n}", "DialStatus": "ANSWER",
        "Env": "agi_request%3A%20async%0Aagi_channel%3A%20PJSIP%2Ffuzz-{n}%0Aagi_callerid%3A%205550{n}%0A",
        "CommandId": "cmd-{n}", "Result": "200%20result%3D49%0A", "Digit": "1", "Direction": "Received",
        "DurationMs": "80", "Class": "default", "BridgeUniqueid": "br-{n}", "BridgeNumChannels": "2",
        "Variable": "CC_CALL", "Value": "9000.{n}", "State": "1", "Cause": "16", "Cause-txt": "Normal",
        "ActionID": "cc-fuzz-{n}", "Response": "Failure", "Reason": "3", "AOR": "1001",
        "ContactStatus": "Reachable", "EndpointName": "1001"}


def frame(event: str, n: int, hostile: tuple[str, bytes] | None = None) -> bytes:
    lines = [b"Event: " + event.encode()]
    for key in (*COMMON, *EVENTS[event]):
        value = GOOD[key].format(n=n).encode()
        if hostile is not None and hostile[0] == key:
            value = hostile[1]
        lines.append(key.encode() + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def hostile_stream() -> Iterator[bytes]:
    n = 0
    for event, headers in EVENTS.items():
        for key in (*COMMON, *headers):
            for value in HOSTILE:
                n += 1
                yield frame("Newchannel", n)  # a call for the hostile event to be about
                yield frame(event, n, (key, value))
                yield frame("Hangup", n)


async def test_hostile_values_in_every_event_leave_later_calls_stored_and_routed(
        db_url: str, tmp_path: Path) -> None:
    def scenario(data: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        phones = tuple(phone(a.dial_string.rsplit("/", 1)[-1], hangup_after_s=10.0) for a in agents)
        return Scenario((), phones, "fuzz")

    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    good = caller(4, "refunds", survey=None)
    async with running_demo(settings, speed=20.0, scenario=scenario) as demo:
        server = demo.server
        await server.ami.wait_connected(10)
        protocol = server.ami._protocol  # the live link: bytes go through its parser, as from the socket
        assert protocol is not None
        frames = 0
        for chunk in hostile_stream():
            protocol.data_received(chunk)
            frames += 1
        assert frames > 1000
        await server.recorder.flush()
        demo.simulator.place_call(good)
        deadline = time.monotonic() + 90
        row = None
        while time.monotonic() < deadline:
            await server.clock.sleep(5.0)
            await server.recorder.flush()
            row = await server.database.pool.fetchrow(
                "SELECT * FROM calls WHERE caller_number = $1 AND state = 'ended'", good.number)
            if row is not None:
                break
        assert row is not None, "the good call after the hostile burst was not stored as ended"
        assert row["outcome"] == "answered" and row["agent_channel"], dict(row)
        assert "answered" in row["offers"]
        status, body = await get(server.http_port, "/healthz")
        assert status == 200, body
        stats = server.recorder.statistics()
        assert stats["rejected"] == 0 and server.calls.rejected == 0
        assert server.metrics.registry.get_sample_value(
            "callcenter_task_failures_total", {"task": "unhandled"}) in (None, 0.0)
        assert server.ami.sanitized > 100
    conn = await asyncpg.connect(db_url)
    try:
        fuzzed = await conn.fetchval("SELECT count(*) FROM calls WHERE linkedid LIKE '9000.%'")
        names = await conn.fetchval("SELECT count(*) FROM calls WHERE linkedid LIKE '9000.%'"
                                    " AND caller_name ~ '[[:cntrl:]]'")
    finally:
        await conn.close()
    assert fuzzed > 500  # the hostile calls themselves were stored too, cleaned
    assert names == 0
