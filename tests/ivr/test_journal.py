"""The IVR journal: the path and the context's changes go to the recorder, the agent's summary
keeps the steps that matter (at most ``ivr.summary_steps``) for the last ``ivr.remember_calls``
calls, and a failing recorder never stops the call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from callcenter.settings import IvrSettings
from ivr.effects import CallInfo, JsonValue, PathEntry, PlayPrompts
from ivr.journal import IvrJournal
from ivr.model import Flow, Scalar
from ivr.steps import InterpreterConfig, IvrState, Step
from tests.ivr.fakes import Recorder
from tests.ivr.helpers import MONDAY_10

FLOW = Flow(id="f", version=1, default_language="en", languages=("en",), entry="", nodes={})


def step(call_id: str, *kinds: str, **context: Scalar) -> Step:
    state = IvrState(FLOW, CallInfo(call_id, "PJSIP/x"), InterpreterConfig(), "en", context=context)
    path = tuple(PathEntry(MONDAY_10, f"n{i}", kind, {"digits": str(i)}) for i, kind in enumerate(kinds))
    return Step(state, PlayPrompts(("en/welcome",)), path)


class UpdatesRecorder(Recorder):
    """Also keeps each ``update_context`` call's values."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[dict[str, Scalar]] = []

    async def update_context(self, call_id: str, values: Mapping[str, Scalar]) -> None:
        self.updates.append(dict(values))
        await super().update_context(call_id, values)


async def test_the_path_is_stored_and_only_the_contexts_changes_are_written() -> None:
    recorder = UpdatesRecorder()
    journal = IvrJournal(recorder, IvrSettings())
    written = await journal.note("c1", step("c1", "node", "input", topic="order"), None)
    assert written == {"topic": "order", "language": "en"}
    await journal.note("c1", step("c1", "node", topic="order", order="10000011"), written)
    assert recorder.updates == [{"topic": "order", "language": "en"}, {"order": "10000011"}]
    assert recorder.kinds("c1") == ["node", "input", "node"]


async def test_the_summary_keeps_the_last_steps_that_matter_and_the_public_context() -> None:
    journal = IvrJournal(Recorder(), IvrSettings(summary_steps=3))
    written = None
    for _ in range(3):
        written = await journal.note("c1", step("c1", "node", "input", "prompts", "route", topic="x"), written)
    summary = journal.summary("c1")
    assert [s["kind"] for s in summary["steps"]] == ["route", "input", "route"]
    assert summary["language"] == "en" and summary["context"] == {"topic": "x", "language": "en"}
    assert journal.summary("unknown") == {"language": "", "context": {}, "steps": []}


async def test_only_the_last_calls_are_remembered() -> None:
    journal = IvrJournal(Recorder(), IvrSettings(remember_calls=2))
    for call_id in ("c1", "c2", "c3"):
        await journal.note(call_id, step(call_id, "input"), None)
    assert len(journal) == 2 and journal.remembered("c1") == (None, None)
    assert journal.remembered("c3") == ("en", {"language": "en"})
    journal.forget("c3")
    assert journal.remembered("c3") == (None, None)


class BrokenRecorder:
    async def append_path(self, call_id: str, entries: Sequence[Mapping[str, JsonValue]]) -> None:
        raise ConnectionError("database down")

    async def update_context(self, call_id: str, values: Mapping[str, Scalar]) -> None:
        raise ConnectionError("database down")


async def test_a_failing_recorder_is_logged_and_the_call_goes_on() -> None:
    journal = IvrJournal(BrokenRecorder(), IvrSettings())
    assert await journal.note("c1", step("c1", "input", topic="x"), None) == {"topic": "x", "language": "en"}
    assert journal.summary("c1")["steps"] == [{"node": "n0", "kind": "input", "digits": "0"}]
