"""The records the router and its matcher share: agents, live calls, the current policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.routing.policy import RoutingPolicy, Strategy
from callcenter.routing.state import AgentRec, CallRec


@dataclass(slots=True)
class Book:
    policy: RoutingPolicy
    agents: dict[str, AgentRec] = field(default_factory=dict)
    by_order: list[AgentRec | None] = field(default_factory=list)
    calls: dict[str, CallRec] = field(default_factory=dict)  # live (not done) calls
    by_seq: dict[int, CallRec] = field(default_factory=dict)
    waiting: dict[int, CallRec] = field(default_factory=dict)  # status WAITING, by seq
    profiles_version: int = 0  # bumped when an agent is added, changed or removed
    _strategies: dict[str, Strategy] = field(default_factory=dict)

    def strategy_of(self, skill: str) -> Strategy:
        """The strategy that ranks the agents of ``skill`` (that skill's policy, else defaults)."""
        found = self._strategies.get(skill)
        if found is None:
            found = self._strategies[skill] = self.policy.for_skill(skill).strategy
        return found

    def set_policy(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self._strategies.clear()
