"""What a supervision request can run into.

    SupervisionError           (status, error_id: what the API returns)
     ├── CallNotFound          404 call_not_found      no such live call
     ├── SessionNotFound       404 session_not_found
     ├── CallEnded             409 call_ended          the call has just ended
     ├── NoAgentYet            409 no_agent            nobody talks to the caller yet
     ├── NoPhone               409 no_phone            the supervisor has given no phone
     ├── AlreadyMonitoring     409 already_monitoring  one session per supervisor (one phone)
     ├── BargeTaken            409 barge_taken         another supervisor barges on that call
     ├── PhoneUnavailable      409 phone_unavailable   the phone did not answer / is not registered
     ├── SessionStopped        409 session_stopped     stopped (or switched) before the phone answered
     └── PbxUnavailable        503 pbx_unavailable     the AMI link is down or refused the action
"""

from __future__ import annotations


class SupervisionError(Exception):
    status = 400
    error_id = "supervision_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CallNotFound(SupervisionError):
    status, error_id = 404, "call_not_found"


class SessionNotFound(SupervisionError):
    status, error_id = 404, "session_not_found"


class CallEnded(SupervisionError):
    status, error_id = 409, "call_ended"


class NoAgentYet(SupervisionError):
    status, error_id = 409, "no_agent"


class NoPhone(SupervisionError):
    status, error_id = 409, "no_phone"


class AlreadyMonitoring(SupervisionError):
    status, error_id = 409, "already_monitoring"


class BargeTaken(SupervisionError):
    status, error_id = 409, "barge_taken"


class PhoneUnavailable(SupervisionError):
    status, error_id = 409, "phone_unavailable"


class SessionStopped(SupervisionError):
    status, error_id = 409, "session_stopped"


class PbxUnavailable(SupervisionError):
    status, error_id = 503, "pbx_unavailable"
