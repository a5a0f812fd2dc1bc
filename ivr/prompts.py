"""The project's own prompts: a text catalogue (``config/ivr/prompts.yaml``) spoken by espeak-ng.

``python -m ivr.prompts`` regenerates ``asterisk-conf/sounds/<lang>/<name>.wav`` for every entry
(8 kHz, 16-bit, mono: what Asterisk plays without transcoding), trimming leading and trailing
silence. ``--check`` only verifies that every entry has its file in the right format (no
espeak-ng needed). Needs the Debian packages ``espeak-ng`` and ``sox``.

Catalogue format::

    kind: prompts
    voices: {en: en-us, zh: cmn}      # espeak-ng voice per language
    speed: {en: 165, zh: 150}         # words per minute (optional)
    prompts:
      welcome:
        en: Thank you for calling Happy Shop after-sales service.
        zh: 感谢致电快乐商城售后服务。
      digits/month-suffix:
        zh: 月                         # an entry may exist in one language only
      choose-language:
        neutral:                      # one file for every caller: <sounds>/choose-language.wav
          - [en, For English, press 1.]
          - [zh, 中文服务，请按2。]

The language rule that picks ``zh/welcome`` or ``welcome`` at run time is in :mod:`ivr.sounds`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivr.errors import Problem
from ivr.fields import PROMPT_NAME
from ivr.loader import read_yaml
from ivr.sounds import PROJECT_SOUNDS, SoundIndex

DEFAULT_CATALOGUE = Path(__file__).resolve().parents[1] / "config" / "ivr" / "prompts.yaml"
RATE = 8000
DEFAULT_VOICES = {"en": "en-us", "zh": "cmn"}
_TRIM = ["silence", "1", "0.02", "0.3%", "reverse", "silence", "1", "0.02", "0.3%", "reverse",
         "pad", "0.05", "0.15"]


NEUTRAL = "neutral"
Parts = tuple[tuple[str, str], ...]  # (language of the voice, text)


@dataclass(frozen=True, slots=True)
class Catalogue:
    source: str
    voices: dict[str, str]
    speed: dict[str, int]
    texts: dict[str, dict[str, Parts]] = field(default_factory=dict)  # name -> language -> parts

    def files(self) -> list[tuple[str, str, Parts]]:
        """(language, name, parts) for every recording the catalogue defines."""
        return [(lang, name, parts) for name, by_lang in sorted(self.texts.items())
                for lang, parts in sorted(by_lang.items())]


def recording_path(out_dir: Path, language: str, name: str) -> Path:
    """``<out>/<lang>/<name>.wav``; a neutral recording sits at ``<out>/<name>.wav``."""
    return (out_dir if language == NEUTRAL else out_dir / language) / f"{name}.wav"


def sound_name(language: str, name: str) -> str:
    return name if language == NEUTRAL else f"{language}/{name}"


def _parts(lang: str, text: object, voices: dict[str, str]) -> Parts | str:
    """The parts of one entry, or why it is wrong."""
    if lang != NEUTRAL:
        if lang not in voices:
            return f"no espeak-ng voice for {lang!r} (add it under voices)"
        if not isinstance(text, str) or not text.strip():
            return "must be a non-empty text"
        return ((lang, text.strip()),)
    if not isinstance(text, list) or not text:
        return "a neutral recording is a list of [language, text] parts"
    parts = []
    for part in text:
        if not (isinstance(part, list) and len(part) == 2 and all(isinstance(x, str) for x in part)
                and part[0] in voices and part[1].strip()):
            return f"{part!r} is not a [language, text] part with a known voice"
        parts.append((part[0], part[1].strip()))
    return tuple(parts)


def parse_catalogue(path: Path) -> tuple[Catalogue | None, list[Problem]]:
    data, problems = read_yaml(path)
    if problems:
        return None, problems
    source = str(path)
    out: list[Problem] = []
    if not isinstance(data, dict) or data.get("kind") != "prompts":
        return None, [Problem(source, "", "kind", "a prompt catalogue starts with 'kind: prompts'")]
    for key in sorted(set(data) - {"kind", "voices", "speed", "prompts", "description"}):
        out.append(Problem(source, "", key, "unknown field (kind, voices, speed, prompts)"))
    voices = {**DEFAULT_VOICES, **(data.get("voices") or {})}
    speed = {str(k): int(v) for k, v in (data.get("speed") or {}).items()}
    entries = data.get("prompts")
    if not isinstance(entries, dict) or not entries:
        return None, [*out, Problem(source, "", "prompts", "missing or empty")]
    texts: dict[str, dict[str, Parts]] = {}
    for name, by_lang in entries.items():
        key = str(name)
        if not PROMPT_NAME.match(key):
            out.append(Problem(source, key, "", "not a prompt name"))
            continue
        if not isinstance(by_lang, dict) or not by_lang:
            out.append(Problem(source, key, "", "must map languages to texts: {en: …, zh: …}"))
            continue
        texts[key] = {}
        for lang, text in by_lang.items():
            parts = _parts(str(lang), text, voices)
            if isinstance(parts, str):
                out.append(Problem(source, key, str(lang), parts))
            else:
                texts[key][str(lang)] = parts
    return Catalogue(source, voices, speed, texts), out


def check_catalogue(path: Path, sounds: SoundIndex | None = None,
                    out_dir: Path = PROJECT_SOUNDS) -> list[Problem]:
    """Catalogue problems plus entries whose recording is missing (regenerate with
    ``python -m ivr.prompts``)."""
    catalogue, problems = parse_catalogue(path)
    if catalogue is None:
        return problems
    for lang, name, _ in catalogue.files():
        present = (sound_name(lang, name) in sounds.names) if sounds is not None else \
            recording_path(out_dir, lang, name).is_file()
        if not present:
            problems.append(Problem(str(path), name, lang, f"no recording {sound_name(lang, name)}.wav:"
                                    " run python -m ivr.prompts"))
    return problems


def wav_problem(path: Path) -> str | None:
    """Why a generated prompt is not 8 kHz 16-bit mono PCM WAV, or None."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (RATE, 2, 1):
                return (f"{wav.getframerate()} Hz, {8 * wav.getsampwidth()}-bit, "
                        f"{wav.getnchannels()} channel(s); want 8000 Hz 16-bit mono")
            if wav.getnframes() == 0:
                return "empty"
    except (OSError, EOFError, wave.Error) as exc:
        return f"not a PCM WAV file: {exc}"
    return None


