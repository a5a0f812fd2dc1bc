"""Workers lower their CPU priority before loading a model, so that on a host shared with the
server and Asterisk, decoding gives way to call handling."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

import pytest

import qa.worker
from callcenter.cli import commands
from callcenter.settings import AsrSettings, LiveSettings, QaSettings, Settings, SettingsError
from callcenter.settings.loader import load_settings


def test_given_the_shipped_settings_then_workers_give_way_and_live_speech_less_so() -> None:
    settings = load_settings(env={})
    assert commands.worker_nice("asr", settings) == 10
    assert commands.worker_nice("qa", settings) == 10
    assert commands.worker_nice("live", settings) == 5


def test_given_a_qa_worker_started_then_its_priority_is_lowered_before_it_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(commands.os, "nice", lambda by: calls.append(f"nice {by}") or 0)

    async def run(settings: Settings, metrics_port: int = 0) -> int:
        calls.append("run")
        return 0

    monkeypatch.setattr(qa.worker, "run_worker", run)
    settings = load_settings(env={})
    settings = dataclasses.replace(settings, qa=dataclasses.replace(settings.qa, nice=7))
    assert commands._worker(argparse.Namespace(kind="qa", metrics_port=0), settings) == 0
    assert calls == ["nice 7", "run"]


@pytest.mark.parametrize("make", [lambda: AsrSettings(nice=20), lambda: QaSettings(nice=-1),
                                  lambda: LiveSettings(nice=99)])
def test_given_a_nice_out_of_range_then_refused(make: Callable[[], object]) -> None:
    with pytest.raises(SettingsError, match="nice"):
        make()
