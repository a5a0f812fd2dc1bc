"""Agents and their state changes in a real PostgreSQL, through the service the API will use."""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.agents.errors import InvalidAgentRequest, UnknownAgent
from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.agent_service import AgentService
from callcenter.routing.agent_store import AgentStore
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.router import Router
from tests.routing.helpers import agent, call, policy

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def _service(pool: asyncpg.Pool, clock: Clock) -> tuple[AgentService, AgentStore, RoutingEngine]:
    engine = RoutingEngine(Router(policy(defaults={"wrap_up_s": 10}), start=clock.now), clock)
    store = AgentStore(pool)
    service = AgentService(engine, store)
    await service.start(seed=[agent("sam", {"refunds": 5, "general": 2}),
                              agent("li", {"general": 3}, ("zh",))])
    return service, store, engine


async def test_given_agent_works_a_call_then_every_state_change_is_stored_and_pushed(
        pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE agents CASCADE")
    clock = Clock()
    service, store, engine = await _service(pool, clock)
    async with service.subscribe() as pushes:
        service.login("sam")
        clock.now += 5
        service.ready("sam")
        clock.now += 1
        engine.submit(ev.CallEnqueued(call("call-1", "refunds"), clock.now))
        clock.now += 3
        engine.submit(ev.OfferAnswered("call-1", "sam", clock.now))
        status = service.pause("sam", "break")
        assert status.state is AgentState.TALKING and status.after_call == "paused:break"
        clock.now += 60
        engine.submit(ev.CallHungUp("call-1", clock.now))
        clock.now += 10
        engine.submit(ev.Tick(clock.now))
        pushed = [pushes.get_nowait() for _ in range(pushes.qsize())]
    expected = [("paused", "login"), ("ready", ""), ("offered", ""), ("talking", ""),
                ("wrap_up", ""), ("paused", "break")]
    assert [(p.state.value, p.reason) for p in pushed] == expected
    assert await store.flush() == len(expected)
    rows = await pool.fetch(
        """SELECT c.state, c.reason, c.call_id FROM agent_state_changes c
           JOIN agents a ON a.id = c.agent_id WHERE a.login = 'sam' ORDER BY c.at, c.id""")
    assert [(r["state"], r["reason"]) for r in rows] == expected
    assert [r["call_id"] for r in rows][2:4] == ["call-1", "call-1"]
    assert (await store.last_states())["sam"][:2] == (AgentState.PAUSED, "break")


async def test_given_stored_agents_when_server_restarts_then_profiles_and_states_come_back(
        pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE agents CASCADE")
    clock = Clock()
    service, store, _ = await _service(pool, clock)
    service.login("li", ready=True)
    service.login("sam")
    await store.flush()
    # a new server process: nothing seeded, everything loaded
    clock.now += 100
    engine = RoutingEngine(Router(policy(), start=clock.now), clock)
    again = AgentService(engine, AgentStore(pool))
    assert await again.start() == 2
    assert again.profile("sam").skills == {"refunds": 5, "general": 2}
    assert again.profile("li").languages == frozenset({"zh"})
    assert again.status("li").state is AgentState.READY
    assert (again.status("sam").state, again.status("sam").reason) == (AgentState.PAUSED, "login")


async def test_given_a_consult_pause_when_server_restarts_then_the_agent_comes_back_paused_restored(
        pool: asyncpg.Pool) -> None:
    """The server's own pause of a consulted colleague ends with the process that set it (the
    consult is gone with it); a pause the agent chose comes back."""
    await pool.execute("TRUNCATE agents CASCADE")
    clock = Clock()
    service, store, engine = await _service(pool, clock)
    service.login("li", ready=True)
    service.login("sam", ready=True)
    engine.submit(ev.AgentPaused("li", ev.CONSULT_PAUSE, clock.now))
    service.pause("sam", "break")
    await store.flush()
    clock.now += 100
    again = AgentService(RoutingEngine(Router(policy(), start=clock.now), clock), AgentStore(pool))
    await again.start()
    assert (again.status("li").state, again.status("li").reason) == (AgentState.PAUSED, ev.RESTORED_PAUSE)
    assert (again.status("sam").state, again.status("sam").reason) == (AgentState.PAUSED, "break")


async def test_given_skills_changed_through_the_service_then_stored_and_routed(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE agents CASCADE")
    clock = Clock()
    service, store, engine = await _service(pool, clock)
    service.login("li", ready=True)
    engine.submit(ev.CallEnqueued(call("c1", "refunds"), clock.now))
    assert service.status("li").state is AgentState.READY
    await service.set_skills("li", {"general": 3, "refunds": 2})
    assert service.status("li").state is AgentState.OFFERED
    stored = {p.agent_id: p for p in await store.load()}
    assert stored["li"].skills == {"general": 3, "refunds": 2}


async def test_given_bad_requests_then_api_errors_carry_status_and_id(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE agents CASCADE")
    service, _, _ = await _service(pool, Clock())
    with pytest.raises(UnknownAgent) as unknown:
        service.ready("nobody")
    assert (unknown.value.status, unknown.value.error_id) == (404, "agent_not_found")
    with pytest.raises(InvalidAgentRequest) as bad:
        service.pause("sam", "Coffee Break!")
    assert bad.value.status == 400


async def test_migration_003_allows_only_the_router_states(pool: asyncpg.Pool) -> None:
    agent_id = await pool.fetchval(
        "INSERT INTO agents (login, display_name, dial_string) VALUES ('chk', 'Chk', 'PJSIP/9')"
        " ON CONFLICT (login) DO UPDATE SET display_name = 'Chk' RETURNING id")
    await pool.execute("INSERT INTO agent_state_changes (agent_id, state) VALUES ($1, 'wrap_up')",
                       agent_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO agent_state_changes (agent_id, state) VALUES ($1, 'busy')",
                           agent_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO agent_state_changes (agent_id, state, reason)"
                           " VALUES ($1, 'paused', '')", agent_id)