def synthesize(parts: Parts, catalogue: Catalogue, target: Path) -> None:
    """Speak ``parts`` (each in its language's voice) into ``target`` (8 kHz 16-bit mono WAV).

    Raises:
        RuntimeError: espeak-ng or sox is missing or failed.
    """
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (Debian: apt-get install espeak-ng sox)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pieces = []
        for index, (lang, text) in enumerate(parts):
            raw = Path(tmp) / f"part{index}.wav"
            speak = ["espeak-ng", "-v", catalogue.voices[lang], "-w", str(raw)]
            if catalogue.speed.get(lang):
                speak += ["-s", str(catalogue.speed[lang])]
            _run([*speak, text])
            pieces.append(str(raw))
        # -D: no dither, so the same text always gives the same bytes
        _run(["sox", "-D", *pieces, "-r", str(RATE), "-b", "16", "-c", "1", "-e", "signed-integer",
              str(target), *_TRIM])


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[:300]}")


def generate(catalogue: Catalogue, out_dir: Path, only: Sequence[str] = ()) -> list[Path]:
    written = []
    for lang, name, parts in catalogue.files():
        if only and name not in only:
            continue
        target = recording_path(out_dir, lang, name)
        synthesize(parts, catalogue, target)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.prompts", description=__doc__.split("\n")[0])
    parser.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE)
    parser.add_argument("--out", type=Path, default=PROJECT_SOUNDS, help="sound folder (<lang>/<name>.wav)")
    parser.add_argument("--only", nargs="*", default=[], help="regenerate only these prompt names")
    parser.add_argument("--check", action="store_true", help="verify the recordings, generate nothing")
    args = parser.parse_args(argv)
    catalogue, problems = parse_catalogue(args.catalogue)
    for problem in problems:
        print(problem, file=sys.stderr)
    if catalogue is None or any(p.is_error for p in problems):
        return 1
    if args.check:
        bad = 0
        for lang, name, _ in catalogue.files():
            path = recording_path(args.out, lang, name)
            why = "missing" if not path.is_file() else wav_problem(path)
            if why:
                bad += 1
                print(f"{path}: {why}", file=sys.stderr)
        print(f"{len(catalogue.files()) - bad} prompts ok, {bad} bad")
        return 1 if bad else 0
    try:
        written = generate(catalogue, args.out, args.only)
    except RuntimeError as exc:
        print(f"ivr.prompts: {exc}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} prompts ({size / 1024:.0f} KiB) under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
