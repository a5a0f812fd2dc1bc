"""Speech-to-text throughput of the default engine (Whisper tiny.en, English): the worker's
pipeline against bare model inference on the same audio, and two worker processes against one.

    python benchmarks/asr.py [--state DIR] [--lab DIR] [--beam N]

The audio is the lab's recordings (refund call and SIP call: customer, agent and mixed files).
- bare: the model alone on the speech segments of each file, cut and resampled beforehand
  (log-mel, encoder, beam-search decoder): what any Whisper integration must pay;
- pipeline: what the ASR worker does per file (read and check the WAV, energy/voicing gate,
  resample, decode, words with times and confidences, redact card and phone numbers), one
  process with one torch thread, file after file;
- 2 workers: two worker processes (one torch thread each) sharing the files; their model
  loading is not timed.

Prints JSON: {"audio_s", "bare_rtf", "pipeline_rtf", "overhead", "speedup_2_workers", "files",
"model", "beam"} (rtf = decode seconds per audio second on one core; overhead = pipeline_rtf /
bare_rtf - 1; speedup = one process's time over two processes' time). Goals: overhead <= 0.10,
speedup >= 1.7 on 2 free cores, rtf <= 0.25. The machine may be shared: read the numbers with
its load in mind (printed as "load_1m").
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LAB = Path("/work/shared/asterisk-lab/recordings")
FILES = [f"{call}-{kind}.wav" for call in ("refund-call", "sip-call") for kind in ("customer", "agent", "mixed")]


def load(state: Path, beam: int) -> Any:
    from asr.engines import Spec, load_engine

    return load_engine(Spec("whisper", "tiny.en"), state, beam)


def segments(files: list[Path]) -> list[Any]:
    """The model's input, prepared outside the timing: 16 kHz float segments of every file."""
    import numpy as np

    from asr.audio import read_wav
    from asr.vad import speech_segments
    from asr.whisper import resample

    out = []
    for path in files:
        [audio] = read_wav(path)
        samples = np.frombuffer(audio.pcm, dtype="<i2")
        for s in speech_segments(samples, audio.rate):
            clip = samples[int(s.start * audio.rate):int(s.end * audio.rate)].astype(np.float32) / 32768.0
            out.append(resample(clip, audio.rate))
    return out


def bare(engine: Any, prepared: list[Any]) -> float:
    started = time.perf_counter()
    for clip in prepared:
        engine.model.decode(clip, "en", engine.beam_size)
    return time.perf_counter() - started


def pipeline(engine: Any, files: list[Path]) -> float:
    from asr.redact import RedactionRules, redact
    from asr.worker import decode_file

    started = time.perf_counter()
    for path in files:
        utterances, _, _ = decode_file(engine, "customer", path, "en")
        redact(utterances, RedactionRules())
    return time.perf_counter() - started


def _worker(state: str, beam: int, files: list[str], ready: Any, go: Any, results: Any) -> None:
    engine = load(Path(state), beam)
    pipeline(engine, [Path(files[0])])  # warm up
    ready.release()
    go.wait()
    results.put(pipeline(engine, [Path(f) for f in files]))


def processes(state: Path, beam: int, shares: list[list[Path]]) -> float:
    """Wall time for ``len(shares)`` worker processes to decode their shares (loading excluded)."""
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(state), beam, [str(p) for p in share], ready, go, results))
             for share in shares]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    for _ in procs:
        results.get()
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, default=Path(__file__).resolve().parents[1] / "state")
    parser.add_argument("--lab", type=Path, default=LAB)
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()
    from asr.audio import read_wav

    files = [args.lab / name for name in FILES]
    audio_s = sum(read_wav(p)[0].duration_s for p in files)
    engine = load(args.state, args.beam)
    prepared = segments(files)
    bare(engine, prepared[:1])  # warm up
    # interleaved, twice, so that a burst of load on the shared machine hits both alike
    bare_s = pipe_s = 0.0
    for _ in range(2):
        bare_s += bare(engine, prepared)
        pipe_s += pipeline(engine, files)
    bare_s, pipe_s = bare_s / 2, pipe_s / 2
    work = files * 2
    one_s = processes(args.state, args.beam, [work])
    two_s = processes(args.state, args.beam, [work[0::2], work[1::2]])
    print(json.dumps({
        "model": "whisper-tiny.en", "beam": args.beam,
        "audio_s": round(audio_s, 1),
        "bare_rtf": round(bare_s / audio_s, 4),
        "pipeline_rtf": round(pipe_s / audio_s, 4),
        "overhead": round(pipe_s / bare_s - 1, 4),
        "speedup_2_workers": round(one_s / two_s, 3),
        "files": len(files),
        "load_1m": round(os.getloadavg()[0], 2),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
