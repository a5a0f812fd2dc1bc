"""Settings: TOML plus environment, typed and frozen, errors that name the key."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
import structlog

from callcenter.logsetup import bind_call, configure_logging
from callcenter.settings import IvrSettings, SettingsError, require_ami_secret
from callcenter.settings.loader import load_settings

REPO = Path(__file__).resolve().parents[2]


def test_sample_config_loads() -> None:
    settings = load_settings(REPO / "config" / "callcenter.toml", env={})
    assert settings.ami.port == 5038
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.ami.port = 1


def test_the_sample_config_documents_the_ivr_defaults() -> None:
    assert load_settings(REPO / "config" / "callcenter.toml", env={}).ivr == IvrSettings()


def test_ivr_settings_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[ivr]\ninbound_contexts = ["inbound", "vip"]\nlink_retries = 5\n'
                    '[ivr.flows_by_extension]\n"4002" = "hotline"\n')
    ivr = load_settings(path, env={"CALLCENTER_IVR_SURVEY_CONTEXTS": "survey, survey-zh",
                                   "CALLCENTER_IVR_SINK_TIMEOUT_S": "2.5"}).ivr
    assert ivr.inbound_contexts == frozenset({"inbound", "vip"}) and ivr.link_retries == 5
    assert ivr.survey_contexts == frozenset({"survey", "survey-zh"}) and ivr.sink_timeout_s == 2.5
    assert ivr.flows_by_extension == {"4002": "hotline"}


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[ami]\nport = 5038\nsecret = "from-file"\n')
    settings = load_settings(path, env={"CALLCENTER_AMI_PORT": "6000", "CALLCENTER_HTTP_PORT": "9000"})
    assert settings.ami.port == 6000 and settings.http.port == 9000
    assert settings.ami.secret.reveal() == "from-file"


@pytest.mark.parametrize(("text", "env", "key"), [
    ('[ami]\nport = "x"\n', {}, "ami.port"),
    ('[ami]\nport = 70000\n', {}, "ami.port"),
    ('[ami]\nprot = 1\n', {}, "ami.prot"),
    ('[database]\nurl = "mysql://x"\n', {}, "database.url"),
    ('[log]\nlevel = "loud"\n', {}, "log.level"),
    ("", {"CALLCENTER_AMI_PINGINTERVAL": "1"}, "CALLCENTER_AMI_PINGINTERVAL"),
    ("ami = 3\n", {}, "ami"),
    ("not toml [", {}, "--config"),
    ('[ivr]\ncommand_timeout_s = 0\n', {}, "ivr.command_timeout_s"),
    ('[ivr]\ninbound_contexts = [1]\n', {}, "ivr.inbound_contexts"),
    ('[ivr]\nsurvey_contexts = []\n', {}, "ivr.survey_contexts"),
    ('[ivr]\nrecord_dir = "messages"\n', {}, "ivr.record_dir"),
    ("", {"CALLCENTER_IVR_STATE_VARIABLE": "CC IVR"}, "ivr.state_variable"),
    ("", {"CALLCENTER_IVR_LINK_RETRIES": "many"}, "ivr.link_retries"),
])
def test_bad_settings_name_the_key(tmp_path: Path, text: str, env: dict[str, str], key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as info:
        load_settings(path, env=env)
    assert str(info.value).startswith(key)


def test_missing_ami_secret_names_the_key() -> None:
    with pytest.raises(SettingsError, match=r"^ami\.secret: missing"):
        require_ami_secret(load_settings(None, env={}))


def test_secrets_never_show(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("hunter2-ami\n")
    settings = load_settings(None, env={"CALLCENTER_AMI_SECRET_FILE": str(secret_file),
                                        "DATABASE_URL": "postgresql://u:hunter2-db@h/db"})
    assert settings.ami.secret.reveal() == "hunter2-ami"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={"DATABASE_URL": "mysql://u:hunter2-db@h/db"})
    assert "hunter2" not in str(info.value)


async def test_log_lines_are_json_with_call_id_per_task_and_no_secrets() -> None:
    import asyncio

    out = io.StringIO()
    configure_logging("info", out)
    log = structlog.get_logger()

    async def call(call_id: str) -> None:
        bind_call(call_id)
        await asyncio.sleep(0)
        log.info("step", secret="s3", digits="4111 1111 1111 1111")

    await asyncio.gather(asyncio.create_task(call("a")), asyncio.create_task(call("b")))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted(line["call_id"] for line in lines) == ["a", "b"]
    assert all(line["secret"] == "********" for line in lines)
    assert all("4111" not in line["digits"] for line in lines)


def test_other_tools_environment_keys_are_not_settings() -> None:
    env = {"CALLCENTER_TEST_DATABASE_URL": "postgresql://postgres@127.0.0.1/postgres",
           "CALLCENTER_ASTERISK_LAB": "/work/shared/asterisk-lab", "CALLCENTER_SKIP_MODEL_BUILD": "1",
           "CALLCENTER_AMI_PORT": "6000"}
    settings = load_settings(None, env=env)
    assert settings.ami.port == 6000
    assert settings.database.url.reveal() == ""


@pytest.mark.parametrize("name", ["CALLCENTER_AMI_PROT", "CALLCENTER_AMII_PORT", "CALLCENTER_HTPP_PORT",
                                  "CALLCENTER_STATE_DIRR"])
def test_misspelt_settings_in_the_environment_are_still_refused(name: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={name: "1"})
    assert str(info.value).startswith(name)


@pytest.mark.parametrize(("key", "masked"), [
    ("secret", True), ("ami_secret", True), ("csrf_token", True), ("password_hash", True),
    ("cardNumber", True), ("card_number", True), ("http_token", True), ("Authorization", True),
    ("session_cookie", True), ("pan", True),
    ("scorecards", False), ("scorecard", False), ("span", False), ("tokens_per_s", False),
    ("caller_id", False), ("discard_reason", False), ("company", False),
])
def test_secret_fields_are_found_by_whole_words(key: str, masked: bool) -> None:
    out = io.StringIO()
    configure_logging("info", out)
    structlog.get_logger().info("step", **{key: "value"})
    line = json.loads(out.getvalue())
    assert (line[key] == "********") is masked
