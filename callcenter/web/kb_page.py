"""``/kb``: the supervisors' article management page (list, create, edit, preview, publish,
version history). The page is a shell; ``static/kb-admin.js`` drives it through ``/api/kb``.

Wiring: ``make_app(..., features=[api_kb.register, kb_page.register])``.
"""

from __future__ import annotations

from aiohttp import web

from callcenter.web.shell import check_page_role, page_shell

EDITORS = ("supervisor", "admin")


async def kb_page(request: web.Request) -> web.Response:
    check_page_role(request, EDITORS)
    return page_shell(request, prefix="kb.", title_key="kb.title", script="kb-admin.js",
                      body='<main id="kb-admin" class="kb-admin"></main>')


def register(app: web.Application, api: object) -> None:
    app.router.add_get("/kb", kb_page)
