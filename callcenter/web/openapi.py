"""The REST API's routes, declared once: they register the aiohttp handler and describe
themselves in the OpenAPI document served at ``/api/openapi.json``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

import callcenter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ERROR_SCHEMA = {
    "type": "object",
    "required": ["status", "message", "error_id"],
    "properties": {"status": {"type": "integer"}, "message": {"type": "string"},
                   "error_id": {"type": "string"}},
}


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "query" or "path"
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[str, ...]
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    response: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


class Api:
    """Collects routes; :meth:`install` adds them to an app, :meth:`document` describes them."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, route: Route) -> None:
        self.routes.append(route)

    def install(self, app: web.Application) -> None:
        for route in self.routes:
            app.router.add_route(route.method, route.path, route.handler)
        app.router.add_get("/api/openapi.json", self._serve_document)

    async def _serve_document(self, request: web.Request) -> web.Response:
        return web.json_response(self.document())

    def document(self) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            operation: dict[str, Any] = {
                "summary": route.summary,
                "operationId": f"{route.method.lower()}_{route.path.strip('/').replace('/', '_')}"
                               .replace("{", "").replace("}", ""),
                "description": f"Roles: {', '.join(route.roles) or 'any logged-in user'}.",
                "security": [{"session": []}],
                "parameters": [
                    {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                     "schema": p.schema, "description": p.description} for p in route.params],
                "responses": {
                    "200": {"description": "OK",
                            "content": {"application/json": {"schema": route.response}}},
                    **{str(code): {"description": text, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}}
                       for code, text in ((400, "Bad request"), (401, "Not logged in"),
                                          (403, "Forbidden"), (404, "Not found"))},
                },
            }
            if route.body is not None:
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": route.body}}}
                operation["parameters"].append({
                    "name": "X-CSRF-Token", "in": "header", "required": True,
                    "schema": {"type": "string"}})
            paths.setdefault(route.path, {})[route.method.lower()] = operation
        return {
            "openapi": "3.0.3",
            "info": {"title": "callcenter API", "version": callcenter.__version__},
            "paths": paths,
            "components": {
                "schemas": {"Error": ERROR_SCHEMA},
                "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "cc_session"}},
            },
        }
