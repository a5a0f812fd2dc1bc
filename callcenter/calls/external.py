"""A caller an agent sent to an outside number (AMI ``BlindTransfer`` into ``[cc-external]``, at
the number's extension): the agent's leg ends as a transfer to ``external:<masked number>``,
and the carrier leg the caller's channel then dials is the call's ``external`` party, not an
agent (the safety net's hunt group is dialled the same way, and its legs are agents).

Numbers are masked wherever the call's record keeps them: all digits but the last four.
"""

from __future__ import annotations

from callcenter.calls.model import Call, Leg, LegRole

EXTERNAL_CONTEXT = "cc-external"  # asterisk-conf/extensions.conf
EXTERNAL_PREFIX = "external:"
_SHOWN = 4


def mask_number(number: str) -> str:
    """``+8613911150001`` → ``+*********0001``: the last four digits, the rest starred."""
    digits = [i for i, c in enumerate(number) if c.isdigit()]
    hidden = set(digits[:-_SHOWN]) if len(digits) > _SHOWN else set(digits)
    return "".join("*" if i in hidden else c for i, c in enumerate(number))


def external_target(number: str) -> str:
    """What the agent's leg names as where the caller went."""
    return EXTERNAL_PREFIX + mask_number(number)


def sent_outside(call: Call, agent: Leg, number: str) -> str:
    """The agent's BlindTransfer into the external context: their talk is over; the caller is
    dialled out next. Returns the masked target."""
    target = external_target(number)
    agent.ended_how, agent.transferred_to = "transfer", target
    call.transfers += 1
    call.external_to = target
    return target


def dialled_outside(call: Call, dest: Leg) -> bool:
    """The caller's channel dials ``dest``: the outside party when the call was just sent out
    (the first dial after the transfer), else False (the caller's side dials agents)."""
    if not call.external_to or dest.role is LegRole.EXTERNAL:
        return False
    dest.role, dest.transferred_to = LegRole.EXTERNAL, call.external_to
    call.external_to = ""
    return True
