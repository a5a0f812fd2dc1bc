"""After-sales tickets over HTTP, and the call's disposition at wrap-up.

Agents see and change the tickets they own and those of customers whose calls they took;
supervisors and admins every ticket. Every create and change is audited (``ticket.create``,
``ticket.update``) besides the ticket's own history.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.store import call_history
from callcenter.store.users import Session
from callcenter.tickets.store import TicketStore
from callcenter.tickets.workflow import DISPOSITIONS, KINDS, STATUSES, TicketError, check_disposition
from callcenter.web.auth import remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.keys import CLOCK, POOL, SESSION
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import (
    BIGINT_MAX,
    json_object,
    path_id,
    query_choice,
    query_flag,
    query_int,
    query_text,
)

ROLES = ("agent", "supervisor", "admin")
MAX_BODY = 64 * 1024


def _tickets(request: web.Request) -> TicketStore:
    """Tickets on the server's clock (deadlines and ages follow a sped-up demo)."""
    return TicketStore(request.app[POOL], clock=request.app[CLOCK].now)


def _error(exc: TicketError) -> web.HTTPException:
    return api_error(404 if exc.error_id == "not_found" else 400, str(exc), exc.error_id)


async def _body(request: web.Request) -> dict[str, Any]:
    return await json_object(request, "bad_body", MAX_BODY)


def _id(request: web.Request, name: str) -> int:
    return path_id(request, name)


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise api_error(400, f"{key} must be a positive integer", "bad_body")
    return value


async def _may_see(request: web.Request, session: Session, ticket: dict[str, Any]) -> None:
    if session.user.role != "agent":
        return
    agent = session.user.agent_id
    if ticket["owner_agent_id"] == agent:
        return
    # another agent's customer: the same answer as for a ticket that does not exist
    if not await call_history.agent_took_customer(request.app[POOL], agent, ticket["customer_id"]):
        raise api_error(404, "no such ticket", "not_found")


