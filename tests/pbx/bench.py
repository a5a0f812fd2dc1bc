"""What the real-PBX benchmarks (``benchmarks/offer_latency.py``, ``transfer_latency.py``,
``live.py``) share: a scratch database and work folder for one run, and the command-line frame
(the bundle located, SIGTERM ending the run like Ctrl-C so Asterisk, the server and the phones
are stopped, only the JSON line on stdout)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg

from tests.pbx.bundle import Bundle, _locate

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN_HELP = "admin URL of a PostgreSQL server (a database is created and dropped)"


@contextlib.asynccontextmanager
async def scratch(admin_url: str, label: str) -> AsyncIterator[tuple[str, Path]]:
    """A new database (its URL) and an empty folder for one run; both gone afterwards."""
    name = f"cc_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base, _, _ = admin_url.rpartition("/")
    try:
        with tempfile.TemporaryDirectory(prefix=f"{label}-bench-") as work:
            yield f"{base}/{name}", Path(work)
    finally:
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def run_benchmark(name: str, measure: Callable[[Bundle], Coroutine[Any, Any, dict[str, object]]],
                  met: Callable[[dict[str, object]], bool] = lambda _: True) -> int:
    """Run ``measure`` on the located bundle and print its result as one JSON line; exit 1
    without a bundle or when the result misses its goal."""
    found = _locate()
    if isinstance(found, str):
        print(json.dumps({"benchmark": name, "error": found}))
        return 1
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with contextlib.redirect_stdout(sys.stderr):  # only the JSON line goes to stdout
        result = asyncio.run(measure(found))
    print(json.dumps(result))
    return 0 if met(result) else 1
