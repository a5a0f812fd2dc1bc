"""Test helpers around the real Asterisk 22 captures in ``shared/asterisk-lab``.

:class:`CaptureServer` is a TCP server that plays a capture back to a real client: it sends
what Asterisk sent, and each time the client sends an action it answers with the frames that
followed the recorded action, ActionIDs and CommandIDs rewritten to the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.ami.messages import Action
from callcenter.ami.parser import Frame, FrameParser, parse_frame
from callcenter.server.replay import TranscriptLine, action_from_frame, read_transcript

LAB = Path(os.environ.get("CALLCENTER_ASTERISK_LAB",
                          Path(__file__).resolve().parents[2] / "shared" / "asterisk-lab"))
TRANSCRIPTS = LAB / "transcripts"
CAPTURES = sorted(p.stem for p in TRANSCRIPTS.glob("*.jsonl"))

_ACTION_ID = re.compile(r"^ActionID: ([^\r\n]*)", re.M)
_COMMAND_ID = re.compile(r"^Command[Ii][Dd]: ([^\r\n]*)", re.M)


def capture(name: str) -> list[TranscriptLine]:
    return read_transcript(TRANSCRIPTS / f"{name}.jsonl")


@dataclass
class Script:
    """A capture cut into: frames before the first action, then (action, frames after it)."""

    opening: list[str]
    steps: list[tuple[Frame, list[str]]] = field(default_factory=list)

    @classmethod
    def from_lines(cls, lines: list[TranscriptLine]) -> Script:
        script = cls(opening=[])
        current = script.opening
        for line in lines:
            if line.direction == "out":
                parsed = parse_frame(line.frame.rstrip("\r\n"), ("Action",))
                assert isinstance(parsed, Frame)
                script.steps.append((parsed, []))
                current = script.steps[-1][1]
            else:
                current.append(line.frame)
        return script

    def actions(self) -> list[tuple[Action, str]]:
        """The recorded client actions with their recorded ActionIDs."""
        out = []
        for frame, _ in self.steps:
            action = action_from_frame(frame)
            assert action is not None
            out.append((action, frame.fields.get("ActionID", "")))
        return out


class CaptureServer:
    """Plays one capture to one client over real TCP.

    Args:
        split_at: if given, every frame is written in pieces of this many bytes (to cut
            multi-byte characters across TCP reads).
    """

    def __init__(self, lines: list[TranscriptLine], split_at: int | None = None) -> None:
        self.script = Script.from_lines(lines)
        self.split_at = split_at
        self.ids: dict[str, str] = {}
        self.received: list[Frame] = []
        self.played = asyncio.Condition()
        self.step = 0
        self.mismatches: list[str] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> CaptureServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def wait_step(self, step: int) -> None:
        """Wait until the frames after recorded action ``step`` (0-based) were sent."""
        async with self.played:
            await self.played.wait_for(lambda: self.step > step)

    async def _send(self, writer: asyncio.StreamWriter, frames: list[str]) -> bool:
        for text in frames:
            if text == "<EOF>":
                writer.close()
                return False
            text = self._rewrite(text)
            data = text.encode("utf-8")
            if self.split_at:
                for i in range(0, len(data), self.split_at):
                    writer.write(data[i:i + self.split_at])
                    await writer.drain()
                    await asyncio.sleep(0)
            else:
                writer.write(data)
        await writer.drain()
        return True

    def _rewrite(self, text: str) -> str:
        def action_id(m: re.Match[str]) -> str:
            return f"ActionID: {self.ids.get(m.group(1), m.group(1))}"

        def command_id(m: re.Match[str]) -> str:
            key = "cmd:" + m.group(1)
            return m.group(0).replace(m.group(1), self.ids.get(key, m.group(1)))

        return _COMMAND_ID.sub(command_id, _ACTION_ID.sub(action_id, text))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await self._send(writer, self.script.opening):
            return
        parser = FrameParser(kinds=("Action",))
        try:
            while self.step < len(self.script.steps):
                data = await reader.read(65536)
                if not data:
                    return
                for item in parser.feed(data):
                    if not isinstance(item, Frame):
                        continue
                    self.received.append(item)
                    if not await self._answer(writer, item):
                        return
        finally:
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, frame: Frame) -> bool:
        if self.step >= len(self.script.steps):
            return True
        recorded, after = self.script.steps[self.step]
        if recorded.fields.get("Action") != frame.fields.get("Action"):
            self.mismatches.append(f"step {self.step}: expected {recorded.fields.get('Action')}, "
                                   f"got {frame.fields.get('Action')}")
        self.ids[recorded.fields.get("ActionID", "")] = frame.fields.get("ActionID", "")
        recorded_cmd = recorded.get("CommandID")
        if recorded_cmd:
            self.ids["cmd:" + recorded_cmd] = frame.get("CommandID")
        alive = await self._send(writer, after)
        async with self.played:
            self.step += 1
            self.played.notify_all()
        return alive
