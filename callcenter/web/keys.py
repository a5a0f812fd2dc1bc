"""Every object the web application shares, under one typed key each.

``make_app`` and the features' ``register`` functions store them; handlers read them with
``request.app[KEY]``. One module, so a handler's dependencies are found in one place.
"""

from __future__ import annotations

import weakref

import asyncpg
from aiohttp import web

from callcenter.clock import Clock
from callcenter.console.hub import ConsoleHub
from callcenter.kb.store import ArticleStore
from callcenter.routing.agent_service import AgentService
from callcenter.routing.engine import RoutingEngine
from callcenter.staffing.pool import StaffingPool
from callcenter.store.users import UserStore
from callcenter.web.recording_access import RecordingAccess
from callcenter.web.throttle import LoginThrottle

POOL = web.AppKey("pool", asyncpg.Pool)
CLOCK = web.AppKey("clock", Clock)  # the server's time (scaled under --speed)
SESSION = web.AppKey("sessions", UserStore)
THROTTLE = web.AppKey("login_throttle", LoginThrottle)
TRUST_PROXY = web.AppKey("trust_proxy", bool)
AGENTS = web.AppKey("agents", AgentService)
ENGINE = web.AppKey("routing_engine", RoutingEngine)
HUB = web.AppKey("console_hub", ConsoleHub)
ARTICLES = web.AppKey("kb_articles", ArticleStore)
STAFFING_POOL = web.AppKey("staffing_pool", StaffingPool)
RECORDINGS = web.AppKey("recording_access", RecordingAccess)
WALLBOARD_SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("wallboard_sockets")
