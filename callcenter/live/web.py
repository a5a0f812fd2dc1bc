"""Live speech over HTTP.

- ``GET /api/live/calls/{linkedid}``: the call's live transcript so far (the console's catch-up
  after a reconnect); agents see only their own calls, supervisors, QA and admins every call.
- ``GET /api/live/stats``: the receiver's, the relay's and the spies' counters (supervisors).
- ``/ws/live?since=N`` (supervisors, admins): ``hello``, then what came after ``since`` or a
  ``live_snapshot``, then ``live_utterance``, ``live_alert`` and ``live_call_ended`` events. A
  client that falls too far behind is closed with code 1013 (try again later): it reconnects
  with its last ``seq`` and catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from callcenter.live import store
from callcenter.live.board import Listener, LiveBoard
from callcenter.store.call_history import call_owner
from callcenter.web.auth import current_session, require, same_origin
from callcenter.web.errors import api_error
from callcenter.web.keys import POOL
from callcenter.web.openapi import Api, Param, Route

SUPERVISORS = ("supervisor", "admin")
READERS = ("supervisor", "admin", "qa", "agent")
LINKEDID = re.compile(r"[0-9A-Za-z._-]{1,64}")
BOARD = web.AppKey("live_board", LiveBoard)
STATS: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("live_stats")


async def live_transcript(request: web.Request) -> web.Response:
    session = require(request, *READERS)
    linkedid = request.match_info["linkedid"]
    if not LINKEDID.fullmatch(linkedid):
        raise api_error(400, "call ids are Asterisk linkedids", "bad_call_id")
    pool = request.app[POOL]
    call_id = await pool.fetchval("SELECT id FROM calls WHERE linkedid = $1", linkedid)
    owner = await call_owner(pool, int(call_id)) if call_id is not None else None
    if owner is None or (session.user.role == "agent" and owner.agent_id != session.user.agent_id):
        raise api_error(404, "no such call", "not_found")
    return web.json_response({"call_id": linkedid, "call_db_id": owner.id,
                              "utterances": await store.transcript(pool, linkedid)})


async def live_stats(request: web.Request) -> web.Response:
    require(request, *SUPERVISORS)
    return web.json_response(request.app[STATS]())


async def live_socket(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text="log in first")
    if session.user.role not in SUPERVISORS:
        raise web.HTTPForbidden(text="supervisors and admins only")
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-origin WebSocket refused")
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        since = 0
    board = request.app[BOARD]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1024)
    await ws.prepare(request)
    with board.listen() as listener:
        await ws.send_json({"type": "hello", "seq": board.seq})
        backlog = board.since(since) if since > 0 else None
        for event in backlog if backlog is not None else [board.snapshot()]:
            await ws.send_json(event)
        sender = asyncio.create_task(_forward(ws, listener))
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    return ws


async def _forward(ws: web.WebSocketResponse, listener: Listener) -> None:
    while not ws.closed:
        if listener.lagged:  # events were lost: the client reconnects and asks for them
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"fell behind: reconnect with since")
            return
        event = await listener.queue.get()
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await ws.send_json(event)


def feature(board: LiveBoard, stats: Callable[[], dict[str, Any]]) -> Callable[[web.Application, Api], None]:
    def register(app: web.Application, api: Api) -> None:
        app[BOARD] = board
        app[STATS] = stats
        app.router.add_get("/ws/live", live_socket)
        api.add(Route("GET", "/api/live/calls/{linkedid}", live_transcript,
                      "A call's live transcript so far (gaps included)", READERS,
                      params=(Param("linkedid", "path", {"type": "string", "pattern": LINKEDID.pattern}),)))
        api.add(Route("GET", "/api/live/stats", live_stats, "Live speech counters", SUPERVISORS))

    return register
