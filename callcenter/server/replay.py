"""Replay an AMI capture (``{"t", "dir", "frame"}`` per line) through the parser and the tracker.

Used by ``callcenter replay`` for incident analysis and by the tests. ``in`` frames go through
the same :class:`~callcenter.ami.parser.FrameParser` the live link uses; ``out`` frames are the
client's own actions, which tell the tracker about offers, server hang-ups and recordings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from callcenter.ami.messages import Action, AmiEvent
from callcenter.ami.parser import Frame, FrameParser, parse_frame
from callcenter.calls.grouping import TrackerConfig
from callcenter.calls.model import Call
from callcenter.calls.tracker import CallTracker


class TranscriptError(ValueError):
    """A transcript line is not ``{"t": number, "dir": "in"|"out", "frame": text}``."""


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    t: float
    direction: str
    frame: str


def read_transcript(path: Path) -> list[TranscriptLine]:
    """Read a capture file.

    Raises:
        TranscriptError: a line is not valid JSON of the expected shape (names the line).
    """
    lines: list[TranscriptLine] = []
    with open(path, encoding="utf-8") as fh:
        for number, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
                t, direction, frame = float(row["t"]), row["dir"], row["frame"]
            except (ValueError, KeyError, TypeError) as exc:
                raise TranscriptError(f"{path}:{number}: not a transcript line ({exc})") from None
            if direction not in ("in", "out") or not isinstance(frame, str):
                raise TranscriptError(f"{path}:{number}: dir must be in/out and frame a string")
            lines.append(TranscriptLine(t, direction, frame))
    return lines


def epoch_base(lines: Iterable[TranscriptLine]) -> float:
    """Wall-clock time of ``t = 0``: from a Ping answer's Timestamp, else the first Uniqueid."""
    for line in lines:
        if line.direction == "in" and "Ping: Pong" in line.frame:
            for header in line.frame.split("\r\n"):
                if header.startswith("Timestamp: "):
                    try:
                        return float(header[11:]) - line.t
                    except ValueError:
                        break
    for line in lines:
        if line.direction == "in" and "Uniqueid: " in line.frame:
            value = line.frame.split("Uniqueid: ", 1)[1].split("\r\n", 1)[0]
            try:
                return float(value) - line.t
            except ValueError:
                continue
    return 0.0


def action_from_frame(frame: Frame) -> Action | None:
    """The client's action as the tracker sees it (every header, repeats kept)."""
    name = frame.fields.get("Action", "")
    if not name:
        return None
    headers = [(k, v) for k, v in frame.fields.items() if k not in ("Action", "ActionID")]
    headers += frame.repeated
    return Action(name, tuple(headers))


def events_and_actions(lines: list[TranscriptLine]
                       ) -> Iterator[tuple[AmiEvent | None, Action | None, str, float]]:
    """Yield ``(event, None, "", t)`` for Asterisk's events and ``(None, action, id, t)`` for
    the client's actions, in capture order, times made absolute."""
    base = epoch_base(lines)
    parser = FrameParser()
    for line in lines:
        at = base + line.t
        if line.direction == "in":
            for item in parser.feed(line.frame.encode("utf-8")):
                if isinstance(item, Frame) and "Event" in item.fields:
                    yield AmiEvent(item, at), None, "", at
        else:
            parsed = parse_frame(line.frame.rstrip("\r\n"), ("Action",))
            if isinstance(parsed, Frame):
                action = action_from_frame(parsed)
                if action is not None:
                    yield None, action, parsed.fields.get("ActionID", ""), at


def replay(lines: list[TranscriptLine], config: TrackerConfig | None = None) -> CallTracker:
    tracker = CallTracker(config)
    for event, action, action_id, at in events_and_actions(lines):
        if event is not None:
            tracker.apply_event(event)
        elif action is not None:
            tracker.apply_action(action, action_id, at)
    return tracker


def replay_records(path: Path) -> list[dict[str, object]]:
    """One record per call with a caller leg, in order of arrival."""
    tracker = replay(read_transcript(path))
    calls: list[Call] = sorted(tracker.calls.values(), key=lambda c: c.arrived_at)
    return [call.to_record() for call in calls if call.caller_uniqueid]
