"""The tracker's events, capture by capture: every AMI capture (the Asterisk lab's and the
real-PBX ones) in, the typed call events out, in order.

Each line is ``Kind call-id value …`` (see :func:`describe`). ``CallUpdated`` (a record changed
with nothing to decide) is left out of the tables. The tables were generated once from the
tracker and read line by line against the captures.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path, PurePosixPath

import pytest

from callcenter.calls.events import CallEvent, CallUpdated
from callcenter.calls.tracker import CallTracker
from callcenter.server.replay import TranscriptLine, events_and_actions, read_transcript
from tests.amilab import CAPTURES, capture

PBX_CAPTURES = Path(__file__).resolve().parents[1] / "data" / "pbx-captures"
_LEFT_OUT = ("call_id", "at", "answered_at", "uniqueid", "agent_uniqueid")


def describe(event: CallEvent) -> str:
    """``Kind call-id value …``: the event's own values in field order; times, uniqueids and empty
    values left out, a true flag by its name, a recording by its file name."""
    parts = [type(event).__name__, event.call_id]
    for item in dataclasses.fields(event):
        value = getattr(event, item.name)
        if item.name in _LEFT_OUT or value in ("", None, False):
            continue
        if value is True:
            parts.append(item.name)
        elif isinstance(value, Enum):
            parts.append(str(value.value))
        else:
            parts.append(PurePosixPath(value).name if item.name == "path" else str(value))
    return " ".join(parts)


def happened(lines: list[TranscriptLine]) -> list[str]:
    tracker = CallTracker()
    out: list[str] = []
    for event, action, action_id, at in events_and_actions(lines):
        if event is not None:
            produced = tracker.apply_event(event)
        else:
            assert action is not None
            produced = tracker.apply_action(action, action_id, at)
        out += [describe(e) for e in produced if not isinstance(e, CallUpdated)]
    return out


def all_captures() -> dict[str, list[TranscriptLine]]:
    found = {name: capture(name) for name in CAPTURES}
    found.update({path.stem: read_transcript(path) for path in sorted(PBX_CAPTURES.glob("*.jsonl"))})
    return found


EXPECTED: dict[str, list[str]] = {
    "abandon": [
        "CallArrived 1795314627.19 Local/4001@inbound-00000008;1",
        "EnteredIvr 1795314627.19 inbound",
        "Queued 1795314627.19",
        "CallerHungUp 1795314627.19 Local/4001@inbound-00000008;2 16",
        "CallEnded 1795314627.19 abandoned caller 16",
    ],
    "agent_noanswer": [
        "CallArrived 1795314641.21 Local/4001@inbound-00000009;1",
        "EnteredIvr 1795314641.21 inbound",
        "Queued 1795314641.21",
        "OfferSent 1795314641.21 lab-12 Local/2001@sim-agent/n lab-call-1",
        "AgentLegCreated 1795314641.21 lab-12 Local/2001@sim-agent-0000000a;1",
        "AgentRinging 1795314641.21 lab-12 Local/2001@sim-agent-0000000a;1",
        "AgentLegFailed 1795314641.21 lab-12 no_answer 19",
        "CallerHungUp 1795314641.21 Local/4001@inbound-00000009;2 16",
        "CallEnded 1795314641.21 failed server 16",
    ],
    "ivr_route_record": [
        "CallArrived 1795314487.14 Local/4001@inbound-00000006;1",
        "EnteredIvr 1795314487.14 inbound",
        "Queued 1795314487.14",
        "OfferSent 1795314487.14 lab-12 Local/1001@sim-agent/n lab-call-1",
        "AgentLegCreated 1795314487.14 lab-12 Local/1001@sim-agent-00000007;1",
        "AgentRinging 1795314487.14 lab-12 Local/1001@sim-agent-00000007;1",
        "AgentAnswered 1795314487.14 lab-12 Local/1001@sim-agent-00000007;1",
        "RecordingStarted 1795314487.14 1795314487.15.wav",
        "RecordingStarted 1795314487.14 1795314487.15-customer.wav",
        "RecordingStarted 1795314487.14 1795314487.15-agent.wav",
        "Bridged 1795314487.14 Local/1001@sim-agent-00000007;1 lab-12 first",
        "AgentHungUp 1795314487.14 Local/1001@sim-agent-00000007;1 16",
        "CallerHungUp 1795314487.14 Local/4001@inbound-00000006;2 16",
        "CallEnded 1795314487.14 answered agent 16",
    ],
    "missing_prompt": [
        "CallArrived 1795314293.2 Local/4001@inbound-00000001;1",
        "EnteredIvr 1795314293.2 inbound",
        "CallerHungUp 1795314293.2 Local/4001@inbound-00000001;2 16",
        "CallEnded 1795314293.2 ivr_hangup system 16",
    ],
    "post_call_survey": [
        "CallArrived 1795315504.44 Local/4001@inbound-00000013;1",
        "EnteredIvr 1795315504.44 inbound",
        "Queued 1795315504.44",
        "OfferSent 1795315504.44 lab-12 Local/1005@sim-agent-s/n lab-call-1",
        "AgentLegCreated 1795315504.44 lab-12 Local/1005@sim-agent-s-00000014;1",
        "AgentRinging 1795315504.44 lab-12 Local/1005@sim-agent-s-00000014;1",
        "AgentAnswered 1795315504.44 lab-12 Local/1005@sim-agent-s-00000014;1",
        "RecordingStarted 1795315504.44 1795315504.45.wav",
        "RecordingStarted 1795315504.44 1795315504.45-customer.wav",
        "RecordingStarted 1795315504.44 1795315504.45-agent.wav",
        "Bridged 1795315504.44 Local/1005@sim-agent-s-00000014;1 lab-12 first",
        "AgentHungUp 1795315504.44 Local/1005@sim-agent-s-00000014;1 16",
        "EnteredIvr 1795315504.44 survey survey",
        "CallerHungUp 1795315504.44 Local/4001@inbound-00000013;2 16",
        "CallEnded 1795315504.44 answered agent 16",
    ],
    "recording_pause": [
        "CallArrived 1795315526.49 Local/4001@inbound-00000015;1",
        "EnteredIvr 1795315526.49 inbound",
        "Queued 1795315526.49",
        "OfferSent 1795315526.49 lab-12 Local/1001@sim-agent/n lab-call-1",
        "AgentLegCreated 1795315526.49 lab-12 Local/1001@sim-agent-00000016;1",
        "AgentRinging 1795315526.49 lab-12 Local/1001@sim-agent-00000016;1",
        "AgentAnswered 1795315526.49 lab-12 Local/1001@sim-agent-00000016;1",
        "Bridged 1795315526.49 Local/1001@sim-agent-00000016;1 lab-12 first",
        "RecordingStarted 1795315526.49 1795315526.50.wav",
        "RecordingStarted 1795315526.49 1795315526.50-customer.wav",
        "RecordingStarted 1795315526.49 1795315526.50-agent.wav",
        "RecordingPaused 1795315526.49 paused",
        "RecordingPaused 1795315526.49",
        "AgentHungUp 1795315526.49 Local/1001@sim-agent-00000016;1 16",
        "CallerHungUp 1795315526.49 Local/4001@inbound-00000015;2 16",
        "CallEnded 1795315526.49 answered agent 16",
    ],
    "resync": [
        "CallArrived 1795314653.25 Local/4001@inbound-0000000b;1",
        "EnteredIvr 1795314653.25 inbound",
        "Queued 1795314653.25",
        "OfferSent 1795314653.25 lab-12 Local/1001@sim-agent/n lab-call-1",
        "AgentLegCreated 1795314653.25 lab-12 Local/1001@sim-agent-0000000c;1",
        "AgentRinging 1795314653.25 lab-12 Local/1001@sim-agent-0000000c;1",
        "AgentAnswered 1795314653.25 lab-12 Local/1001@sim-agent-0000000c;1",
        "Bridged 1795314653.25 Local/1001@sim-agent-0000000c;1 lab-12 first",
        "RecordingStarted 1795314653.25 1795314653.26.wav",
        "RecordingStarted 1795314653.25 1795314653.26-customer.wav",
        "RecordingStarted 1795314653.25 1795314653.26-agent.wav",
        "AgentHungUp 1795314653.25 Local/1001@sim-agent-0000000c;1 16",
        "CallerHungUp 1795314653.25 Local/4001@inbound-0000000b;2 16",
        "CallEnded 1795314653.25 answered agent 16",
    ],
    "sip_agent_busy_offline": [
        "CallArrived 1795316411.3 PJSIP/pstn-00000002",
        "EnteredIvr 1795316411.3 inbound",
        "Queued 1795316411.3",
        "OfferSent 1795316411.3 lab-12 PJSIP/1002",
        "AgentLegCreated 1795316411.3 lab-12 PJSIP/1002-00000003",
        "AgentLegFailed 1795316411.3 lab-12 busy 17 0",
        "OfferSent 1795316411.3 lab-13 PJSIP/1003",
        "AgentLegFailed 1795316411.3 lab-13 unavailable 0",
        "CallerHungUp 1795316411.3 PJSIP/pstn-00000002 16",
        "CallEnded 1795316411.3 failed server 16",
    ],
    "sip_call": [
        "CallArrived 1795316374.0 PJSIP/pstn-00000000",
        "EnteredIvr 1795316374.0 inbound",
        "Queued 1795316374.0",
        "OfferSent 1795316374.0 lab-12 PJSIP/1001",
        "AgentLegCreated 1795316374.0 lab-12 PJSIP/1001-00000001",
        "AgentRinging 1795316374.0 lab-12 PJSIP/1001-00000001",
        "AgentAnswered 1795316374.0 lab-12 PJSIP/1001-00000001",
        "RecordingStarted 1795316374.0 1795316374.0.wav",
        "RecordingStarted 1795316374.0 1795316374.0-customer.wav",
        "RecordingStarted 1795316374.0 1795316374.0-agent.wav",
        "Bridged 1795316374.0 PJSIP/1001-00000001 lab-12 first",
        "AgentHungUp 1795316374.0 PJSIP/1001-00000001 16",
        "CallerHungUp 1795316374.0 PJSIP/pstn-00000000 16",
        "CallEnded 1795316374.0 answered agent 16",
    ],
    "sip_register": [
    ],
    # spy legs on the agent's channel (one switched listen -> whisper -> barge, one listening
    # until the call ended): none is a call
    "supervision_chanspy": [
        "CallArrived 1796484866.0 PJSIP/carrier-00000000 +8613911130001",
        "EnteredIvr 1796484866.0 inbound",
        "Queued 1796484866.0",
        "OfferSent 1796484866.0 cc-c0014a9e-29 PJSIP/1021 1796484866.0",
        "AgentLegCreated 1796484866.0 cc-c0014a9e-29 PJSIP/1021-00000001",
        "AgentRinging 1796484866.0 cc-c0014a9e-29 PJSIP/1021-00000001",
        "AgentAnswered 1796484866.0 cc-c0014a9e-29 PJSIP/1021-00000001",
        "Bridged 1796484866.0 PJSIP/1021-00000001 cc-c0014a9e-29 first",
        "RecordingStarted 1796484866.0 1796484866.0-mixed.wav",
        "RecordingStarted 1796484866.0 1796484866.0-customer.wav",
        "RecordingStarted 1796484866.0 1796484866.0-agent.wav",
        "CallerHungUp 1796484866.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796484866.0 answered caller 16",
        "AgentHungUp 1796484866.0 PJSIP/1021-00000001 16",
    ],
    "utf8_callerid": [
        "CallArrived 1795314803.30 Local/4001@inbound-0000000d;1",
        "EnteredIvr 1795314803.30 inbound",
        "Queued 1795314803.30",
        "CallerHungUp 1795314803.30 Local/4001@inbound-0000000d;2 16",
        "CallEnded 1795314803.30 abandoned caller 16",
    ],
    "answered_call": [
        "CallArrived 1796450098.0 PJSIP/carrier-00000000 +8613911110001",
        "EnteredIvr 1796450098.0 inbound",
        "OfferSent 1796450098.0 cc-5f4c367a-48 PJSIP/1001 1796450098.0",
        "AgentLegCreated 1796450098.0 cc-5f4c367a-48 PJSIP/1001-00000001",
        "AgentRinging 1796450098.0 cc-5f4c367a-48 PJSIP/1001-00000001",
        "AgentAnswered 1796450098.0 cc-5f4c367a-48 PJSIP/1001-00000001",
        "Bridged 1796450098.0 PJSIP/1001-00000001 cc-5f4c367a-48 first",
        "RecordingStarted 1796450098.0 1796450098.0-mixed.wav",
        "RecordingStarted 1796450098.0 1796450098.0-customer.wav",
        "RecordingStarted 1796450098.0 1796450098.0-agent.wav",
        "EnteredIvr 1796450098.0 survey survey",
        "AgentHungUp 1796450098.0 PJSIP/1001-00000001 16",
        "CallerHungUp 1796450098.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796450098.0 answered agent 16",
    ],
    "offers_noanswer_busy_unregistered": [
        "CallArrived 1796450276.1 PJSIP/carrier-00000001 +8613911130001",
        "EnteredIvr 1796450276.1 inbound",
        "CallArrived 1796450276.2 PJSIP/carrier-00000002 +8613911130002",
        "EnteredIvr 1796450276.2 inbound",
        "CallArrived 1796450276.3 PJSIP/carrier-00000003 +8613911130003",
        "EnteredIvr 1796450276.3 inbound",
        "OfferSent 1796450276.3 cc-f7a10245-78 PJSIP/1015 1796450276.3",
        "AgentLegFailed 1796450276.3 cc-f7a10245-78 unavailable 0",
        "OfferSent 1796450276.3 cc-f7a10245-81 PJSIP/1016 1796450276.3",
        "AgentLegCreated 1796450276.3 cc-f7a10245-81 PJSIP/1016-00000004",
        "AgentRinging 1796450276.3 cc-f7a10245-81 PJSIP/1016-00000004",
        "AgentAnswered 1796450276.3 cc-f7a10245-81 PJSIP/1016-00000004",
        "Bridged 1796450276.3 PJSIP/1016-00000004 cc-f7a10245-81 first",
        "RecordingStarted 1796450276.3 1796450276.3-mixed.wav",
        "RecordingStarted 1796450276.3 1796450276.3-customer.wav",
        "RecordingStarted 1796450276.3 1796450276.3-agent.wav",
        "OfferSent 1796450276.1 cc-f7a10245-83 PJSIP/1011 1796450276.1",
        "AgentLegCreated 1796450276.1 cc-f7a10245-83 PJSIP/1011-00000005",
        "AgentRinging 1796450276.1 cc-f7a10245-83 PJSIP/1011-00000005",
        "OfferSent 1796450276.2 cc-f7a10245-86 PJSIP/1013 1796450276.2",
        "AgentLegCreated 1796450276.2 cc-f7a10245-86 PJSIP/1013-00000006",
        "AgentLegFailed 1796450276.2 cc-f7a10245-86 busy 17 0",
        "OfferSent 1796450276.2 cc-f7a10245-89 PJSIP/1014 1796450276.2",
        "AgentLegCreated 1796450276.2 cc-f7a10245-89 PJSIP/1014-00000007",
        "AgentRinging 1796450276.2 cc-f7a10245-89 PJSIP/1014-00000007",
        "AgentAnswered 1796450276.2 cc-f7a10245-89 PJSIP/1014-00000007",
        "Bridged 1796450276.2 PJSIP/1014-00000007 cc-f7a10245-89 first",
        "RecordingStarted 1796450276.2 1796450276.2-mixed.wav",
        "RecordingStarted 1796450276.2 1796450276.2-customer.wav",
        "RecordingStarted 1796450276.2 1796450276.2-agent.wav",
        "EnteredIvr 1796450276.3 survey survey",
        "AgentHungUp 1796450276.3 PJSIP/1016-00000004 16",
        "CallerHungUp 1796450276.3 PJSIP/carrier-00000003 16",
        "CallEnded 1796450276.3 answered agent 16",
        "CallerHungUp 1796450276.2 PJSIP/carrier-00000002 16",
        "CallEnded 1796450276.2 answered agent 16",
        "AgentHungUp 1796450276.2 PJSIP/1014-00000007 16",
        "AgentLegFailed 1796450276.1 cc-f7a10245-83 no_answer 19 3",
        "OfferSent 1796450276.1 cc-f7a10245-101 PJSIP/1012 1796450276.1",
        "AgentLegCreated 1796450276.1 cc-f7a10245-101 PJSIP/1012-00000008",
        "AgentRinging 1796450276.1 cc-f7a10245-101 PJSIP/1012-00000008",
        "AgentAnswered 1796450276.1 cc-f7a10245-101 PJSIP/1012-00000008",
        "Bridged 1796450276.1 PJSIP/1012-00000008 cc-f7a10245-101 first",
        "RecordingStarted 1796450276.1 1796450276.1-mixed.wav",
        "RecordingStarted 1796450276.1 1796450276.1-customer.wav",
        "RecordingStarted 1796450276.1 1796450276.1-agent.wav",
        "EnteredIvr 1796450276.1 survey survey",
        "AgentHungUp 1796450276.1 PJSIP/1012-00000008 16",
        "CallerHungUp 1796450276.1 PJSIP/carrier-00000001 16",
        "CallEnded 1796450276.1 answered agent 16",
    ],
    "abandon_on_hold": [
        "CallArrived 1796472137.0 PJSIP/carrier-00000000 +8613911120001",
        "EnteredIvr 1796472137.0 inbound",
        "Queued 1796472137.0",
        "CallerHungUp 1796472137.0 PJSIP/carrier-00000000",
        "CallEnded 1796472137.0 abandoned caller",
    ],
    "hostile_dtmf": [
        "CallArrived 1796472749.0 PJSIP/carrier-00000000 +8613911170001",
        "EnteredIvr 1796472749.0 inbound",
        "Queued 1796472749.0",
        "OfferSent 1796472749.0 cc-608b5e9e-61 PJSIP/1032 1796472749.0",
        "AgentLegCreated 1796472749.0 cc-608b5e9e-61 PJSIP/1032-00000001",
        "AgentRinging 1796472749.0 cc-608b5e9e-61 PJSIP/1032-00000001",
        "AgentAnswered 1796472749.0 cc-608b5e9e-61 PJSIP/1032-00000001",
        "Bridged 1796472749.0 PJSIP/1032-00000001 cc-608b5e9e-61 first",
        "RecordingStarted 1796472749.0 1796472749.0-mixed.wav",
        "RecordingStarted 1796472749.0 1796472749.0-customer.wav",
        "RecordingStarted 1796472749.0 1796472749.0-agent.wav",
        "EnteredIvr 1796472749.0 survey survey",
        "AgentHungUp 1796472749.0 PJSIP/1032-00000001 16",
        "CallerHungUp 1796472749.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796472749.0 answered agent 16",
    ],
    "payment_pause": [
        "CallArrived 1796472169.4 PJSIP/carrier-00000003 +8613911160001",
        "EnteredIvr 1796472169.4 inbound",
        "Queued 1796472169.4",
        "OfferSent 1796472169.4 cc-994b1dd1-91 PJSIP/1019 1796472169.4",
        "AgentLegCreated 1796472169.4 cc-994b1dd1-91 PJSIP/1019-00000004",
        "AgentRinging 1796472169.4 cc-994b1dd1-91 PJSIP/1019-00000004",
        "AgentAnswered 1796472169.4 cc-994b1dd1-91 PJSIP/1019-00000004",
        "Bridged 1796472169.4 PJSIP/1019-00000004 cc-994b1dd1-91 first",
        "RecordingStarted 1796472169.4 1796472169.4-mixed.wav",
        "RecordingStarted 1796472169.4 1796472169.4-customer.wav",
        "RecordingStarted 1796472169.4 1796472169.4-agent.wav",
        "RecordingPaused 1796472169.4 paused",
        "RecordingPaused 1796472169.4",
        "EnteredIvr 1796472169.4 survey survey",
        "AgentHungUp 1796472169.4 PJSIP/1019-00000004 16",
        "CallerHungUp 1796472169.4 PJSIP/carrier-00000003 16",
        "CallEnded 1796472169.4 answered agent 16",
    ],
    "survey_after_agent": [
        "CallArrived 1796472148.1 PJSIP/carrier-00000001 +8613911150001",
        "EnteredIvr 1796472148.1 inbound",
        "Queued 1796472148.1",
        "OfferSent 1796472148.1 cc-994b1dd1-49 PJSIP/1019 1796472148.1",
        "AgentLegCreated 1796472148.1 cc-994b1dd1-49 PJSIP/1019-00000002",
        "AgentRinging 1796472148.1 cc-994b1dd1-49 PJSIP/1019-00000002",
        "AgentAnswered 1796472148.1 cc-994b1dd1-49 PJSIP/1019-00000002",
        "Bridged 1796472148.1 PJSIP/1019-00000002 cc-994b1dd1-49 first",
        "RecordingStarted 1796472148.1 1796472148.1-mixed.wav",
        "RecordingStarted 1796472148.1 1796472148.1-customer.wav",
        "RecordingStarted 1796472148.1 1796472148.1-agent.wav",
        "EnteredIvr 1796472148.1 survey survey",
        "AgentHungUp 1796472148.1 PJSIP/1019-00000002 16",
        "CallerHungUp 1796472148.1 PJSIP/carrier-00000001 16",
        "CallEnded 1796472148.1 answered agent 16",
    ],
    "agent_answers_and_hangs_up": [
        "CallArrived 1796472804.3 PJSIP/carrier-00000002 +8613911170002",
        "EnteredIvr 1796472804.3 inbound",
        "Queued 1796472804.3",
        "OfferSent 1796472804.3 cc-608b5e9e-88 PJSIP/1031 1796472804.3",
        "AgentLegCreated 1796472804.3 cc-608b5e9e-88 PJSIP/1031-00000003",
        "AgentRinging 1796472804.3 cc-608b5e9e-88 PJSIP/1031-00000003",
        "AgentAnswered 1796472804.3 cc-608b5e9e-88 PJSIP/1031-00000003",
        "Bridged 1796472804.3 PJSIP/1031-00000003 cc-608b5e9e-88 first",
        "RecordingStarted 1796472804.3 1796472804.3-mixed.wav",
        "RecordingStarted 1796472804.3 1796472804.3-customer.wav",
        "RecordingStarted 1796472804.3 1796472804.3-agent.wav",
        "AgentHungUp 1796472804.3 PJSIP/1031-00000003 16",
        "EnteredIvr 1796472804.3 survey survey",
        "CallerHungUp 1796472804.3 PJSIP/carrier-00000002 16",
        "CallEnded 1796472804.3 answered agent 16",
    ],
    # The capture starts while four inbound calls already wait: their offers (Bridge of a caller
    # channel the tracker never saw) make no call. The callback (Originate into cc-callback,
    # CC_CALLBACK=1796476549.2) is a call of its own: the agent answers, the dialplan dials the
    # customer's carrier leg, they talk (recorded on the customer's leg), the agent hangs up.
    "callback_kept_place": [
        "CallbackStarted 1796476588.9 cc-6dcc9635-146 PJSIP/1031-00000007 1796476549.2 8613911160003",
        "AgentRinging 1796476588.9 cc-6dcc9635-146 PJSIP/1031-00000007",
        "AgentAnswered 1796476588.9 cc-6dcc9635-146 PJSIP/1031-00000007",
        "CustomerDialed 1796476588.9 PJSIP/carrier-00000008",
        "Bridged 1796476588.9 PJSIP/1031-00000007 cc-6dcc9635-146 first",
        "RecordingStarted 1796476588.9 1796476588.9-mixed.wav",
        "RecordingStarted 1796476588.9 1796476588.9-customer.wav",
        "RecordingStarted 1796476588.9 1796476588.9-agent.wav",
        "AgentHungUp 1796476588.9 PJSIP/1031-00000007 16",
        "CallerHungUp 1796476588.9 PJSIP/carrier-00000008 16",
        "CallEnded 1796476588.9 answered agent 16",
    ],
    # Two callback attempts to a busy customer: the agent answers, the carrier leg ends BUSY
    # (17): a failed callback ended by the customer's side (the 2nd attempt's agent Hangup first).
    # the agent blind-transfers the caller to the refunds queue (AMI BlindTransfer into
    # [cc-transfer]): the caller re-enters AGI, a second agent answers, then the survey
    "call_control_external_transfer": [
        "CallArrived 1796488669.0 PJSIP/carrier-00000000 +8613911150004",
        "EnteredIvr 1796488669.0 inbound",
        "Queued 1796488669.0",
        "OfferSent 1796488669.0 cc-3cf70369-27 PJSIP/1051 1796488669.0",
        "AgentLegCreated 1796488669.0 cc-3cf70369-27 PJSIP/1051-00000001",
        "AgentRinging 1796488669.0 cc-3cf70369-27 PJSIP/1051-00000001",
        "AgentAnswered 1796488669.0 cc-3cf70369-27 PJSIP/1051-00000001",
        "Bridged 1796488669.0 PJSIP/1051-00000001 cc-3cf70369-27 first",
        "RecordingStarted 1796488669.0 1796488669.0-mixed.wav",
        "RecordingStarted 1796488669.0 1796488669.0-customer.wav",
        "RecordingStarted 1796488669.0 1796488669.0-agent.wav",
        "Transferred 1796488669.0 PJSIP/1051-00000001 external:+********0100",
        "AgentHungUp 1796488669.0 PJSIP/1051-00000001 16",
        "EnteredIvr 1796488669.0 survey survey",
        "CallerHungUp 1796488669.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796488669.0 answered caller 16",
    ],
    "call_control_blind_transfer": [
        "CallArrived 1796476028.0 PJSIP/carrier-00000000 +8613911150001",
        "EnteredIvr 1796476028.0 inbound",
        "Queued 1796476028.0",
        "OfferSent 1796476028.0 cc-2ecf622b-25 PJSIP/1051 1796476028.0",
        "AgentLegCreated 1796476028.0 cc-2ecf622b-25 PJSIP/1051-00000001",
        "AgentRinging 1796476028.0 cc-2ecf622b-25 PJSIP/1051-00000001",
        "AgentAnswered 1796476028.0 cc-2ecf622b-25 PJSIP/1051-00000001",
        "Bridged 1796476028.0 PJSIP/1051-00000001 cc-2ecf622b-25 first",
        "RecordingStarted 1796476028.0 1796476028.0-mixed.wav",
        "RecordingStarted 1796476028.0 1796476028.0-customer.wav",
        "RecordingStarted 1796476028.0 1796476028.0-agent.wav",
        "Transferred 1796476028.0 PJSIP/1051-00000001 refunds",
        "EnteredIvr 1796476028.0 cc-transfer",
        "AgentHungUp 1796476028.0 PJSIP/1051-00000001 16",
        "OfferSent 1796476028.0 cc-2ecf622b-36 PJSIP/1052 1796476028.0",
        "AgentLegCreated 1796476028.0 cc-2ecf622b-36 PJSIP/1052-00000002",
        "AgentRinging 1796476028.0 cc-2ecf622b-36 PJSIP/1052-00000002",
        "AgentAnswered 1796476028.0 cc-2ecf622b-36 PJSIP/1052-00000002",
        "Bridged 1796476028.0 PJSIP/1052-00000002 cc-2ecf622b-36",
        "AgentHungUp 1796476028.0 PJSIP/1052-00000002 16",
        "EnteredIvr 1796476028.0 survey survey",
        "CallerHungUp 1796476028.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796476028.0 answered agent 16",
    ],
    # hana consults ivan (AMI Atxfer: the caller holds with music, ivan's phone rings as the
    # consult's leg); the caller hangs up mid-consult: the call ends, the server hangs hana up
    "call_control_consult_caller_left": [
        "CallArrived 1796485404.18 PJSIP/carrier-00000009 +8613911170004",
        "EnteredIvr 1796485404.18 inbound",
        "Queued 1796485404.18",
        "OfferSent 1796485404.18 cc-c80ed4b1-246 PJSIP/1071 1796485404.18",
        "AgentLegCreated 1796485404.18 cc-c80ed4b1-246 PJSIP/1071-0000000a",
        "AgentRinging 1796485404.18 cc-c80ed4b1-246 PJSIP/1071-0000000a",
        "AgentAnswered 1796485404.18 cc-c80ed4b1-246 PJSIP/1071-0000000a",
        "Bridged 1796485404.18 PJSIP/1071-0000000a cc-c80ed4b1-246 first",
        "RecordingStarted 1796485404.18 1796485404.18-mixed.wav",
        "RecordingStarted 1796485404.18 1796485404.18-customer.wav",
        "RecordingStarted 1796485404.18 1796485404.18-agent.wav",
        "Held 1796485404.18 PJSIP/carrier-00000009",
        "AgentLegCreated 1796485404.18 cc-c80ed4b1-250 PJSIP/1072-0000000b",
        "AgentRinging 1796485404.18 cc-c80ed4b1-250 PJSIP/1072-0000000b",
        "AgentAnswered 1796485404.18 cc-c80ed4b1-250 PJSIP/1072-0000000b",
        "CallerHungUp 1796485404.18 PJSIP/carrier-00000009 16",
        "CallEnded 1796485404.18 answered caller 16",
        "AgentHungUp 1796485404.18 PJSIP/1071-0000000a 16",
    ],
    # hana consults ivan, whose phone rings and is never answered (no AgentAnswered: the console
    # refuses complete and conference meanwhile); the caller hangs up: Asterisk fails the
    # attended transfer and hangs hana up, ivan's ringing leg ends unanswered
    "call_control_consult_ringing_caller_left": [
        "CallArrived 1796508021.0 PJSIP/carrier-00000000 +8613911170006",
        "EnteredIvr 1796508021.0 inbound",
        "Queued 1796508021.0",
        "OfferSent 1796508021.0 cc-96b3f6c2-27 PJSIP/1071 1796508021.0",
        "AgentLegCreated 1796508021.0 cc-96b3f6c2-27 PJSIP/1071-00000001",
        "AgentRinging 1796508021.0 cc-96b3f6c2-27 PJSIP/1071-00000001",
        "AgentAnswered 1796508021.0 cc-96b3f6c2-27 PJSIP/1071-00000001",
        "Bridged 1796508021.0 PJSIP/1071-00000001 cc-96b3f6c2-27 first",
        "RecordingStarted 1796508021.0 1796508021.0-mixed.wav",
        "RecordingStarted 1796508021.0 1796508021.0-customer.wav",
        "RecordingStarted 1796508021.0 1796508021.0-agent.wav",
        "Held 1796508021.0 PJSIP/carrier-00000000",
        "AgentLegCreated 1796508021.0 cc-96b3f6c2-30 PJSIP/1072-00000002",
        "AgentRinging 1796508021.0 cc-96b3f6c2-30 PJSIP/1072-00000002",
        "CallerHungUp 1796508021.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796508021.0 answered caller 16",
        "AgentHungUp 1796508021.0 PJSIP/1071-00000001 16",
        "AgentLegFailed 1796508021.0 cc-96b3f6c2-30 cancelled 16",
    ],
    # hana consults ivan, then cancels (*1 received from her channel): ivan's leg ends, she is
    # back with the caller, hangs up; the survey
    "call_control_consult_cancelled": [
        "CallArrived 1796485233.0 PJSIP/carrier-00000000 +8613911170001",
        "EnteredIvr 1796485233.0 inbound",
        "Queued 1796485233.0",
        "OfferSent 1796485233.0 cc-c80ed4b1-33 PJSIP/1071 1796485233.0",
        "AgentLegCreated 1796485233.0 cc-c80ed4b1-33 PJSIP/1071-00000001",
        "AgentRinging 1796485233.0 cc-c80ed4b1-33 PJSIP/1071-00000001",
        "AgentAnswered 1796485233.0 cc-c80ed4b1-33 PJSIP/1071-00000001",
        "Bridged 1796485233.0 PJSIP/1071-00000001 cc-c80ed4b1-33 first",
        "RecordingStarted 1796485233.0 1796485233.0-mixed.wav",
        "RecordingStarted 1796485233.0 1796485233.0-customer.wav",
        "RecordingStarted 1796485233.0 1796485233.0-agent.wav",
        "Held 1796485233.0 PJSIP/carrier-00000000",
        "AgentLegCreated 1796485233.0 cc-c80ed4b1-36 PJSIP/1072-00000002",
        "AgentRinging 1796485233.0 cc-c80ed4b1-36 PJSIP/1072-00000002",
        "AgentAnswered 1796485233.0 cc-c80ed4b1-36 PJSIP/1072-00000002",
        "ConsultEnded 1796485233.0 PJSIP/1072-00000002 16",
        "EnteredIvr 1796485233.0 survey survey",
        "AgentHungUp 1796485233.0 PJSIP/1071-00000001 16",
        "CallerHungUp 1796485233.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796485233.0 answered agent 16",
    ],
    # hana consults ivan, then completes (*2): AttendedTransfer, hana's leg ends, ivan is
    # bridged with the caller once Asterisk optimises the Local channels away
    "call_control_consult_completed": [
        "CallArrived 1796485292.6 PJSIP/carrier-00000003 +8613911170002",
        "EnteredIvr 1796485292.6 inbound",
        "Queued 1796485292.6",
        "OfferSent 1796485292.6 cc-c80ed4b1-103 PJSIP/1071 1796485292.6",
        "AgentLegCreated 1796485292.6 cc-c80ed4b1-103 PJSIP/1071-00000004",
        "AgentRinging 1796485292.6 cc-c80ed4b1-103 PJSIP/1071-00000004",
        "AgentAnswered 1796485292.6 cc-c80ed4b1-103 PJSIP/1071-00000004",
        "Bridged 1796485292.6 PJSIP/1071-00000004 cc-c80ed4b1-103 first",
        "RecordingStarted 1796485292.6 1796485292.6-mixed.wav",
        "RecordingStarted 1796485292.6 1796485292.6-customer.wav",
        "RecordingStarted 1796485292.6 1796485292.6-agent.wav",
        "Held 1796485292.6 PJSIP/carrier-00000003",
        "AgentLegCreated 1796485292.6 cc-c80ed4b1-107 PJSIP/1072-00000005",
        "AgentRinging 1796485292.6 cc-c80ed4b1-107 PJSIP/1072-00000005",
        "AgentAnswered 1796485292.6 cc-c80ed4b1-107 PJSIP/1072-00000005",
        "Transferred 1796485292.6 PJSIP/1071-00000004 ivan",
        "AgentHungUp 1796485292.6 PJSIP/1071-00000004 16",
        "Bridged 1796485292.6 PJSIP/1072-00000005 cc-c80ed4b1-107",
        "EnteredIvr 1796485292.6 survey survey",
        "AgentHungUp 1796485292.6 PJSIP/1072-00000005 16",
        "CallerHungUp 1796485292.6 PJSIP/carrier-00000003 16",
        "CallEnded 1796485292.6 answered agent 16",
    ],
    # hana consults ivan, then a three-way (*3); hana leaves, ivan talks on with the caller
    "call_control_consult_conference": [
        "CallArrived 1796485349.12 PJSIP/carrier-00000006 +8613911170003",
        "EnteredIvr 1796485349.12 inbound",
        "Queued 1796485349.12",
        "OfferSent 1796485349.12 cc-c80ed4b1-173 PJSIP/1071 1796485349.12",
        "AgentLegCreated 1796485349.12 cc-c80ed4b1-173 PJSIP/1071-00000007",
        "AgentRinging 1796485349.12 cc-c80ed4b1-173 PJSIP/1071-00000007",
        "AgentAnswered 1796485349.12 cc-c80ed4b1-173 PJSIP/1071-00000007",
        "Bridged 1796485349.12 PJSIP/1071-00000007 cc-c80ed4b1-173 first",
        "RecordingStarted 1796485349.12 1796485349.12-mixed.wav",
        "RecordingStarted 1796485349.12 1796485349.12-customer.wav",
        "RecordingStarted 1796485349.12 1796485349.12-agent.wav",
        "Held 1796485349.12 PJSIP/carrier-00000006",
        "AgentLegCreated 1796485349.12 cc-c80ed4b1-177 PJSIP/1072-00000008",
        "AgentRinging 1796485349.12 cc-c80ed4b1-177 PJSIP/1072-00000008",
        "AgentAnswered 1796485349.12 cc-c80ed4b1-177 PJSIP/1072-00000008",
        "Conferenced 1796485349.12 PJSIP/1071-00000007 ivan",
        "AgentHungUp 1796485349.12 PJSIP/1071-00000007 16",
        "Bridged 1796485349.12 PJSIP/1072-00000008 cc-c80ed4b1-177",
        "EnteredIvr 1796485349.12 survey survey",
        "AgentHungUp 1796485349.12 PJSIP/1072-00000008 16",
        "CallerHungUp 1796485349.12 PJSIP/carrier-00000006 16",
        "CallEnded 1796485349.12 answered agent 16",
    ],
    "callback_busy_ticket": [
        "CallbackStarted 1796476636.16 cc-6dcc9635-213 PJSIP/1031-0000000c 1796476608.15 8613911170001",
        "AgentRinging 1796476636.16 cc-6dcc9635-213 PJSIP/1031-0000000c",
        "AgentAnswered 1796476636.16 cc-6dcc9635-213 PJSIP/1031-0000000c",
        "CustomerDialed 1796476636.16 PJSIP/carrier-0000000d",
        "CallbackFailed 1796476636.16 caller busy 17",
        "AgentHungUp 1796476636.16 PJSIP/1031-0000000c 17",
        "CallEnded 1796476636.16 failed caller 17",
        "CallbackStarted 1796476641.18 cc-6dcc9635-217 PJSIP/1031-0000000e 1796476608.15 8613911170001",
        "AgentRinging 1796476641.18 cc-6dcc9635-217 PJSIP/1031-0000000e",
        "AgentAnswered 1796476641.18 cc-6dcc9635-217 PJSIP/1031-0000000e",
        "CustomerDialed 1796476641.18 PJSIP/carrier-0000000f",
        "AgentHungUp 1796476641.18 PJSIP/1031-0000000e 17",
        "CallbackFailed 1796476641.18 caller busy 17",
        "CallEnded 1796476641.18 failed caller 17",
    ],
    # hana consults ivan and the caller hangs up as the request returns: ivan's leg exists but his
    # phone has not rung yet (Down); Asterisk fails the transfer and ends his leg unanswered
    "call_control_consult_caller_left_at_once": [
        "CallArrived 1796519336.0 PJSIP/carrier-00000000 +8613911170011",
        "EnteredIvr 1796519336.0 inbound",
        "Queued 1796519336.0",
        "OfferSent 1796519336.0 cc-2f3c7c9b-25 PJSIP/1071 1796519336.0",
        "AgentLegCreated 1796519336.0 cc-2f3c7c9b-25 PJSIP/1071-00000001",
        "AgentRinging 1796519336.0 cc-2f3c7c9b-25 PJSIP/1071-00000001",
        "AgentAnswered 1796519336.0 cc-2f3c7c9b-25 PJSIP/1071-00000001",
        "Bridged 1796519336.0 PJSIP/1071-00000001 cc-2f3c7c9b-25 first",
        "RecordingStarted 1796519336.0 1796519336.0-mixed.wav",
        "RecordingStarted 1796519336.0 1796519336.0-customer.wav",
        "RecordingStarted 1796519336.0 1796519336.0-agent.wav",
        "Held 1796519336.0 PJSIP/carrier-00000000",
        "AgentLegCreated 1796519336.0 cc-2f3c7c9b-28 PJSIP/1072-00000002",
        "AgentRinging 1796519336.0 cc-2f3c7c9b-28 PJSIP/1072-00000002",
        "CallerHungUp 1796519336.0 PJSIP/carrier-00000000 16",
        "CallEnded 1796519336.0 answered caller 16",
        "AgentLegFailed 1796519336.0 cc-2f3c7c9b-28 cancelled 16",
        "AgentHungUp 1796519336.0 PJSIP/1071-00000001 16",
    ],
    # the caller hangs up as the Atxfer holds hana, before Asterisk makes the Local pair: no
    # colleague's leg ever; the call ends and the server hangs hana up
    # the agent hung up as Asterisk took the Atxfer (no colleague's leg yet): the caller
    # goes on to the survey, no transfer
    "call_control_consult_agent_left_in_atxfer": [
        "CallArrived 1796522950.12 PJSIP/carrier-00000007 +8613911170014",
        "EnteredIvr 1796522950.12 inbound",
        "Queued 1796522950.12",
        "OfferSent 1796522950.12 cc-4643d7a5-122 PJSIP/1071 1796522950.12",
        "AgentLegCreated 1796522950.12 cc-4643d7a5-122 PJSIP/1071-00000008",
        "AgentRinging 1796522950.12 cc-4643d7a5-122 PJSIP/1071-00000008",
        "AgentAnswered 1796522950.12 cc-4643d7a5-122 PJSIP/1071-00000008",
        "Bridged 1796522950.12 PJSIP/1071-00000008 cc-4643d7a5-122 first",
        "RecordingStarted 1796522950.12 1796522950.12-mixed.wav",
        "RecordingStarted 1796522950.12 1796522950.12-customer.wav",
        "RecordingStarted 1796522950.12 1796522950.12-agent.wav",
        "Held 1796522950.12 PJSIP/carrier-00000007",
        "AgentHungUp 1796522950.12 PJSIP/1071-00000008 16",
        "EnteredIvr 1796522950.12 survey survey",
        "CallerHungUp 1796522950.12 PJSIP/carrier-00000007 16",
        "CallEnded 1796522950.12 answered agent 16",
    ],
    "call_control_consult_caller_left_in_atxfer": [
        "CallArrived 1796519355.6 PJSIP/carrier-00000003 +8613911170012",
        "EnteredIvr 1796519355.6 inbound",
        "Queued 1796519355.6",
        "OfferSent 1796519355.6 cc-2f3c7c9b-59 PJSIP/1071 1796519355.6",
        "AgentLegCreated 1796519355.6 cc-2f3c7c9b-59 PJSIP/1071-00000004",
        "AgentRinging 1796519355.6 cc-2f3c7c9b-59 PJSIP/1071-00000004",
        "AgentAnswered 1796519355.6 cc-2f3c7c9b-59 PJSIP/1071-00000004",
        "Bridged 1796519355.6 PJSIP/1071-00000004 cc-2f3c7c9b-59 first",
        "RecordingStarted 1796519355.6 1796519355.6-mixed.wav",
        "RecordingStarted 1796519355.6 1796519355.6-customer.wav",
        "RecordingStarted 1796519355.6 1796519355.6-agent.wav",
        "Held 1796519355.6 PJSIP/carrier-00000003",
        "CallerHungUp 1796519355.6 PJSIP/carrier-00000003 16",
        "CallEnded 1796519355.6 answered caller 16",
        "AgentHungUp 1796519355.6 PJSIP/1071-00000004 16",
    ],
}


def test_every_capture_has_its_table() -> None:
    assert sorted(all_captures()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_in_typed_events_out(name: str) -> None:
    lines = all_captures().get(name)
    if lines is None:
        pytest.fail(f"capture {name} is missing")
    assert happened(lines) == EXPECTED[name]
