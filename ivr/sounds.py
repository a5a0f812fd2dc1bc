"""Which prompts exist, and which file a prompt name plays for a caller's language.

**The language rule.** Flows name prompts without a language: ``welcome``, ``goodbye``,
``digits/5``. For a caller whose language is ``L``, a prompt ``N`` plays ``L/N`` when the
project ships that file (``asterisk-conf/sounds/L/N.wav``, deployed as ``<sounds>/L/N.wav``),
and otherwise the language-neutral name ``N``. Asterisk looks a relative name up as
``<sounds>/<channel language>/N``, then ``<sounds>/N``, then ``<sounds>/en/N``; the channel
language stays Asterisk's default (``en``), so ``N`` is the stock English prompt (the Debian
``asterisk-core-sounds-en-wav`` set) and ``zh/N`` is found at ``<sounds>/zh/N``.

So a Chinese caller hears ``zh/welcome`` when it exists and falls back to English prompts that
have no Chinese recording; the validator warns about such gaps. A prompt exists for Asterisk
when ``en/N``, ``N`` or (for a language) ``L/N`` is in a sound directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SOUND_EXTENSIONS = frozenset({".wav", ".WAV", ".wav16", ".gsm", ".sln", ".sln16", ".ulaw", ".alaw",
                              ".g722", ".g729", ".raw", ".siren7", ".siren14"})
PROJECT_SOUNDS = Path(__file__).resolve().parents[1] / "asterisk-conf" / "sounds"
SYSTEM_SOUNDS = (Path("/usr/share/asterisk/sounds"), Path("/var/lib/asterisk/sounds"))
DEFAULT_LANGUAGE = "en"
_MAX_DEPTH = 4


def default_sound_dirs() -> list[Path]:
    """The project's prompts plus the system's Asterisk sound folders that exist here."""
    return [d for d in (PROJECT_SOUNDS, *SYSTEM_SOUNDS) if d.is_dir()]


@dataclass(frozen=True, slots=True)
class SoundIndex:
    """Sound names (relative path without extension: ``en/hello-world``, ``zh/welcome``) found
    in a set of sound directories."""

    names: frozenset[str]
    dirs: tuple[str, ...] = ()

    @classmethod
    def scan(cls, dirs: Iterable[Path]) -> SoundIndex:
        names: set[str] = set()
        roots = [Path(d) for d in dirs]
        for root in roots:
            names.update(_scan(root))
        return cls(frozenset(names), tuple(str(r) for r in roots))

    @classmethod
    def of(cls, names: Iterable[str]) -> SoundIndex:
        return cls(frozenset(names))

    def playable(self, name: str) -> bool:
        """Would Asterisk (channel language ``en``) find ``name``?"""
        return f"{DEFAULT_LANGUAGE}/{name}" in self.names or name in self.names

    def exists(self, name: str, language: str) -> bool:
        """Does ``name`` play something for a caller of ``language`` (any language's fallback)?"""
        return f"{language}/{name}" in self.names or self.playable(name)

    def translated(self, name: str, language: str) -> bool:
        """Is there a recording of ``name`` in ``language`` itself (or one for every language:
        a file at the top of a sound folder)?"""
        if f"{language}/{name}" in self.names or name in self.names:
            return True
        return language == DEFAULT_LANGUAGE and self.playable(name)


def _scan(root: Path) -> set[str]:
    found: set[str] = set()
    if not root.is_dir():
        return found
    base = len(root.parts)
    for folder, subdirs, files in os.walk(root, followlinks=True):
        depth = len(Path(folder).parts) - base
        if depth >= _MAX_DEPTH:
            subdirs[:] = []
        rel = Path(folder).relative_to(root)
        for file in files:
            stem, ext = os.path.splitext(file)
            if ext in SOUND_EXTENSIONS:
                found.add((rel / stem).as_posix() if rel.parts else stem)
    return found


class PromptResolver:
    """Applies the language rule above. Pure once built: give it the index of the project's
    sound folders (only ``L/N`` variants matter, and those are all the project's own)."""

    def __init__(self, index: SoundIndex) -> None:
        self._names = index.names

    def resolve(self, name: str, language: str) -> str:
        localized = f"{language}/{name}"
        return localized if localized in self._names else name

    def resolve_all(self, names: Sequence[str], language: str) -> tuple[str, ...]:
        return tuple(self.resolve(name, language) for name in names)
