"""``/agent`` (role agent) and its WebSocket ``/ws/agent?since=N``.

The socket is authenticated by the session cookie and refused from another origin. On connect
the server sends ``hello`` with its latest sequence number, then either every event after
``since`` or, when the browser is too far behind, a ``snapshot`` (the current pop and state),
then live events. Messages from the browser are not needed and are capped at 1 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from collections.abc import Callable

from aiohttp import WSMsgType, web

from callcenter.clock import Clock
from callcenter.console.hub import ConsoleHub
from callcenter.store.directory import agent_login
from callcenter.web.auth import current_session, same_origin
from callcenter.web.keys import CLOCK, ENGINE, HUB, POOL
from callcenter.web.openapi import Api
from callcenter.web.shell import check_page_role, page_shell


def wrap_up_seconds(request: web.Request, field: str = "wrap_up_s") -> dict[str, float]:
    """After-call work per skill (``*``: any other), from the routing policy in force;
    ``wrap_up_max_s``: how long "More time" may last after the call (0: no limit)."""
    engine = request.app.get(ENGINE)
    if engine is None:
        return {"*": 20.0 if field == "wrap_up_s" else 0.0}
    policy = engine.policy
    return {"*": getattr(policy.defaults, field),
            **{name: getattr(skill, field) for name, skill in policy.skills.items()}}


async def agent_page(request: web.Request) -> web.Response:
    check_page_role(request, ("agent",))
    session = current_session(request)
    assert session is not None
    login = await agent_login(request.app[POOL], session.user.agent_id) or ""
    body = (f'<main id="console" class="console" data-agent="{html.escape(login)}"></main>'
            '<aside class="console-side"><section id="kb-panel" aria-labelledby="kb-panel-title">'
            '</section><section id="live-panel" aria-labelledby="live-panel-title"></section></aside>'
            '<script type="module" src="/static/kb-panel.js"></script>'
            '<script type="module" src="/static/live-panel.js"></script>')
    return page_shell(request, prefix="console.", title_key="console.title", script="console-agent.js",
                      body=body, data={"wrapup": json.dumps(wrap_up_seconds(request)),
                                       "wrapupmax": json.dumps(wrap_up_seconds(request, "wrap_up_max_s")),
                                       "skills": json.dumps(transfer_skills(request))})


def transfer_skills(request: web.Request) -> list[str]:
    """The skills the agent may transfer a call to (the routing policy's)."""
    engine = request.app.get(ENGINE)
    return sorted(engine.policy.skills) if engine is not None else []


async def _socket_agent(request: web.Request) -> str:
    """The login of the agent opening the console socket.

    Raises:
        web.HTTPException: 401 without a session; 403 for another role, another origin, or a
            user not linked to an agent.
    """
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text="log in first")
    if session.user.role != "agent":
        raise web.HTTPForbidden(text="agents only")
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-origin WebSocket refused")
    login = await agent_login(request.app[POOL], session.user.agent_id)
    if login is None:
        raise web.HTTPForbidden(text="this user is not linked to an agent")
    return login


async def _catch_up(ws: web.WebSocketResponse, hub: ConsoleHub, login: str, since: int,
                    clock: Clock) -> None:
    """``hello`` with the server's clock (scaled in the demo) and speed, so the page's timers
    agree; then what the browser missed, or a snapshot when it is too far behind."""
    await ws.send_json({"type": "hello", "seq": hub.feed(login).seq, "agent_id": login,
                        "clock": clock.now(), "speed": clock.speed})
    backlog = hub.since(login, since) if since >= 0 else None
    if backlog is None or since == 0:
        await ws.send_json(hub.snapshot(login))
        return
    for event in backlog:
        await ws.send_json(event)


async def agent_socket(request: web.Request) -> web.StreamResponse:
    login = await _socket_agent(request)
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        since = 0
    hub = request.app[HUB]
    ws = web.WebSocketResponse(heartbeat=15.0, max_msg_size=1024)
    await ws.prepare(request)
    with hub.listen(login) as queue:
        await _catch_up(ws, hub, login, since, request.app[CLOCK])
        sender = asyncio.create_task(_forward(ws, queue, hub.feed(login).seq))
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    return ws


async def _forward(ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, object]], sent: int) -> None:
    while not ws.closed:
        event = await queue.get()
        if int(str(event.get("seq", 0))) <= sent:
            continue
        try:
            await ws.send_json(event)
        except (ConnectionResetError, RuntimeError):
            return


def feature(hub: ConsoleHub) -> Callable[[web.Application, Api], None]:
    def register(app: web.Application, api: Api) -> None:
        app[HUB] = hub
        app.router.add_get("/agent", agent_page)
        app.router.add_get("/ws/agent", agent_socket)

    return register
