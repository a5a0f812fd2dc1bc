"""``/reports``: service KPIs as tables and charts (drawn as SVG by ``static/reports-page.js``),
CSV export, and the staffing calculator. Roles supervisor and admin.

Wiring: ``make_app(..., features=[api_kpis.register, reports_page.register])``.
"""

from __future__ import annotations

from aiohttp import web

from callcenter.web.shell import check_page_role, page_shell

ROLES = ("supervisor", "admin")


async def reports_page(request: web.Request) -> web.Response:
    check_page_role(request, ROLES)
    return page_shell(request, prefix="reports.", title_key="reports.title",
                      script="reports-page.js",
                      body='<main id="reports" class="reports"></main>')


def register(app: web.Application, api: object) -> None:
    app.router.add_get("/reports", reports_page)