async def list_tickets(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    q = request.query
    text = query_text(request, "q", 100)
    status, kind = query_choice(request, "status", STATUSES), query_choice(request, "kind", KINDS)
    limit = query_int(request, "limit", 50, 1, 200)
    offset = query_int(request, "offset", 0, 0, 100_000)
    customer = query_int(request, "customer_id", 0, 1, BIGINT_MAX) or None
    try:
        tickets = await _tickets(request).search(
            text=text, status=status or "", kind=kind or "", customer_id=customer,
            visible_to_agent=session.user.agent_id if session.user.role == "agent" else None,
            overdue=query_flag(request, "overdue"), sort=q.get("sort", "reply_due"),
            limit=limit, offset=offset)
    except TicketError as exc:
        raise _error(exc) from None
    return web.json_response({"tickets": tickets, "limit": limit, "offset": offset})


async def get_ticket(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    ticket = await _tickets(request).get(_id(request, "ticket_id"))
    if ticket is None:
        raise api_error(404, "no such ticket", "not_found")
    await _may_see(request, session, ticket)
    return web.json_response(ticket)


async def create_ticket(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    body = await _body(request)
    customer_id = _optional_int(body, "customer_id")
    call_id = _optional_int(body, "call_id")
    if session.user.role == "agent":
        # An agent reaches a customer only through a call of theirs: the ticket is for that
        # call's customer. Another agent's call, another customer and ids that do not exist
        # all get the same 404.
        if call_id is None:
            raise api_error(400, "an agent opens tickets from a call: call_id is required", "bad_body")
        call = await call_history.call_owner(request.app[POOL], call_id)
        if call is None or call.agent_id != session.user.agent_id:
            raise api_error(404, "no such call", "not_found")
        if customer_id is None:
            customer_id = call.customer_id
        if customer_id is None or customer_id != call.customer_id:
            raise api_error(404, "no such customer on this call", "not_found")
    if customer_id is None:
        raise api_error(400, "customer_id is required", "bad_body")
    try:
        ticket = await _tickets(request).create(
            session.user.login, customer_id=customer_id, kind=str(body.get("kind", "")),
            subject=str(body.get("subject", "")), notes=str(body.get("notes", "")),
            order_id=_optional_int(body, "order_id"), call_id=call_id,
            owner_agent_id=session.user.agent_id if session.user.role == "agent" else
            _optional_int(body, "owner_agent_id"))
    except TicketError as exc:
        raise _error(exc) from None
    await request.app[SESSION].audit(session.user.login, "ticket.create", target=f"ticket:{ticket['id']}",
                                     remote=remote_of(request), detail={"kind": ticket["kind"]})
    return web.json_response(ticket, status=200)


async def update_ticket(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    ticket_id = _id(request, "ticket_id")
    store = _tickets(request)
    current = await store.get(ticket_id)
    if current is None:
        raise api_error(404, "no such ticket", "not_found")
    await _may_see(request, session, current)
    body = await _body(request)
    if "order_id" in body:
        _optional_int(body, "order_id")
    try:
        ticket = await store.update(session.user.login, ticket_id, body)
    except TicketError as exc:
        raise _error(exc) from None
    await request.app[SESSION].audit(session.user.login, "ticket.update", target=f"ticket:{ticket_id}",
                                     remote=remote_of(request), detail={"fields": sorted(body)})
    return web.json_response(ticket)


async def set_disposition(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    call_id = _id(request, "call_id")
    body = await _body(request)
    try:
        code = check_disposition(str(body.get("code", "")))
    except TicketError as exc:
        raise _error(exc) from None
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        raise api_error(400, "note must be text of at most 2000 characters", "bad_body")
    pool = request.app[POOL]
    owner = await call_history.call_owner(pool, call_id)
    if owner is None or (session.user.role == "agent" and owner.agent_id != session.user.agent_id):
        raise api_error(404, "no such call", "not_found")
    await call_history.set_disposition(pool, call_id, code, note)
    await request.app[SESSION].audit(session.user.login, "call.disposition", target=f"call:{call_id}",
                                     remote=remote_of(request), detail={"code": code})
    return web.json_response({"call_id": call_id, "disposition": code})


TICKET_BODY: dict[str, Any] = {"type": "object", "properties": {
    "customer_id": {"type": "integer"}, "call_id": {"type": "integer"}, "order_id": {"type": "integer"},
    "kind": {"type": "string", "enum": list(KINDS)}, "subject": {"type": "string", "maxLength": 200},
    "notes": {"type": "string", "maxLength": 10000}}, "required": ["customer_id", "kind", "subject"]}


def register(app: web.Application, api: Api) -> None:
    ticket = Param("ticket_id", "path", {"type": "integer", "minimum": 1})
    api.add(Route("GET", "/api/tickets", list_tickets, "Search tickets (sorted by reply deadline by default)",
                  ROLES, params=(
                      Param("q", "query", {"type": "string", "maxLength": 100},
                            "words of the subject or notes, an order number or a phone"),
                      Param("status", "query", {"type": "string", "enum": list(STATUSES)}),
                      Param("kind", "query", {"type": "string", "enum": list(KINDS)}),
                      Param("customer_id", "query", {"type": "integer", "minimum": 1}),
                      Param("overdue", "query", {"type": "string", "enum": ["0", "1"]}),
                      Param("sort", "query", {"type": "string", "enum": ["reply_due", "created", "updated"]}),
                      Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200}),
                      Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": 100000}))))
    api.add(Route("GET", "/api/tickets/{ticket_id}", get_ticket, "One ticket with its history", ROLES,
                  params=(ticket,)))
    api.add(Route("POST", "/api/tickets", create_ticket, "Open a ticket (audited)", ROLES, body=TICKET_BODY))
    api.add(Route("PATCH", "/api/tickets/{ticket_id}", update_ticket,
                  "Change status, notes, subject, order or kind (history + audit)", ROLES, params=(ticket,),
                  body={"type": "object", "properties": {
                      "status": {"type": "string", "enum": list(STATUSES)}, "notes": {"type": "string"},
                      "subject": {"type": "string"}, "order_id": {"type": "integer"},
                      "kind": {"type": "string", "enum": list(KINDS)}}}))
    api.add(Route("POST", "/api/calls/{call_id}/disposition", set_disposition,
                  "The call's disposition code at wrap-up", ROLES,
                  params=(Param("call_id", "path", {"type": "integer", "minimum": 1}),),
                  body={"type": "object", "required": ["code"], "properties": {
                      "code": {"type": "string", "enum": list(DISPOSITIONS)},
                      "note": {"type": "string", "maxLength": 2000}}}))
