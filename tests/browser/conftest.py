"""The demo, running for a whole test module in a thread of its own (its own event loop), and
what the browser tests need: Debian's Chromium, axe-core (installed by scripts/bootstrap with
npm) and the folder the screenshots are kept in (``test-output/browser``).

A missing Chromium or axe-core fails the tests: they are part of the product's checks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.demo.run import running_demo
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from tests.helpers.chromium import require_chromium
from tests.integration.conftest import db_url, new_database, pg_server_url, pool

__all__ = ["db_url", "new_database", "pg_server_url", "pool"]

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "tools" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT = REPO / "test-output" / "browser"
SPEED = 10.0


def require_tools() -> None:
    require_chromium()
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: scripts/bootstrap installs it with npm")


@pytest.fixture(scope="module")
def demo_base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo's base URL, with its traffic flowing, for the module's tests."""
    require_tools()
    settings = Settings(state_dir=tmp_path_factory.mktemp("browser-demo") / "state",
                        config_dir=REPO / "config", database=DatabaseSettings(url=Secret(db_url)),
                        http=HttpSettings(port=0))
    ready = threading.Event()
    found: dict[str, object] = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with running_demo(settings, speed=SPEED) as demo:
                found["base"] = f"http://127.0.0.1:{demo.server.http_port}"
                ready.set()
                await stop.wait()
        except BaseException as exc:
            found["error"] = exc
            ready.set()
            raise

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    if not ready.wait(120):
        pytest.fail("the demo did not start within two minutes")
    if "error" in found:
        raise AssertionError(f"the demo did not start: {found['error']!r}")
    try:
        yield str(found["base"])
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        loop.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
