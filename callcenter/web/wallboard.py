"""``/supervisor``: the live wallboard (roles supervisor, admin).

One snapshot — waiting per skill, longest wait, service level, abandon rate, agents by state,
who is on which call — is served at ``GET /api/wallboard`` and pushed every second over the
WebSocket ``/ws/wallboard`` (authenticated by the session cookie, Origin checked). Live numbers
come from the routing engine; the day's totals (since midnight UTC) from the stored calls, with
abandons under 5 seconds left out of the abandon rate (callers who hung up at once were never
really waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import WSMsgType, web

from callcenter.store import wallboard as wallboard_store
from callcenter.store.errors import DatabaseUnavailable
from callcenter.web.api_supervision import SUPERVISION
from callcenter.web.auth import current_session, require, same_origin
from callcenter.web.db_errors import MESSAGE, error_id_of
from callcenter.web.keys import AGENTS, CLOCK, ENGINE, POOL, WALLBOARD_SOCKETS
from callcenter.web.openapi import Api, Route
from callcenter.web.shell import check_page_role, page_shell

ROLES = ("supervisor", "admin")
SHORT_ABANDON_S = 5.0
PUSH_EVERY_S = 1.0



def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _tiles(routing: dict[str, Any] | None, day: dict[str, Any],
           callbacks: tuple[int, float] = (0, 0.0)) -> dict[str, Any]:
    answered, abandoned = int(day.get("answered") or 0), int(day.get("abandoned") or 0)
    finished = answered + abandoned
    return {
        "callbacks_waiting": callbacks[0], "callbacks_oldest_wait_s": round(callbacks[1], 1),
        "waiting": routing["waiting"] if routing else 0,
        "longest_wait_s": round(routing["longest_wait_s"], 1) if routing else 0.0,
        "service_level": routing["service_level"] if routing else None,
        "offered_today": int(day.get("offered") or 0),
        "answered_today": answered,
        "abandoned_today": abandoned,
        "short_abandons_today": int(day.get("short_abandons") or 0),
        "abandon_rate_today": round(abandoned / finished, 4) if finished else None,
        "asa_today_s": round(float(day["asa_s"]), 1) if day.get("asa_s") is not None else None,
        "csat_today": round(float(day["csat"]), 2) if day.get("csat") is not None else None,
    }


def _agent(detail: dict[str, Any], live: dict[str, dict[str, Any]], names: dict[str, str],
           now: float) -> dict[str, Any]:
    """One agent's line: state, how long in it, and the call they are on (durations in the
    server's clock: ``now`` and the stored times are both from it)."""
    call = live.get(detail.get("call_id") or "")
    started = call and (call.get("answered_at") or call.get("arrived_at"))
    return {
        "agent_id": detail["agent_id"], "name": names.get(detail["agent_id"], detail["agent_id"]),
        "state": detail["state"], "reason": detail.get("reason", ""), "call_id": detail.get("call_id"),
        "since_s": round(max(0.0, now - detail["since"]), 0), "reachable": detail.get("reachable", True),
        "answered": detail.get("answered", 0),
        "call": None if not call else {
            "caller_number": call.get("caller_number") or "",
            "caller_name": call.get("caller_name") or "",
            "duration_s": round(max(0.0, now - started.timestamp()), 0) if started else None},
    }


def _waiting(waiting: list[dict[str, Any]], live: dict[str, dict[str, Any]],
             names: dict[str, str]) -> list[dict[str, Any]]:
    return [{**w, "able": [names.get(a, a) for a in w["able"]],
             "able_ready": [names.get(a, a) for a in w["able_ready"]],
             "caller_number": (live.get(w["call_id"]) or {}).get("caller_number") or "",
             "caller_name": (live.get(w["call_id"]) or {}).get("caller_name") or ""}
            for w in waiting]


