"""Routing errors.

    RoutingError
     ├── RoutingPolicyError   routing.yaml (or an API body) is invalid; the message names the field
     ├── UnknownRoutingAgent  an event names an agent the router does not know
     └── UnknownCall          an event names a call the router does not know (where that matters)
"""

from __future__ import annotations


class RoutingError(Exception):
    """Base class of the routing errors."""


class RoutingPolicyError(RoutingError, ValueError):
    """The policy is invalid; ``str()`` starts with the field's path (``skills.refunds.steps[1]``)."""


class UnknownRoutingAgent(RoutingError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown agent"


class UnknownCall(RoutingError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown call"
