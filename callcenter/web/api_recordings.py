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

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from callcenter.recording.pause import PauseError, RecordingPauser
from callcenter.web.api_calls import POOL
from callcenter.web.auth import SESSION, remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.ids import path_id
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.users import Session

READERS = ("supervisor", "admin", "qa", "agent")


@dataclass(frozen=True, slots=True)
class RecordingAccess:
    """``local`` maps a stored (Asterisk) path to this server's file; ``root`` is the directory
    every served file must be inside; ``pauser`` is absent without a live AMI link."""

    local: Callable[[str], Path]
    root: Path
    pauser: RecordingPauser | None = None


ACCESS = web.AppKey("recording_access", RecordingAccess)


def feature(access: RecordingAccess) -> Callable[[web.Application, Api], None]:
    def register(app: web.Application, api: Api) -> None:
        app[ACCESS] = access
        declare(api)

    return register


def _id(request: web.Request, name: str) -> int:
    return path_id(request, name)


async def _call_for(request: web.Request, session: Session, call_id: int) -> asyncpg.Record:
    row = await request.app[POOL].fetchrow("SELECT id, linkedid, agent_id FROM calls WHERE id = $1", call_id)
    # another agent's call and no call at all look the same: ids must not leak which exist
    if row is None or (session.user.role == "agent" and row["agent_id"] != session.user.agent_id):
        raise api_error(404, "no such call", "not_found")
    return row


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def list_recordings(request: web.Request) -> web.Response:
    session = require(request, *READERS)
    call = await _call_for(request, session, _id(request, "call_id"))
    pool = request.app[POOL]
    rows = await pool.fetch(
        "SELECT id, kind, status, duration_s, size_bytes, started_at FROM recordings"
        " WHERE call_id = $1 ORDER BY id", call["id"])
    gaps = await pool.fetch(
        "SELECT reason, actor, started_at, ended_at FROM recording_gaps WHERE call_id = $1"
        " ORDER BY started_at", call["id"])
    return web.json_response({
        "recordings": [{"id": r["id"], "kind": r["kind"], "status": r["status"],
                        "duration_s": r["duration_s"], "size_bytes": r["size_bytes"],
                        "started_at": _iso(r["started_at"]),
                        "audio_url": f"/api/recordings/{r['id']}/audio" if r["status"] == "final" else None}
                       for r in rows],
        "gaps": [{"reason": g["reason"], "actor": g["actor"], "started_at": _iso(g["started_at"]),
                  "ended_at": _iso(g["ended_at"])} for g in gaps]})


async def audio(request: web.Request) -> web.StreamResponse:
    session = require(request, *READERS)
    recording_id = _id(request, "recording_id")
    row = await request.app[POOL].fetchrow(
        "SELECT r.path, r.status, r.call_id, c.agent_id FROM recordings r JOIN calls c ON c.id = r.call_id"
        " WHERE r.id = $1", recording_id)
    if row is None or row["status"] != "final" or (
            session.user.role == "agent" and row["agent_id"] != session.user.agent_id):
        raise api_error(404, "no such recording", "not_found")
    access = request.app[ACCESS]
    path = access.local(row["path"]).resolve()
    if not path.is_relative_to(access.root.resolve()) or not path.is_file():
        raise api_error(404, "the recording file is not available", "file_missing")
    download = request.query.get("download") == "1"
    # Every request that can return bytes of the recording is audited, once, before a byte
    # leaves: a Range request (``bytes=-N``, ``bytes=1-``, several ranges) reads audio as
    # surely as a plain GET. The target is the canonical id, never the path text.
    detail: dict[str, object] = {"call_id": row["call_id"]}
    ranges = request.headers.get("Range")
    if ranges is not None:
        detail["range"] = ranges[:100]
    await request.app[SESSION].audit(session.user.login,
                                     "recording.download" if download else "recording.play",
                                     target=f"recording:{recording_id}",
                                     remote=remote_of(request), detail=detail)
    headers = {"Cache-Control": "private, no-store"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="call-{row["call_id"]}-{path.name}"'
    return web.FileResponse(path, headers=headers)


async def transcript(request: web.Request) -> web.Response:
    session = require(request, *READERS)
    call = await _call_for(request, session, _id(request, "call_id"))
    pool = request.app[POOL]
    meta = await pool.fetchrow("SELECT model, language, audio_s, created_at FROM transcripts"
                               " WHERE call_id = $1", call["id"])
    rows = await pool.fetch("SELECT seq, speaker, start_s, end_s, text, words FROM utterances"
                            " WHERE call_id = $1 ORDER BY seq", call["id"])
    return web.json_response({
        "call_id": call["id"], "status": "done" if meta is not None else "pending",
        "model": meta["model"] if meta else None, "audio_s": meta["audio_s"] if meta else None,
        "utterances": [{"seq": r["seq"], "speaker": r["speaker"], "start": r["start_s"], "end": r["end_s"],
                        "text": r["text"], "words": json.loads(r["words"])} for r in rows]})


async def _pause(request: web.Request, paused: bool) -> web.Response:
    session = require(request, "agent", "supervisor", "admin")
    call = await _call_for(request, session, _id(request, "call_id"))
    pauser = request.app[ACCESS].pauser
    if pauser is None:
        raise api_error(503, "call control is not available", "unavailable")
    reason = "agent_pause" if session.user.role == "agent" else "supervisor_pause"
    try:
        applied = await pauser.set_paused(call["linkedid"], paused, reason, session.user.login)
    except PauseError as exc:
        raise api_error(409, str(exc), "pause_failed") from None
    await request.app[SESSION].audit(session.user.login,
                                     "recording.pause" if paused else "recording.resume",
                                     target=f"call:{call['id']}", remote=remote_of(request))
    return web.json_response({"call_id": call["id"], "paused": paused, "applied": applied})


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
