"""The Asterisk configuration to deploy: lint-clean dialplan, and the names the server relies on
(contexts, channel variables, music class, heartbeat) agree between both sides."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import structlog.testing

from callcenter.ami.errors import AmiNotConnected
from callcenter.ami.messages import Action
from callcenter.calls.grouping import TrackerConfig
from callcenter.settings import IvrSettings
from ivr.heartbeat import VARIABLE, heartbeat_action, run_heartbeat
from ivr.sounds import SYSTEM_SOUNDS, SoundIndex

CONF = Path(__file__).resolve().parents[2] / "asterisk-conf"
EXTENSIONS = (CONF / "extensions.conf").read_text(encoding="utf-8")
PJSIP = (CONF / "pjsip.conf").read_text(encoding="utf-8")


def sections(text: str) -> dict[str, list[str]]:
    """Section name -> its lines (repeated sections, as pjsip.conf has, are joined)."""
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        match = re.match(r"^\[([^\]]+)\]", line)
        if match:
            current = out.setdefault(match[1], [])
        elif line:
            current.append(line)
    return out


@pytest.mark.skipif(importlib.util.find_spec("asterisklint") is None,
                    reason="asterisklint is not installed (pip install asterisklint)")
def test_dialplan_passes_asterisklint() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os, sys; from asterisklint.main import main; "
         "sys.exit(main(sys.argv[1:], os.environ))", "dialplan-check", str(CONF / "extensions.conf")],
        capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_contexts_the_runner_and_tracker_use_run_async_agi() -> None:
    contexts = sections(EXTENSIONS)
    settings, tracker = IvrSettings(), TrackerConfig()
    for name in settings.inbound_contexts | settings.survey_contexts | settings.fallback_contexts | \
            tracker.inbound_contexts | tracker.survey_contexts:
        assert any("AGI(agi:async)" in line for line in contexts[name]), name


def test_safety_net_follows_every_async_agi_and_knows_the_runners_states() -> None:
    contexts = sections(EXTENSIONS)
    inbound = contexts["inbound"]
    after = inbound[next(i for i, line in enumerate(inbound) if "AGI(agi:async)" in line) + 1:]
    assert any('"${CC_IVR}" = "routed"' in line for line in after)
    assert any('"${CC_IVR}" = "failed"' in line and "cc-safety-net" in line for line in after)
    assert any("ivr-fallback" in line for line in after)
    assert IvrSettings().state_variable == "CC_IVR"
    net = contexts["cc-safety-net"]
    assert any(line.startswith("same => n,Dial(${CC_HUNT_GROUP}") for line in net)
    assert any("VoiceMail(" in line for line in net)


def test_heartbeat_variable_is_the_one_the_dialplan_checks() -> None:
    assert f"${{{VARIABLE}}}" in EXTENSIONS
    action = heartbeat_action(1795314487.9)
    assert action == Action("Setvar", (("Variable", "CC_IVR_HEARTBEAT"), ("Value", "1795314487")))


async def test_heartbeat_keeps_sending_through_link_errors() -> None:
    sent: list[Action] = []

    async def send(action: Action) -> object:
        sent.append(action)
        if len(sent) == 2:
            raise AmiNotConnected("down")
        if len(sent) == 4:
            raise asyncio.CancelledError
        return None

    with pytest.raises(asyncio.CancelledError):
        await run_heartbeat(send, interval_s=0, clock=lambda: 100.0)
    assert [a.header("Value") for a in sent] == ["100"] * 4


def test_safety_net_prompts_are_stock_prompts() -> None:
    safety_net = EXTENSIONS.split("[cc-safety-net]", 1)[1].split("\n[", 1)[0]
    prompts = re.findall(r"Playback\(([^)]*)\)", safety_net)
    names = [name for arg in prompts for name in arg.split(",")[0].split("&")]
    assert names == ["sorry", "pls-hold-while-try"]
    dirs = [d for d in SYSTEM_SOUNDS if (d / "en").is_dir()]
    if dirs:
        index = SoundIndex.scan(dirs)
        assert all(index.playable(name) for name in names)


def test_pjsip_agents_report_reachability_and_send_dtmf_the_ivr_hears() -> None:
    template = sections(PJSIP)
    assert "dtmf_mode=rfc4733" in template["agent-endpoint"] and "context=agents" in template["agent-endpoint"]
    assert "qualify_frequency=15" in template["agent-aor"]
    assert "context=inbound" in template["trunk-endpoint"] and "dtmf_mode=rfc4733" in template["trunk-endpoint"]
    for agent_id in ("1001", "1002", "1003"):
        assert f"[{agent_id}](agent-endpoint)" in PJSIP


def test_music_on_hold_default_class_uses_the_debian_opsound_folder() -> None:
    moh = sections((CONF / "musiconhold.conf").read_text(encoding="utf-8"))
    assert "directory=/usr/share/asterisk/moh" in moh["default"] and "mode=files" in moh["default"]
    assert IvrSettings().record_format == "wav"


async def test_heartbeat_is_sent_at_once_when_the_link_comes_up_not_an_interval_later() -> None:
    from ivr.heartbeat import Heartbeat

    sent: list[Action] = []
    link_up = False

    async def send(action: Action) -> object:
        sent.append(action)
        if not link_up:
            raise AmiNotConnected("AMI link is connecting")
        return None

    beat = Heartbeat(send, interval_s=3600, retry_s=3600, clock=lambda: 100.0)
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(beat.run())
        await asyncio.sleep(0.05)
    try:
        assert len(sent) == 1 and not beat.ready
        assert not [e for e in logs if e["log_level"] == "warning"], "a link still logging in is no failure"
        link_up = True
        beat.on_link("up")
        for _ in range(100):
            if beat.ready:
                break
            await asyncio.sleep(0.01)
        assert beat.ready and len(sent) == 2
        beat.on_link("down")
        assert beat.status()[0] is False
    finally:
        task.cancel()
