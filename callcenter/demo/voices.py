"""Speech for the demo's scripted callers and agents, made with espeak-ng (8 kHz 16-bit mono).

Generated once into ``<state_dir>/voices`` (a few seconds with espeak-ng installed by
``scripts/bootstrap``); the speech is real audio, so recordings, transcripts and QA scores of
demo calls come from the same pipeline as real calls.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Line:
    key: str
    language: str
    text: str


CUSTOMER_LINES = (
    Line("refund", "en", "Hi, I ordered a blender last week and it arrived broken. "
                         "I am really upset and I want a refund."),
    Line("late", "en", "Hello, my parcel should have arrived three days ago and it is still not here. "
                       "Where is my order?"),
    Line("return", "en", "Hi, I would like to return the running shoes I bought, they are the wrong size."),
    Line("complaint", "en", "This is the third time I am calling about this. Nobody helps me and I am "
                            "very unhappy with your service."),
    Line("vip", "en", "Good morning, I have a question about my last order, the tablet."),
    Line("refund", "zh", "你好，我上周买的搅拌机坏了，我要退款。"),
    Line("late", "zh", "你好，我的包裹三天前就应该到了，现在还没到。"),
)
AGENT_LINES = (
    Line("greet", "en", "Thank you for calling Happy Shop, my name is Sam. How can I help you today?"),
    Line("resolve", "en", "I am so sorry about that. I have processed your request right away. "
                          "Is there anything else I can help you with?"),
    Line("close", "en", "Thank you for calling, goodbye."),
    Line("greet", "zh", "您好，欢迎致电快乐商城，我是小王，请问有什么可以帮您？"),
    Line("resolve", "zh", "非常抱歉给您带来不便，我已经为您处理好了。"),
)
ESPEAK_VOICE = {"en": "en-us", "zh": "cmn"}


class VoiceError(RuntimeError):
    """espeak-ng or sox is missing or failed; the message says which and how to fix it."""


def voice_path(root: Path, who: str, line: Line) -> Path:
    return root / f"{who}-{line.key}-{line.language}.wav"


def ensure_voices(root: Path) -> dict[str, Path]:
    """Make every line that is not there yet; returns ``{"customer-refund-en": path, …}``.

    Raises:
        VoiceError: espeak-ng or sox is not installed or failed.
    """
    root.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for who, lines in (("customer", CUSTOMER_LINES), ("agent", AGENT_LINES)):
        for line in lines:
            path = voice_path(root, who, line)
            if not path.exists() or path.stat().st_size <= 44:
                _speak(line, path)
            made[path.stem] = path
    return made


def _speak(line: Line, path: Path) -> None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise VoiceError(f"{tool} is not installed: run scripts/bootstrap (installs espeak-ng, sox)")
    raw = path.with_suffix(".raw.wav")
    try:
        subprocess.run(["espeak-ng", "-v", ESPEAK_VOICE[line.language], "-s", "150", "-w", str(raw),
                        line.text], check=True, capture_output=True, timeout=60)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                        str(path)], check=True, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise VoiceError(f"could not make {path.name}: {exc}") from None
    finally:
        raw.unlink(missing_ok=True)
