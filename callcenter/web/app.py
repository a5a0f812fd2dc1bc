"""The HTTP side: ``/healthz``, ``/metrics``, log-in, the REST API under ``/api/`` (OpenAPI at
``/api/openapi.json``) and the pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from callcenter.clock import Clock, WallClock
from callcenter.metrics import Metrics
from callcenter.routing.agent_service import AgentService
from callcenter.routing.engine import RoutingEngine
from callcenter.store.users import UserStore
from callcenter.web import api_agents, api_calls, api_users, login, pages
from callcenter.web.auth import security_headers, session_middleware
from callcenter.web.db_errors import database_errors
from callcenter.web.guard import input_guard
from callcenter.web.keys import AGENTS, CLOCK, ENGINE, POOL, SESSION, THROTTLE, TRUST_PROXY
from callcenter.web.openapi import Api
from callcenter.web.throttle import LoginThrottle

STATIC = Path(__file__).with_name("static")


@dataclass(frozen=True, slots=True)
class Health:
    """What ``/healthz`` reports: each probe answers (ok, detail) without raising."""

    ami: Callable[[], tuple[bool, str]]
    database: Callable[[], Awaitable[tuple[bool, str]]]
    # more readiness checks by name (the IVR heartbeat, reconciling after a reconnect)
    checks: Mapping[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)
    # the parts making no progress (task, loop, writer, worker) with why; empty when all are
    progress: Callable[[], Awaitable[dict[str, str]]] | None = None
    # each supervised loop: state, failures, age of its last successful turn
    loops: Callable[[], Mapping[str, Any]] | None = None


# A feature of the web app (a page, a group of API routes, a WebSocket): it stores what it needs
# under its own app keys and declares its routes on the Api. It is called only when a database
# pool is there (features need sessions).
WebFeature = Callable[[web.Application, Api], None]

HEALTH = web.AppKey("health", Health)
METRICS = web.AppKey("metrics", Metrics)


async def healthz(request: web.Request) -> web.Response:
    health = request.app[HEALTH]
    ami_ok, ami_detail = health.ami()
    db_ok, db_detail = await health.database()
    stalled = await health.progress() if health.progress is not None else {}
    body: dict[str, Any] = {"ami": {"ok": ami_ok, "state": ami_detail},
                            "database": {"ok": db_ok, "state": db_detail}}
    ok = ami_ok and db_ok and not stalled
    for name, check in health.checks.items():
        check_ok, detail = check()
        body[name] = {"ok": check_ok, "state": detail}
        ok = ok and check_ok
    body["progress"] = {"ok": not stalled, "stalled": stalled}
    if health.loops is not None:
        body["loops"] = health.loops()
    body = {"status": "ok" if ok else "degraded", **body}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=await request.app[METRICS].collect(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def make_app(health: Health, metrics_registry: Metrics, pool: asyncpg.Pool | None = None, *,
             agents: AgentService | None = None, engine: RoutingEngine | None = None,
             trust_proxy: bool = False, features: Sequence[WebFeature] = (),
             clock: Clock | None = None) -> web.Application:
    """The web application. Without a pool only ``/healthz`` and ``/metrics`` are served;
    with one, log-in, the calls and agents API and each of ``features``. ``clock`` is the
    server's time (scaled under ``--speed``) for what the pages show as durations."""
    middlewares = [security_headers, database_errors, input_guard]
    if pool is not None:
        middlewares += [session_middleware, pages.error_pages]
    app = web.Application(client_max_size=1024 * 1024, middlewares=middlewares)
    app[HEALTH] = health
    app[METRICS] = metrics_registry
    app[TRUST_PROXY] = trust_proxy
    app[CLOCK] = clock or WallClock()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    if pool is not None:
        app[POOL] = pool
        app[SESSION] = UserStore(pool)
        app[THROTTLE] = LoginThrottle()
        api = Api()
        login.register(app, api)
        api_users.register(app, api)
        pages.register(app, api)
        api_calls.register(api)
        if agents is not None and engine is not None:
            app[AGENTS] = agents
            app[ENGINE] = engine
            api_agents.register(api)
        for feature in features:
            feature(app, api)
        api.install(app)
        app.router.add_static("/static", STATIC)
    return app
