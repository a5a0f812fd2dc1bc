"""Speech-to-text throughput: the worker's pipeline against bare vosk on the same audio.

    python benchmarks/asr.py [--model DIR]

The audio is the lab's recordings (refund call and SIP call: customer, agent and mixed files).
- bare: vosk alone, one recognizer, file after file (read frames, AcceptWaveform, FinalResult);
- pipeline: what the ASR worker does per file (read and check the WAV, silence check,
  recognise with word times, cut utterances at pauses, redact card and phone numbers), one
  thread, file after file;
- 2 workers: the same pipeline on two threads sharing one model (vosk releases the GIL).

Prints JSON: {"audio_s", "bare_rtf", "pipeline_rtf", "overhead", "speedup_2_workers", "files"}
(rtf = decode seconds per audio second; overhead = pipeline_rtf / bare_rtf - 1; speedup = one
thread's time over two threads' time). Goals: overhead <= 0.10, speedup >= 1.7 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.models import packaged_model_dir
from asr.redact import RedactionRules
from asr.transcriber import load_model
from asr.worker import decode_file, redact

LAB = Path("/work/shared/asterisk-lab/recordings")
FILES = [f"{call}-{kind}.wav" for call in ("refund-call", "sip-call") for kind in ("customer", "agent", "mixed")]


def bare(model: Any, path: Path) -> None:
    import vosk

    with wave.open(str(path), "rb") as wav:
        recognizer = vosk.KaldiRecognizer(model, wav.getframerate())
        recognizer.SetWords(True)
        while data := wav.readframes(4000):
            if recognizer.AcceptWaveform(data):
                recognizer.Result()
        recognizer.FinalResult()


def pipeline(model: Any, path: Path) -> None:
    utterances, _ = decode_file(model, "customer", path)
    redact(utterances, RedactionRules())


def timed(run: Any, model: Any, files: list[Path], threads: int) -> float:
    started = time.perf_counter()
    if threads == 1:
        for path in files:
            run(model, path)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda p: run(model, p), files))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--lab", type=Path, default=LAB)
    args = parser.parse_args()
    model = load_model(args.model or packaged_model_dir())
    files = [args.lab / name for name in FILES]
    audio_s = 0.0
    for path in files:
        with wave.open(str(path), "rb") as wav:
            audio_s += wav.getnframes() / wav.getframerate()
    bare(model, files[0])  # warm up
    bare_s = timed(bare, model, files, 1)
    pipe_s = timed(pipeline, model, files, 1)
    two_s = timed(pipeline, model, files, 2)
    print(json.dumps({
        "audio_s": round(audio_s, 1),
        "bare_rtf": round(bare_s / audio_s, 4),
        "pipeline_rtf": round(pipe_s / audio_s, 4),
        "overhead": round(pipe_s / bare_s - 1, 4),
        "speedup_2_workers": round(pipe_s / two_s, 3),
        "files": len(files),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
