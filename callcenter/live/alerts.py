"""Supervisor alerts on a live call (pure: utterances and ticks in, alerts out).

- ``negative``: the customer's sentiment is negative in ``negative_count`` of their last
  ``negative_window`` utterances (raised again only after it recovered);
- ``prohibited``: a configured word or phrase is said (whole words; in Chinese, anywhere);
- ``overtalk``: both speak at once for ``overtalk_s`` or more;
- ``silence``: nobody has said anything for ``silence_s`` (once per silent stretch; a paused
  recording is not silence);
- ``over_target``: the call has lasted longer than its skill's handling target (once).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AlertRules:
    prohibited: frozenset[str] = frozenset()
    negative_window: int = 4
    negative_count: int = 3
    silence_s: float = 30.0
    overtalk_s: float = 3.0


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # negative | prohibited | overtalk | silence | over_target
    call_id: str
    at_s: float  # seconds since the call was bridged
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "call_id": self.call_id, "at_s": round(self.at_s, 1),
                "detail": self.detail}


def _said(phrase: str, text: str) -> bool:
    if re.search(r"[\u3400-\u9fff]", phrase):
        return phrase in text
    return re.search(rf"(?<![\w']){re.escape(phrase.lower())}(?![\w'])", text.lower()) is not None


@dataclass
class CallWatch:
    """One call's alert state; ``target_s`` is its skill's handling target."""

    call_id: str
    rules: AlertRules
    target_s: float
    last: dict[str, tuple[float, float]] = field(default_factory=dict)  # speaker -> (start, end)
    moods: deque[str] = field(default_factory=deque)
    negative_on: bool = False
    spoke_until: float = 0.0
    silence_on: bool = False
    over_target: bool = False
    paused: bool = False

    def utterance(self, u: dict[str, Any]) -> list[Alert]:
        """One stored utterance (the relay's JSON); gaps pause the silence watch."""
        if u.get("kind") == "gap":
            self.paused = u.get("reason") == "paused" and float(u["end_s"]) <= float(u["start_s"])
            return []
        start, end, speaker = float(u["start_s"]), float(u["end_s"]), str(u["speaker"])
        out = self._words(u, end) + self._overtalk(speaker, start, end)
        self.last[speaker] = (start, end)
        self.spoke_until = max(self.spoke_until, end)
        self.silence_on = False
        self.paused = False
        if speaker == "customer" and u.get("sentiment"):
            out += self._mood(str(u["sentiment"]), end)
        return out

    def tick(self, now_s: float) -> list[Alert]:
        """Time passed (``now_s`` since the bridge): silence and the handling target."""
        out = []
        if not self.paused and not self.silence_on and now_s - self.spoke_until >= self.rules.silence_s:
            self.silence_on = True
            out.append(Alert("silence", self.call_id, now_s, f"{now_s - self.spoke_until:.0f}"))
        if not self.over_target and now_s >= self.target_s:
            self.over_target = True
            out.append(Alert("over_target", self.call_id, now_s, f"{self.target_s:.0f}"))
        return out

    def _words(self, u: dict[str, Any], end: float) -> list[Alert]:
        text = str(u.get("text", ""))
        return [Alert("prohibited", self.call_id, end, f"{u['speaker']}: {phrase}")
                for phrase in sorted(self.rules.prohibited) if phrase and _said(phrase, text)]

    def _overtalk(self, speaker: str, start: float, end: float) -> list[Alert]:
        other = self.last.get("agent" if speaker == "customer" else "customer")
        if other is None:
            return []
        overlap = min(end, other[1]) - max(start, other[0])
        if overlap < self.rules.overtalk_s:
            return []
        return [Alert("overtalk", self.call_id, end, f"{overlap:.1f}")]

    def _mood(self, label: str, end: float) -> list[Alert]:
        self.moods.append(label)
        while len(self.moods) > self.rules.negative_window:
            self.moods.popleft()
        negatives = sum(1 for m in self.moods if m == "negative")
        if negatives >= self.rules.negative_count and not self.negative_on:
            self.negative_on = True
            return [Alert("negative", self.call_id, end, f"{negatives}/{len(self.moods)}")]
        if negatives < self.rules.negative_count:
            self.negative_on = False
        return []
