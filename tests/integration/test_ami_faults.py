"""The AMI adapter under faults: dropped links, refused logins, half-open links, bad frames."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog.testing

from callcenter.ami import messages
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError, AmiLinkLost, AmiLoginFailed, AmiNotConnected, AmiTimeout
from callcenter.ami.messages import AmiEvent
from callcenter.ami.parser import Frame
from callcenter.settings import AmiSettings, Secret
from tests.amifake import FakeAmi, frame
from tests.helpers.polling import wait_until


def settings(port: int, **overrides: Any) -> AmiSettings:
    values: dict[str, Any] = {"port": port, "secret": Secret("s3cret"), "ping_interval_s": 3600.0,
                              "ping_timeout_s": 0.3, "action_timeout_s": 2.0,
                              "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
    values.update(overrides)
    return AmiSettings(**values)


@contextlib.asynccontextmanager
async def running(client: AmiClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, AmiError):
            await task


async def test_given_link_never_up_when_sending_then_fails_at_once() -> None:
    client = AmiClient(settings(1))
    with pytest.raises(AmiNotConnected):
        await client.send(messages.ping())


async def test_given_actions_in_flight_when_link_drops_then_they_fail_fast_and_link_reconnects() -> None:
    async with FakeAmi() as ami:
        ami.silent.add("Status")
        client = AmiClient(settings(ami.port, action_timeout_s=30.0))
        async with running(client):
            await client.wait_connected(5)
            pending = [asyncio.create_task(client.send(messages.status())) for _ in range(3)]
            await wait_until(lambda: sum(f.fields.get("Action") == "Status" for f in ami.received) == 3)
            started = time.monotonic()
            ami.drop()
            results = await asyncio.gather(*pending, return_exceptions=True)
            assert all(isinstance(r, AmiLinkLost) for r in results)
            assert time.monotonic() - started < 1.0
            await wait_until(lambda: ami.connections == 2 and client.connected)
            assert (await client.send(messages.ping())).ok
            assert client.reconnects >= 1


async def test_given_wrong_secret_when_connecting_then_login_failure_is_reported_not_retried() -> None:
    async with FakeAmi(secret="other") as ami:
        client = AmiClient(settings(ami.port))
        with pytest.raises(AmiLoginFailed) as info:
            await asyncio.wait_for(client.run(), 5)
        assert "refused" in str(info.value) and "s3cret" not in str(info.value)
        assert ami.connections == 1
        with pytest.raises(AmiLoginFailed):
            await client.wait_connected(0.1)


async def test_given_half_open_link_when_pings_go_unanswered_then_link_is_marked_dead_and_reconnects() -> None:
    async with FakeAmi(answer_pings=False) as ami:
        client = AmiClient(settings(ami.port, ping_interval_s=0.1, ping_timeout_s=0.2))
        states: list[str] = []
        client.observe_link(states.append)
        async with running(client):
            await client.wait_connected(5)
            await wait_until(lambda: ami.connections >= 2, timeout_s=5)
            assert "down" in states
            assert "ping" in client.last_error or client.connected


async def test_given_malformed_and_oversized_frames_then_they_are_skipped_and_the_link_survives() -> None:
    async with FakeAmi() as ami:
        client = AmiClient(settings(ami.port, max_frame_bytes=4096))
        events: list[AmiEvent] = []
        client.subscribe(events.append)
        async with running(client):
            await client.wait_connected(5)
            ami.push(b"this is not a frame\r\nno headers here\r\n\r\n")
            ami.push(b"Event: Big\r\nData: " + b"x" * 10_000 + b"\r\n\r\n")
            ami.push(b"Event: Bad\r\nCallerIDName: \xff\xfe broken\r\n\r\n")
            ami.push(frame("Event: Newchannel", "Channel: PJSIP/pstn-00000001", "Uniqueid: 1.1"))
            await wait_until(lambda: any(e.name == "Newchannel" for e in events))
            assert client.bad_frames == 2
            assert [e.name for e in events if e.name != "FullyBooted"] == ["Bad", "Newchannel"]
            assert events[-2].get("X-Invalid-UTF8") == "1"
            assert (await client.send(messages.ping())).ok
            assert ami.connections == 1


async def test_given_a_handler_that_raises_then_the_link_survives_and_later_events_arrive() -> None:
    async with FakeAmi() as ami:
        client = AmiClient(settings(ami.port))
        seen: list[str] = []

        def broken(event: AmiEvent) -> None:
            raise RuntimeError("handler bug")

        client.subscribe(broken)
        client.subscribe(lambda e: seen.append(e.name))
        async with running(client):
            await client.wait_connected(5)
            ami.push(frame("Event: One"))
            ami.push(frame("Event: Two"))
            await wait_until(lambda: "Two" in seen)
            assert client.connected and ami.connections == 1


async def test_given_pending_action_id_on_events_then_events_still_reach_handlers() -> None:
    async with FakeAmi() as ami:
        def originate(action: Frame) -> list[bytes]:
            aid = action.fields["ActionID"]
            return [frame("Response: Success", f"ActionID: {aid}", "Message: Originate successfully queued"),
                    frame("Event: OriginateResponse", f"ActionID: {aid}", "Response: Failure",
                          "Channel: PJSIP/1003", "Reason: 0", "Uniqueid: <unknown>")]

        def core_show_channels(action: Frame) -> list[bytes]:
            aid = action.fields["ActionID"]
            return [frame("Response: Success", f"ActionID: {aid}", "EventList: start"),
                    frame("Event: CoreShowChannel", f"ActionID: {aid}", "Channel: PJSIP/pstn-1"),
                    frame("Event: CoreShowChannel", f"ActionID: {aid}", "Channel: PJSIP/1001-2"),
                    frame("Event: CoreShowChannelsComplete", f"ActionID: {aid}", "EventList: Complete",
                          "ListItems: 2")]

        ami.replies["Originate"] = originate
        ami.replies["CoreShowChannels"] = core_show_channels
        client = AmiClient(settings(ami.port))
        events: list[AmiEvent] = []
        client.subscribe(events.append)
        async with running(client):
            await client.wait_connected(5)
            response = await client.send(messages.Originate("PJSIP/1003", application="Bridge",
                                                            data="PJSIP/pstn-1,p", timeout_ms=15000))
            assert response.ok
            await wait_until(lambda: any(e.name == "OriginateResponse" for e in events))
            listing = await client.send(messages.core_show_channels())
            assert [i.channel for i in listing.items] == ["PJSIP/pstn-1", "PJSIP/1001-2"]
            assert sum(e.name == "CoreShowChannel" for e in events) == 2
        originate_sent = next(f for f in ami.received if f.fields.get("Action") == "Originate")
        assert originate_sent.fields["Async"] == "true"


async def test_given_no_answer_when_action_times_out_then_clear_error_and_link_stays_up() -> None:
    async with FakeAmi() as ami:
        ami.silent.add("Status")
        client = AmiClient(settings(ami.port))
        async with running(client):
            await client.wait_connected(5)
            with pytest.raises(AmiTimeout, match="Status"):
                await client.send(messages.status(), timeout=0.2)
            assert client.connected


async def test_given_agi_command_then_result_matched_on_lowercase_command_id() -> None:
    async with FakeAmi() as ami:
        def agi(action: Frame) -> list[bytes]:
            aid, cid = action.fields["ActionID"], action.fields["CommandID"]
            return [frame("Response: Success", f"ActionID: {aid}", "Message: Added AGI command to queue"),
                    frame("Event: AsyncAGIExec", "Channel: PJSIP/pstn-1", f"CommandId: {cid}",
                          "Result: 200%20result%3D0123%0A")]

        ami.replies["AGI"] = agi
        client = AmiClient(settings(ami.port))
        async with running(client):
            await client.wait_connected(5)
            result = await client.agi("PJSIP/pstn-1", "GET DATA vm-enter-num-to-call 6000 4", timeout=2)
            assert result.ok and result.value == "0123"


async def test_header_injection_in_an_action_is_refused() -> None:
    with pytest.raises(ValueError):
        messages.hangup("PJSIP/x\r\nAction: Originate").render("1")


async def test_a_link_lost_is_a_warning_and_one_closed_at_shutdown_is_not() -> None:
    async with FakeAmi() as ami:
        def goodbye(action: Frame) -> list[bytes]:  # the link closed as the Logoff arrives
            ami.drop()
            return []

        ami.replies["Logoff"] = goodbye
        client = AmiClient(settings(ami.port))
        with structlog.testing.capture_logs() as logs:
            async with running(client):
                await client.wait_connected(5)
                ami.drop()
                await wait_until(lambda: ami.connections, lambda n: n >= 2, "linked again")
                await client.wait_connected(5)
        downs = [(e["log_level"], e["reason"]) for e in logs if e["event"] == "ami_link_down"]
    assert downs[0][0] == "warning" and downs[0][1].startswith("lost")
    assert downs[1:] == [("info", "closed by us")]
