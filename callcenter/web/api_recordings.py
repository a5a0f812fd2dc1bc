"""Recordings and transcripts of a call, and the pause button.

- ``GET /api/calls/{call_id}/recordings``: the call's files (kind, status, duration) and the
  gaps in them (paused for payment data: when, why, by whom).
- ``GET /api/recordings/{recording_id}/audio``: the WAV, with HTTP Range (seeking in the
  player). The file is found by id in the database and must lie inside the recording
  directory: nothing from the request reaches the file system. Every play and download is
  audited (``?download=1`` sends it as an attachment).
- ``GET /api/calls/{call_id}/transcript``: the utterances by speaker (masked text).
- ``POST /api/calls/{call_id}/recording/pause`` / ``resume``: the agent on the call (or a
  supervisor) pauses the recording while the customer gives card details.
Agents reach only their own calls; QA staff, supervisors and admins every call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from callcenter.recording.pause import PauseError
from callcenter.store import recording_files
from callcenter.store.call_history import CallOwner, call_owner
from callcenter.store.users import Session
from callcenter.web.auth import remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.keys import POOL, RECORDINGS, SESSION
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import path_id
from callcenter.web.recording_access import RecordingAccess

READERS = ("supervisor", "admin", "qa", "agent")


def feature(access: RecordingAccess) -> Callable[[web.Application, Api], None]:
    def register(app: web.Application, api: Api) -> None:
        app[RECORDINGS] = access
        declare(api)

    return register


def _id(request: web.Request, name: str) -> int:
    return path_id(request, name)


async def _call_for(request: web.Request, session: Session, call_id: int) -> CallOwner:
    call = await call_owner(request.app[POOL], call_id)
    # another agent's call and no call at all look the same: ids must not leak which exist
    if call is None or (session.user.role == "agent" and call.agent_id != session.user.agent_id):
        raise api_error(404, "no such call", "not_found")
    return call


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def list_recordings(request: web.Request) -> web.Response:
    session = require(request, *READERS)
    call = await _call_for(request, session, _id(request, "call_id"))
    pool = request.app[POOL]
    files = await recording_files.recordings(pool, call.id)
    gaps = await recording_files.gaps(pool, call.id)
    return web.json_response({
        "recordings": [{"id": r.id, "kind": r.kind, "status": r.status,
                        "duration_s": r.duration_s, "size_bytes": r.size_bytes,
                        "started_at": _iso(r.started_at),
                        "audio_url": f"/api/recordings/{r.id}/audio" if r.status == "final" else None}
                       for r in files],
        "gaps": [{"reason": g.reason, "actor": g.actor, "started_at": _iso(g.started_at),
                  "ended_at": _iso(g.ended_at)} for g in gaps]})


async def audio(request: web.Request) -> web.StreamResponse:
    session = require(request, *READERS)
    recording_id = _id(request, "recording_id")
    row = await recording_files.recording_file(request.app[POOL], recording_id)
    if row is None or row.status != "final" or (
            session.user.role == "agent" and row.agent_id != session.user.agent_id):
        raise api_error(404, "no such recording", "not_found")
    access = request.app[RECORDINGS]
    path = access.local(row.path).resolve()
    if not path.is_relative_to(access.root.resolve()) or not path.is_file():
        raise api_error(404, "the recording file is not available", "file_missing")
    download = request.query.get("download") == "1"
    # Every request that can return bytes of the recording is audited, once, before a byte
    # leaves: a Range request (``bytes=-N``, ``bytes=1-``, several ranges) reads audio as
    # surely as a plain GET. The target is the canonical id, never the path text.
    detail: dict[str, object] = {"call_id": row.call_id}
    ranges = request.headers.get("Range")
    if ranges is not None:
        detail["range"] = ranges[:100]
    await request.app[SESSION].audit(session.user.login,
                                     "recording.download" if download else "recording.play",
                                     target=f"recording:{recording_id}",
                                     remote=remote_of(request), detail=detail)
    headers = {"Cache-Control": "private, no-store"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="call-{row.call_id}-{path.name}"'
    return web.FileResponse(path, headers=headers)


async def transcript(request: web.Request) -> web.Response:
    session = require(request, *READERS)
    call = await _call_for(request, session, _id(request, "call_id"))
    found = await recording_files.transcript(request.app[POOL], call.id)
    return web.json_response({
        "call_id": call.id, "status": "done" if found.done else "pending",
        "model": found.model, "audio_s": found.audio_s, "utterances": found.utterances})


async def _pause(request: web.Request, paused: bool) -> web.Response:
    session = require(request, "agent", "supervisor", "admin")
    call = await _call_for(request, session, _id(request, "call_id"))
    pauser = request.app[RECORDINGS].pauser
    if pauser is None:
        raise api_error(503, "call control is not available", "unavailable")
    reason = "agent_pause" if session.user.role == "agent" else "supervisor_pause"
    try:
        applied = await pauser.set_paused(call.linkedid, paused, reason, session.user.login)
    except PauseError as exc:
        raise api_error(409, str(exc), "pause_failed") from None
    await request.app[SESSION].audit(session.user.login,
                                     "recording.pause" if paused else "recording.resume",
                                     target=f"call:{call.id}", remote=remote_of(request))
    return web.json_response({"call_id": call.id, "paused": paused, "applied": applied})


async def pause(request: web.Request) -> web.Response:
    return await _pause(request, True)


async def resume(request: web.Request) -> web.Response:
    return await _pause(request, False)


CALL_ID = Param("call_id", "path", {"type": "integer", "minimum": 1})
EMPTY_BODY: dict[str, Any] = {"type": "object"}


def declare(api: Api) -> None:
    api.add(Route("GET", "/api/calls/{call_id}/recordings", list_recordings,
                  "A call's recordings and the gaps in them", READERS, params=(CALL_ID,)))
    api.add(Route("GET", "/api/recordings/{recording_id}/audio", audio,
                  "A recording's audio (HTTP Range supported; audited)", READERS,
                  params=(Param("recording_id", "path", {"type": "integer", "minimum": 1}),
                          Param("download", "query", {"type": "string", "enum": ["0", "1"]})),
                  response={"type": "string", "format": "binary"}))
    api.add(Route("GET", "/api/calls/{call_id}/transcript", transcript,
                  "A call's transcript by speaker", READERS, params=(CALL_ID,)))
    api.add(Route("POST", "/api/calls/{call_id}/recording/pause", pause,
                  "Pause the call's recording (payment data)", ("agent", "supervisor", "admin"),
                  params=(CALL_ID,), body=EMPTY_BODY))
    api.add(Route("POST", "/api/calls/{call_id}/recording/resume", resume,
                  "Resume the call's recording", ("agent", "supervisor", "admin"),
                  params=(CALL_ID,), body=EMPTY_BODY))
