"""Waiting in tests: poll a condition until it holds, and fail saying what never happened.

One loop for every test (pages in a browser, servers, writers): ``read`` may be a plain or an
async function; its value is returned once ``check`` accepts it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


def _truthy(value: Any) -> bool:
    return bool(value)


@overload
async def wait_until(read: Callable[[], Awaitable[T]], check: Callable[[T], bool] = _truthy,
                     what: str = "", *, timeout_s: float = 30.0, every_s: float = 0.05,
                     detail: Callable[[], object] | None = None) -> T: ...


@overload
async def wait_until(read: Callable[[], T], check: Callable[[T], bool] = _truthy,
                     what: str = "", *, timeout_s: float = 30.0, every_s: float = 0.05,
                     detail: Callable[[], object] | None = None) -> T: ...


async def wait_until(read: Callable[[], Any], check: Callable[[Any], bool] = _truthy,
                     what: str = "", *, timeout_s: float = 30.0, every_s: float = 0.05,
                     detail: Callable[[], object] | None = None) -> Any:
    """Poll ``read`` every ``every_s`` until ``check(value)``; return that value.

    Raises:
        AssertionError: not within ``timeout_s`` (names ``what``, the last value and ``detail()``).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if inspect.isawaitable(value):
            value = await value
        if check(value):
            return value
        if time.monotonic() > deadline:
            more = f"; {detail()}" if detail is not None else ""
            raise AssertionError(f"not within {timeout_s:g} s: {what or 'the condition'}"
                                 f" (last: {value!r}){more}")
        await asyncio.sleep(every_s)
