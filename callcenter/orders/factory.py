"""The order-context provider the settings ask for."""

from __future__ import annotations

import asyncpg

from callcenter.orders.http import HttpOrderProvider
from callcenter.orders.postgres import PgOrderContextProvider
from callcenter.orders.provider import OrderContextProvider
from callcenter.settings import Settings


def make_provider(settings: Settings, pool: asyncpg.Pool) -> OrderContextProvider:
    if settings.orders.provider == "http":
        return HttpOrderProvider(settings.orders)
    return PgOrderContextProvider(pool)
