"""The supervisors' live feed (/ws/live): a wallboard that falls too far behind is closed with
"try again later" (not left open and silent), and on reconnecting with its last sequence
number it gets the calls as they are now, then the events that follow."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp

from callcenter.live.web import BOARD
from callcenter.server.build import build_server
from callcenter.store.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]


async def test_a_feed_that_overflows_is_closed_and_the_wallboard_catches_up(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            await UserStore(server.database.pool).create_user("live_boss", "Boss", "supervisor", "demo")
            board = server.http.app[BOARD]
            base = f"http://127.0.0.1:{server.http_port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await http.post(f"{base}/login", json={"login": "live_boss", "password": "demo"})
                async with http.ws_connect(f"{base}/ws/live?since=0", headers={"Origin": base}) as ws:
                    assert (await ws.receive_json(timeout=5))["type"] == "hello"
                    assert (await ws.receive_json(timeout=5))["type"] == "live_snapshot"
                    for n in range(1200):  # at once: more than the socket's queue holds
                        board.utterance({"call_id": "1700.5", "id": n, "kind": "speech", "speaker": "customer",
                                         "text": f"words {n}"}, "sam")
                    received = []
                    while (message := await ws.receive(timeout=10)).type is aiohttp.WSMsgType.TEXT:
                        received.append(message.json())
                    assert message.type is aiohttp.WSMsgType.CLOSE, message
                    assert message.data == aiohttp.WSCloseCode.TRY_AGAIN_LATER
                assert board.lagged == 1
                async with http.get(f"{base}/metrics") as response:
                    text = await response.text()
                    assert "callcenter_live_feeds_lagged_total 1.0" in text
                    assert "callcenter_live_gave_up_total 0.0" in text
                last = received[-1]["seq"] if received else 0
                assert last < board.seq, "the overflow lost events"

                # reconnecting with its last number, the wallboard gets the call as it is now
                async with http.ws_connect(f"{base}/ws/live?since={last}", headers={"Origin": base}) as ws:
                    assert (await ws.receive_json(timeout=5))["type"] == "hello"
                    snapshot = await ws.receive_json(timeout=5)
                    assert snapshot["type"] == "live_snapshot" and snapshot["seq"] == board.seq
                    [call] = snapshot["calls"]
                    assert call["call_id"] == "1700.5" and call["transcript"][-1]["text"] == "words 1199"
                    board.utterance({"call_id": "1700.5", "id": 1200, "kind": "speech", "speaker": "agent",
                                     "text": "and then"}, "sam")
                    after = await ws.receive_json(timeout=5)
                    assert (after["type"], after["seq"], after["text"]) == ("live_utterance", board.seq, "and then")
