"""AMI adapter errors.

    AmiError
     ├── AmiNotConnected   the link is not up (never was, or is reconnecting): nothing was sent
     ├── AmiLinkLost       the link dropped while the action was in flight
     ├── AmiTimeout        no answer within the action's timeout
     ├── AmiLoginFailed    Asterisk refused the credentials (retrying will not help)
     ├── AmiActionFailed   Asterisk answered ``Response: Error``
     ├── AmiInvalidAction  the action cannot be sent as built (a CR/LF/NUL in a header): not sent
     └── AgiChannelGone    the channel hung up or left AGI before the command ran
"""

from __future__ import annotations


class AmiError(Exception):
    """Base class of every error the AMI adapter raises."""


class AmiNotConnected(AmiError):
    pass


class AmiLinkLost(AmiError):
    pass


class AmiTimeout(AmiError):
    pass


class AmiLoginFailed(AmiError):
    pass


class AmiActionFailed(AmiError):
    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action} failed: {message}")
        self.action = action
        self.message = message


class AmiInvalidAction(AmiError):
    """An action whose header would break the AMI framing; nothing was sent."""


class AgiChannelGone(AmiError):
    pass
