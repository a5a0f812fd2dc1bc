"""Background tasks: a failure is counted by the owner and logged (by type only when redacted),
nothing is lost, and the owner can wait for all of it or cancel it on shutdown."""

from __future__ import annotations

import asyncio

import structlog.testing

from callcenter.runtime.tasks import Tasks


async def fail(message: str) -> None:
    raise ValueError(message)


async def test_a_failure_is_counted_and_logged_with_its_message() -> None:
    failures: list[BaseException] = []
    tasks = Tasks(failures.append)
    with structlog.testing.capture_logs() as logs:
        tasks.spawn(fail("row 7"))
        await tasks.wait_idle()
    assert [type(e) for e in failures] == [ValueError] and len(tasks) == 0
    assert [entry["error"] for entry in logs if entry["event"] == "background_task_failed"] == ["ValueError: row 7"]


async def test_a_redacted_failure_is_logged_by_its_type_only() -> None:
    tasks = Tasks(redact=True)
    with structlog.testing.capture_logs() as logs:
        tasks.spawn(fail("the customer said something private"))
        await tasks.wait_idle()
    failed = [entry for entry in logs if entry["event"] == "background_task_failed"]
    assert [entry["error"] for entry in failed] == ["ValueError"]
    assert "private" not in repr(logs)


async def test_cancel_all_ends_what_is_still_running_without_a_failure() -> None:
    failures: list[BaseException] = []
    tasks = Tasks(failures.append)
    tasks.spawn(asyncio.sleep(3600))
    tasks.spawn(asyncio.sleep(3600))
    assert len(tasks) == 2
    await tasks.cancel_all()
    assert len(tasks) == 0 and failures == []
