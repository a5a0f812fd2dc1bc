"""``/qa``: the review page (roles qa, supervisor, admin), drawn by ``static/qa-review.js`` from
the QA API: filters, the list of scored calls, and one call with its audio, the transcript by
speaker coloured by sentiment and synced with playback, the items with their evidence, and the
reviewer's overrides."""

from __future__ import annotations

from aiohttp import web

from callcenter.web.api_qa import ROLES
from callcenter.web.openapi import Api
from callcenter.web.shell import check_page_role, page_shell


async def qa_page(request: web.Request) -> web.Response:
    check_page_role(request, ROLES)
    return page_shell(request, prefix="qa.", title_key="qa.title", script="qa-review.js",
                      body='<main id="qa" class="qa"></main>')


def register(app: web.Application, api: Api) -> None:
    app.router.add_get("/qa", qa_page)
