"""Test helpers: flows from dicts, a fake clock, and a driver for the pure interpreter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr import interpreter
from ivr.effects import CallInfo, Event
from ivr.loader import parse_flow
from ivr.model import Flow
from ivr.sounds import PromptResolver, SoundIndex
from ivr.steps import InterpreterConfig, IvrState, Step

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
# Monday 23 November 2026, 10:00 in Shanghai: the after-sales line is open.
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
CALLER = "13800000001"

ZH_PROMPTS = ("zh/welcome", "zh/main-menu", "zh/goodbye", "zh/order-status-is", "zh/status-in-transit",
              *(f"zh/digits/{d}" for d in range(11)), "zh/digits/hundred", "zh/digits/thousand",
              "zh/digits/ten-thousand", "zh/digits/month-suffix", "zh/digits/day-suffix")


def flow_of(nodes: dict[str, Any], **top: Any) -> Flow:
    """A flow from node dicts; the first node is the entry unless ``entry`` is given."""
    data: dict[str, Any] = {"id": top.pop("id", "test"), "version": top.pop("version", 1),
                            "default_language": "en", "languages": ["en", "zh"],
                            "entry": next(iter(nodes)), "nodes": nodes}
    data.update(top)
    result = parse_flow(data, "test.yaml")
    assert result.flow is not None and not [p for p in result.problems if p.is_error], \
        [str(p) for p in result.problems]
    return result.flow


def config(prompts: Iterable[str] = ZH_PROMPTS, **kw: Any) -> InterpreterConfig:
    return InterpreterConfig(resolver=PromptResolver(SoundIndex.of(prompts)), **kw)


class Driver:
    """Runs the pure interpreter step by step, keeping every step for assertions."""

    def __init__(self, flow: Flow, *, caller: str = CALLER, now: datetime = MONDAY_10,
                 cfg: InterpreterConfig | None = None, language: str | None = None) -> None:
        self.now = now
        call = CallInfo(call_id="1795314487.14", channel="PJSIP/pstn-00000000", caller_number=caller,
                        caller_name="Alice Chen", extension="4001")
        self.steps: list[Step] = [interpreter.start(flow, call, cfg or config(), now, language=language)]

    @property
    def step(self) -> Step:
        return self.steps[-1]

    @property
    def effect(self) -> Any:
        return self.step.effect

    @property
    def state(self) -> IvrState:
        return self.step.state

    def send(self, event: Event) -> Any:
        self.steps.append(interpreter.advance(self.step.state, event, self.now))
        return self.effect

    def path(self) -> list[dict[str, Any]]:
        return [entry.to_json() for step in self.steps for entry in step.path]

    def kinds(self) -> list[tuple[str, str]]:
        return [(e["node"], e["kind"]) for e in self.path()]
