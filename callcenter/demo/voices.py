"""Speech for the demo's scripted callers and agents, made with espeak-ng (8 kHz 16-bit mono).

Generated once into ``<state_dir>/voices`` (a few seconds with espeak-ng installed by
``scripts/bootstrap``); the speech is real audio, so recordings, transcripts and QA scores of
demo calls come from the same pipeline as real calls. Agents differ in what they say (a model
agent, a hurried one, a rude one), so the demo's QA scores spread across the range.

Mandarin is spoken by espeak-ng's ``cmn-latn-pinyin`` voice fed tone-numbered pinyin
(``pypinyin``): its ``cmn`` voice reads most characters with English phonemes, which no
speech model understands. A line is made again when what is spoken changes (``.said`` file).
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
    # the model agent: greeting with their name, empathy, the resolution, a proper close
    Line("greet", "en", "Thank you for calling Happy Shop, my name is Sam. How can I help you today?"),
    Line("resolve", "en", "I am so sorry about that. I have sent you a replacement today. "
                          "Is there anything else I can help you with?"),
    Line("close", "en", "Thank you for calling, goodbye."),
    # the hurried agent: a greeting without a name, a resolution without empathy, no close
    Line("greet-short", "en", "Hello, shop support."),
    Line("resolve-curt", "en", "Okay. A replacement goes out tomorrow."),
    # the rude agent: no greeting, prohibited words, no resolution
    Line("greet-rude", "en", "Yes? What is it?"),
    Line("resolve-rude", "en", "Whatever. Calm down, that is not my problem. You people never read "
                               "the instructions. Talk to the courier."),
    Line("greet", "zh", "您好，欢迎致电快乐商城，我是小王，请问有什么可以帮您？"),
    Line("resolve", "zh", "非常抱歉给您带来不便，我已经为您处理好了。"),
    Line("close", "zh", "请问还有其他问题吗？感谢您的来电，再见。"),
)
# agent persona -> (greeting, answer, close or ""); the demo gives agents these in turn
AGENT_STYLES: dict[str, tuple[str, str, str]] = {
    "model": ("greet", "resolve", "close"),
    "hurried": ("greet-short", "resolve-curt", ""),
    "rude": ("greet-rude", "resolve-rude", ""),
    "plain": ("greet", "resolve", ""),
}
ESPEAK_VOICE = {"en": "en-us", "zh": "cmn-latn-pinyin"}


def spoken_text(line: Line) -> str:
    """What espeak-ng is given: the English text, or the Mandarin text as tone-numbered pinyin."""
    if line.language != "zh":
        return line.text
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(line.text, style=Style.TONE3, neutral_tone_with_five=True)
    # Chinese punctuation becomes a pause espeak-ng understands
    marks = {"，": ",", "。": ".", "？": "?", "！": "!", "、": ","}
    return " ".join(marks.get(s.strip(), s) for s in syllables if s.strip())


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
            said = path.with_suffix(".said")
            text = spoken_text(line)
            current = said.is_file() and said.read_text(encoding="utf-8") == text
            if not path.exists() or path.stat().st_size <= 44 or not current:
                _speak(line, text, path)
                said.write_text(text, encoding="utf-8")
            made[path.stem] = path
    return made


def _speak(line: Line, text: str, path: Path) -> None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise VoiceError(f"{tool} is not installed: run scripts/bootstrap (installs espeak-ng, sox)")
    raw = path.with_suffix(".raw.wav")
    try:
        subprocess.run(["espeak-ng", "-v", ESPEAK_VOICE[line.language], "-s", "150", "-w", str(raw),
                        text], check=True, capture_output=True, timeout=60)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                        str(path)], check=True, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise VoiceError(f"could not make {path.name}: {exc}") from None
    finally:
        raw.unlink(missing_ok=True)
