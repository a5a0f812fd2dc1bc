"""The HTTP side: ``/healthz`` and ``/metrics`` (pages and the REST API join here later)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from callcenter.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Health:
    """What ``/healthz`` reports: each probe answers (ok, detail) without raising."""

    ami: Callable[[], tuple[bool, str]]
    database: Callable[[], Awaitable[tuple[bool, str]]]


HEALTH = web.AppKey("health", Health)
METRICS = web.AppKey("metrics", Metrics)


async def healthz(request: web.Request) -> web.Response:
    health = request.app[HEALTH]
    ami_ok, ami_detail = health.ami()
    db_ok, db_detail = await health.database()
    body = {"status": "ok" if ami_ok and db_ok else "degraded",
            "ami": {"ok": ami_ok, "state": ami_detail},
            "database": {"ok": db_ok, "state": db_detail}}
    return web.json_response(body, status=200 if ami_ok and db_ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[METRICS].render(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def make_app(health: Health, metrics_registry: Metrics) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[HEALTH] = health
    app[METRICS] = metrics_registry
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
