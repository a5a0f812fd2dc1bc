"""A server in its own process for the kill test: ``python -m tests.reliability.serve_child
SETTINGS.json``; logs every agent in ready, prints ``ready`` and runs until killed."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from callcenter.clock import clock_for
from callcenter.logsetup import configure_logging
from callcenter.server.build import build_server
from callcenter.settings import load_settings


async def main(spec: dict[str, object]) -> None:
    settings = load_settings(Path(str(spec["config"])))
    configure_logging("warning")
    async with build_server(settings, clock=clock_for(float(str(spec["speed"])))) as server:
        await server.ami.wait_connected(20)
        for agent in server.agents.statuses():
            server.agents.login(agent.agent_id, ready=True)
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
