"""Agent and routing-configuration errors.

    AgentError                 (status, error_id: what the API returns)
     ├── UnknownAgent          404 agent_not_found
     ├── InvalidAgentRequest   400 invalid_agent_request (bad reason, bad skill level…)
     └── AgentConfigError      400 invalid_agent_config: agents.yaml or an API body; names the field
"""

from __future__ import annotations


class AgentError(Exception):
    """Base class; ``status`` and ``error_id`` are what the web layer answers with."""

    status = 400
    error_id = "agent_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownAgent(AgentError, KeyError):
    status = 404
    error_id = "agent_not_found"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class InvalidAgentRequest(AgentError, ValueError):
    status = 400
    error_id = "invalid_agent_request"


class AgentConfigError(AgentError, ValueError):
    """An agent definition is invalid; the message starts with the field's path."""

    status = 400
    error_id = "invalid_agent_config"