def build_snapshot(routing: dict[str, Any] | None, day: dict[str, Any], live: dict[str, dict[str, Any]],
                   names: dict[str, str], now: float,
                   waiting: list[dict[str, Any]] | None = None,
                   supervision: list[dict[str, Any]] | None = None,
                   callbacks: tuple[int, float] = (0, 0.0)) -> dict[str, Any]:
    """The wallboard's JSON from the routing statistics, the day's totals, the live calls,
    the live monitoring sessions (who listens to which call) and the callbacks waiting (count,
    oldest wait), at ``now`` (the server's clock)."""
    details = (routing or {}).get("agent_details", [])
    by_state: dict[str, int] = {}
    for detail in details:
        by_state[detail["state"]] = by_state.get(detail["state"], 0) + 1
    agents = [_agent(detail, live, names, now) for detail in details]
    skills = [{k: s[k] for k in ("skill", "waiting", "longest_wait_s", "entered", "answered", "abandoned",
                                  "service_level", "service_level_target_s", "abandon_rate", "asa_s")}
              for s in (routing or {}).get("skills", [])]
    return {"at": datetime.fromtimestamp(now, UTC).isoformat(), "tiles": _tiles(routing, day, callbacks),
            "agents_by_state": by_state, "skills": skills,
            "agents": sorted(agents, key=lambda a: (a["state"], a["name"])),
            "waiting_calls": _waiting(waiting or [], live, names),
            "supervision": [{k: s.get(k, "") for k in ("id", "supervisor", "agent_id", "call_id", "mode",
                                                       "state", "note")}
                            for s in supervision or []]}


async def snapshot(app: web.Application) -> dict[str, Any]:
    pool = app[POOL]
    engine = app.get(ENGINE)
    routing = engine.statistics().to_json() if engine is not None else None
    now = app[CLOCK].now()
    day = await wallboard_store.day_totals(pool, day_start(datetime.fromtimestamp(now, UTC)), SHORT_ABANDON_S)
    waiting = engine.why_waiting() if engine is not None else []
    call_ids = [d["call_id"] for d in (routing or {}).get("agent_details", []) if d.get("call_id")]
    call_ids += [w["call_id"] for w in waiting]
    live = {key: asdict(call) for key, call in (await wallboard_store.live_calls(pool, call_ids)).items()}
    service = app.get(AGENTS)
    names = {}
    if service is not None and routing is not None:
        for detail in routing["agent_details"]:
            with contextlib.suppress(Exception):
                names[detail["agent_id"]] = service.profile(detail["agent_id"]).name
    spies = app.get(SUPERVISION)
    sessions = [s.to_json() for s in spies.sessions()] if spies is not None else []
    callbacks = engine.callbacks_waiting() if engine is not None else (0, 0.0)
    return build_snapshot(routing, day, live, names, now, waiting, sessions, callbacks)


async def get_wallboard(request: web.Request) -> web.Response:
    require(request, *ROLES)
    return web.json_response(await snapshot(request.app))


async def wallboard_socket(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text="log in first")
    if session.user.role not in ROLES:
        raise web.HTTPForbidden(text="supervisors and admins only")
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-origin WebSocket refused")
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await ws.prepare(request)
    request.app[WALLBOARD_SOCKETS].add(ws)
    pusher = asyncio.create_task(_push(request.app, ws))
    try:
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break  # clients only listen; anything they send is ignored
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
    return ws


async def _push(app: web.Application, ws: web.WebSocketResponse) -> None:
    while not ws.closed:
        try:
            await ws.send_json(await snapshot(app))
        except (ConnectionResetError, RuntimeError):
            return
        except (asyncpg.PostgresError, asyncpg.InterfaceError, DatabaseUnavailable, OSError) as exc:
            # the same body an API call gets (the page keeps its last numbers meanwhile)
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await ws.send_json({"error": MESSAGE, "error_id": error_id_of(exc) or "db_unavailable"})
        await asyncio.sleep(PUSH_EVERY_S)


async def supervisor_page(request: web.Request) -> web.Response:
    check_page_role(request, ROLES)
    session = current_session(request)
    return page_shell(request, prefix="wallboard.", title_key="wallboard.title", script="wallboard.js",
                      body='<main class="wallboard"><div id="wallboard"></div></main>'
                      '<section id="live-alerts" aria-labelledby="live-alerts-title"></section>'
                      '<script type="module" src="/static/live-alerts.js"></script>',
                      data={"user": session.user.login if session is not None else ""})


async def _close_sockets(app: web.Application) -> None:
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[WALLBOARD_SOCKETS]
    for ws in list(sockets):
        await ws.close(code=1001, message=b"server shutdown")


def register(app: web.Application, api: Api) -> None:
    app[WALLBOARD_SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/supervisor", supervisor_page)
    app.router.add_get("/ws/wallboard", wallboard_socket)
    api.add(Route("GET", "/api/wallboard", get_wallboard,
                  "The wallboard snapshot: tiles, skills, agents and their calls", ROLES))
