"""Live speech put together on the server: receiver, spies, service, relay, post-call, web.

    build_live(...) → LiveParts: ``start()`` opens the AudioSocket port; ``loops`` go under the
    server's supervisor; ``feature`` serves the API and ``/ws/live``; ``guard_send`` wraps the
    recording pauser's AMI send so the live streams stop before a card-data pause and start
    again after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.model import Call
from callcenter.jobs.queue import JobQueue
from callcenter.kb.store import ArticleStore
from callcenter.live import web as live_web
from callcenter.live.alerts import AlertRules
from callcenter.live.board import LiveBoard
from callcenter.live.postcall import PostCall
from callcenter.live.receiver import LiveReceiver
from callcenter.live.relay import AgentScreens, LiveRelay
from callcenter.live.service import LiveService
from callcenter.live.spies import SpyLauncher
from callcenter.live.streams import StreamBook
from callcenter.settings import LiveSettings

Send = Callable[[Action], Awaitable[AmiResponse]]


@dataclass
class LiveParts:
    settings: LiveSettings
    receiver: LiveReceiver
    service: LiveService
    relay: LiveRelay
    postcall: PostCall
    spies: SpyLauncher
    board: LiveBoard

    async def start(self) -> None:
        await self.receiver.start()

    async def close(self) -> None:
        # the receiver first: closing it flushes each stream's last utterance into the service
        await self.receiver.close()
        await self.service.close()
        await self.postcall.close()

    @property
    def feature(self) -> Callable[..., None]:
        return live_web.feature(self.board, self.statistics)

    def statistics(self) -> dict[str, Any]:
        return {"receiver": self.receiver.statistics(), "relay": self.relay.statistics(),
                "spies": {"started": self.spies.started, "failed": self.spies.failed},
                "segments": self.service.segments, "write_failures": self.service.write_failures,
                "gave_up": self.service.gave_up,
                "transcripts_stored": self.postcall.stored, "board": self.board.statistics()}

    def guard_send(self, send: Send) -> Send:
        """``send`` for the recording pauser: a ``MixMonitorMute`` muting the call first stops
        its live streams; one unmuting it starts them again once Asterisk said yes."""

        async def guarded(action: Action) -> AmiResponse:
            if action.name != "MixMonitorMute":
                return await send(action)
            call_id = self.service.call_of_channel(action.header("Channel"))
            muting = action.header("State") == "1"
            if call_id is not None and muting:
                await self.service.pause(call_id, True)
            response = await send(action)
            if call_id is not None and not muting and response.ok:
                await self.service.pause(call_id, False)
            return response

        return guarded


def build_live(settings: LiveSettings, pool: asyncpg.Pool, send: Send, call_of: Callable[[str], Call | None],
               hub: AgentScreens, clock: Callable[[], float]) -> LiveParts:
    book = StreamBook()
    queue = JobQueue(pool)
    postcall = PostCall(pool, queue)
    holder: dict[str, LiveReceiver] = {}
    host = settings.advertise_host or settings.listen_host
    spies = SpyLauncher(send, lambda: f"{host}:{holder['receiver'].port}")
    service = LiveService(book, spies, lambda s: holder["receiver"].hang_up(s), call_of, pool, queue, clock,
                          on_ended=postcall.on_ended)
    receiver = holder["receiver"] = LiveReceiver(book, service, clock, host=settings.listen_host,
                                                 port=settings.listen_port, max_streams=settings.max_streams)
    rules = AlertRules(settings.prohibited_words, settings.negative_window, settings.negative_count,
                       settings.silence_s, settings.overtalk_s)
    board = LiveBoard(clock)
    articles = ArticleStore(pool)

    async def search(text: str, language: str | None) -> list[dict[str, Any]]:
        return [hit.to_json() for hit in await articles.search(text, language=language, limit=3)]

    relay = LiveRelay(pool, hub, board, rules, service.live_calls, settings.target_for, clock, search)
    return LiveParts(settings, receiver, service, relay, postcall, spies, board)
