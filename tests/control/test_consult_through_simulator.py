"""Consult transfer, cancel and three-way conference through the PBX simulator (real AMI over
TCP, the real IVR, router, tracker and PostgreSQL): rex consults sue, the simulator runs the
attended transfer (Atxfer into [cc-consult], the features codes played as received digits) and
reports it as Asterisk 22 does. The colleague's channel and the caller's music follow the same
course as on the real PBX (``tests/data/pbx-captures/call_control_consult_*.jsonl``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.agents.model import AgentState
from callcenter.ami.messages import AmiEvent
from callcenter.control.plan import Verb
from callcenter.simulator.pbx import Pbx
from callcenter.web.api_control import CONTROL
from tests.pbx.fidelity import ACCEPTED, ACCEPTED_FIELDS
from tests.routing.sim_harness import EN_CUSTOMERS, agent_entry, caller, phone, running
from tests.simulator.lab import KEY_FIELDS

pytestmark = pytest.mark.integration

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "pbx-captures"
POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 3},
          "skills": {"refunds": {"steps": [{"after_s": 0, "min_level": 1}]},
                     "returns": {"steps": [{"after_s": 0, "min_level": 1}]}}}
EXTEN = re.compile(r"\b\d{8}\b")  # [cc-consult]'s extension: a random one per consult
WAIT = 300.0  # simulated seconds: bounds, not delays
# the course of a channel: what it enters, leaves and how it ends (connected-line, caller-ID
# and variable updates depend on the phones and Asterisk's modules, see tests/pbx/fidelity.py)
COURSE = ("Newchannel", "Newstate", "BridgeEnter", "BridgeLeave", "Hold", "Unhold",
          "MusicOnHoldStart", "MusicOnHoldStop", "Hangup")
FLOWS = {"complete": ("completed", Verb.COMPLETE), "cancel": ("cancelled", Verb.CANCEL),
         "conference": ("conference", Verb.CONFERENCE)}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


def course(events: list[dict[str, str]], prefix: str, after: str = "") -> list[str]:
    """The course of the first channel named ``prefix…`` (from its event ``after`` on)."""
    names = [e.get("Channel", "") for e in events if e.get("Channel", "").startswith(prefix)]
    if not names:
        return []
    mine = [e for e in events if e.get("Channel") == names[0]]
    if after:
        mine = mine[next(i for i, e in enumerate(mine) if e.get("Event") == after):]
    return [f"{e['Event']} {e.get('Cause', '')}".strip() for e in mine if e.get("Event") in COURSE]


def signatures(events: list[dict[str, str]], prefix: str, after: str = "",
               until: str = "") -> list[str]:
    """Every event of the first channel named ``prefix…`` (from the last ``after`` on, up to
    the next ``until``) with its key fields, but for the differences accepted in
    :data:`tests.pbx.fidelity.ACCEPTED`; the consult's random extension (in fields and as the
    digits Atxfer plays after the features code) and the bridges (numbered as they appear)
    normalised."""
    names = [e.get("Channel", "") for e in events if e.get("Channel", "").startswith(prefix)]
    assert names, f"no channel {prefix}…"
    mine = [e for e in events if e.get("Channel") == names[0] and e["Event"] not in ACCEPTED]
    if after:
        mine = mine[max(i for i, e in enumerate(mine) if e["Event"] == after):]
    if until:
        mine = mine[:next(i for i, e in enumerate(mine) if e["Event"] == until) + 1]
    bridges: dict[str, str] = {}
    out, dialing = [], False
    for e in mine:
        fields = {k: EXTEN.sub("N", e[k]) for k in KEY_FIELDS if k in e and k not in ACCEPTED_FIELDS}
        dialing = (dialing or e["Event"] == "Hold") and not e["Event"].startswith("Bridge")
        if dialing and e["Event"] == "DTMFEnd":
            fields["Digit"] = "N"
        parts = [e["Event"], *(f"{k}={v}" for k, v in fields.items())]
        if "BridgeUniqueid" in e:
            parts.append(bridges.setdefault(e["BridgeUniqueid"], f"bridge#{len(bridges) + 1}"))
        out.append(" ".join(parts))
    return out


def captured(name: str) -> list[dict[str, str]]:
    out = []
    for line in (CAPTURES / f"call_control_consult_{name}.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        fields = dict(x.split(": ", 1) for x in record["frame"].split("\r\n") if ": " in x)
        if record["dir"] == "in" and "Event" in fields:
            out.append(fields)
    return out


def hang_up_sue(pbx: Pbx) -> None:
    """The server hangs up sue's leg as the console's hang-up would (AMI Hangup)."""
    [sue] = [ch for name, ch in pbx.channels.items() if name.startswith("PJSIP/1004-") and ch.alive]
    pbx.hangups.hangup_action(sue, 16)


def transfers(events: list[dict[str, str]]) -> list[str]:
    return [e.get("DestType", "") for e in events if e.get("Event") == "AttendedTransfer"]


@pytest.mark.parametrize("flow", sorted(FLOWS))
async def test_consult_then_complete_cancel_or_conference_through_the_simulator(
        flow: str, fresh_db: str, tmp_path: Path) -> None:
    capture, verb = FLOWS[flow]
    agents = [agent_entry("rex", "1003", {"refunds": 4}), agent_entry("sue", "1004", {"returns": 4})]
    async with running(tmp_path, fresh_db, policy=POLICY, agents=agents,
                       phones=[phone("1003", hangup_after_s=600.0),  # pjsua --auto-answer 200:
                               phone("1004", answer_after_s=0.0, hangup_after_s=600.0)]) as h:
        seen: list[dict[str, str]] = []

        def record(event: AmiEvent) -> None:
            seen.append(dict(event.fields))

        h.server.ami.subscribe(record)
        h.call(caller(EN_CUSTOMERS[0], survey=None))
        await h.wait_for(lambda: h.state("rex") is AgentState.TALKING, WAIT, "rex talking")
        [enqueued] = h.probe.enqueued()
        call_id = enqueued.call.call_id
        control = h.server.http.app[CONTROL]  # type: ignore[attr-defined]
        await h.wait_for(lambda: h.server.console.agent_on_call(call_id) == "rex", WAIT, "answered")
        caller_channel = next(e["Channel"] for e in seen if e.get("Event") == "Newchannel"
                              and e.get("Context") == "inbound")
        await h.sleep(5.0)

        state = await control.act("rex", call_id, Verb.CONSULT, to_agent="sue")
        assert state["consult"]["to"] == "sue", state
        await h.wait_for(lambda: any(e.get("Event") == "BridgeEnter"
                                     and e.get("Channel", "").startswith("PJSIP/1004-") for e in seen),
                         WAIT, "sue answered the consult")
        assert [e["Event"] for e in seen if e.get("Channel") == caller_channel
                and e["Event"].startswith("MusicOnHold")][-1:] == ["MusicOnHoldStart"]  # held
        await h.sleep(4.0)
        done = await control.act("rex", call_id, verb)
        if flow == "conference":
            assert done["consult"]["stage"] == "conference", done
        else:
            assert done["consult"] is None, done
        if flow == "cancel":
            await h.wait_for(lambda: course(seen, "PJSIP/1004-")[-1:] == ["Hangup 16"], WAIT, "sue's leg ended")
            await h.sleep(2.0)
            await control.act("rex", call_id, Verb.HANGUP)
        elif flow == "conference":
            await h.sleep(4.0)
            await control.act("rex", call_id, Verb.HANGUP)  # rex leaves, caller and sue talk on
            await h.sleep(2.0)
            hang_up_sue(h.simulator.pbx)
        else:
            await h.sleep(4.0)
            hang_up_sue(h.simulator.pbx)
        await h.wait_for(lambda: not h.server.tracker.live_calls(), WAIT, "the call ended")
        rows = await h.finish(WAIT)

    real = captured(capture)
    real_caller = next(e["Channel"] for e in real if e.get("Event") == "MusicOnHoldStart"
                       and e.get("Context") == "inbound" and e.get("Exten") == "4001"
                       and any(x.get("Event") == "Hold" for x in real))
    for ours, theirs in (("PJSIP/1004-", "PJSIP/1072-"), ("Local/", "Local/")):
        assert signatures(seen, ours) == signatures(real, theirs), ours
    two = next(e["Channel"] for e in seen if e.get("Channel", "").endswith(";2"))
    real_two = next(e["Channel"] for e in real if e.get("Channel", "").endswith(";2"))
    assert signatures(seen, two) == signatures(real, real_two)
    assert signatures(seen, "PJSIP/1003-", "Hold") == signatures(real, "PJSIP/1071-", "Hold")
    assert (signatures(seen, caller_channel, "MusicOnHoldStart", "BridgeLeave")
            == signatures(real, real_caller, "MusicOnHoldStart", "BridgeLeave"))
    assert course(seen, "PJSIP/1004-") == course(real, "PJSIP/1072-")
    assert course(seen, "Local/") == course(real, "Local/")
    assert course(seen, "PJSIP/1003-", "Hold") == course(real, "PJSIP/1071-", "Hold")
    assert course(seen, caller_channel, "BridgeEnter")[-3:] == course(real, real_caller, "BridgeEnter")[-3:]
    assert transfers(seen) == transfers(real)
    assert [r["linkedid"] for r in rows] == [call_id]
