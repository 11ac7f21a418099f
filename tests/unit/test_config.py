"""Tests for server.config: layer precedence, env parsing, and clear errors for bad keys and types."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from server.config import ConfigError, Settings, load_settings


def write_yaml(tmp_path: Path, text: str) -> Path:
    """Write ``text`` to a YAML file under ``tmp_path`` and return its path."""
    path = tmp_path / "heron.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    """With no file, env or overrides every setting has its documented default."""
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.service.host == "127.0.0.1"
    assert settings.service.port == 6333
    assert settings.service.grpc_port == 6334
    assert settings.service.api_key is None
    assert settings.service.read_only_api_key is None
    assert settings.service.max_request_size_mb == 32
    assert settings.service.max_request_size_bytes == 32 * 1024 * 1024
    assert settings.service.log_level == "INFO"
    assert settings.service.log_level_number == logging.INFO
    assert settings.storage.path == Path("./storage")
    assert settings.storage.flush_interval_sec == 5.0
    assert settings.storage.max_points_per_segment is None  # the collections shape segments
    assert settings.limits.max_limit == 100000
    assert settings.limits.max_batch_points == 100000
    assert settings.limits.max_prefetch_depth == 8
    assert settings.limits.max_prefetches == 64
    assert settings.limits.mailbox_size == 1024


def test_precedence_defaults_file_env_overrides(tmp_path: Path) -> None:
    """Each layer overrides the previous one key by key; untouched keys keep lower layers' values."""
    config = write_yaml(
        tmp_path,
        "service:\n  host: 0.0.0.0\n  port: 7000\n  log_level: debug\n"
        "storage:\n  path: /from/file\n  flush_interval_sec: 1.5\n",
    )
    env = {"HERON__SERVICE__PORT": "7001", "HERON__STORAGE__PATH": "/from/env"}
    overrides = {"storage": {"path": Path("/from/cli")}}

    settings = load_settings(config_file=config, env=env, overrides=overrides)

    assert settings.service.host == "0.0.0.0"  # file only
    assert settings.service.port == 7001  # env beats file
    assert settings.service.log_level == "DEBUG"  # file only, normalised
    assert settings.storage.path == Path("/from/cli")  # override beats env and file
    assert settings.storage.flush_interval_sec == 1.5  # file only
    assert settings.limits.max_limit == 100000  # default


def test_overrides_merge_per_section_not_replace(tmp_path: Path) -> None:
    """An override of one key leaves the section's other keys from lower layers intact."""
    config = write_yaml(tmp_path, "service:\n  host: 10.0.0.1\n  port: 7000\n")
    settings = load_settings(config_file=config, env={}, overrides={"service": {"port": 9000}})
    assert settings.service.host == "10.0.0.1"
    assert settings.service.port == 9000


def test_env_values_are_parsed_from_strings() -> None:
    """Strings from the environment become ints, floats, paths and optional strings."""
    env = {
        "HERON__SERVICE__PORT": "7000",
        "HERON__SERVICE__API_KEY": "secret",
        "HERON__SERVICE__READ_ONLY_API_KEY": "",
        "HERON__STORAGE__PATH": "/x",
        "HERON__STORAGE__FLUSH_INTERVAL_SEC": "0.25",
        "HERON__LIMITS__MAILBOX_SIZE": "16",
        "heron__limits__max_limit": "10",
        "HERON_UNRELATED": "ignored",
        "PATH": "/usr/bin",
    }
    settings = load_settings(env=env)
    assert settings.service.port == 7000
    assert settings.service.api_key == "secret"
    assert settings.service.read_only_api_key is None
    assert settings.storage.path == Path("/x")
    assert settings.storage.flush_interval_sec == 0.25
    assert settings.limits.mailbox_size == 16
    assert settings.limits.max_limit == 10


@pytest.mark.parametrize("value", ["", "null", "None"])
def test_grpc_port_null_disables_grpc(value: str, tmp_path: Path) -> None:
    """``grpc_port: null`` in YAML, or an empty / null env value or flag, turns gRPC off."""
    assert load_settings(env={"HERON__SERVICE__GRPC_PORT": value}).service.grpc_port is None
    assert load_settings(overrides={"service": {"grpc_port": value}}, env={}).service.grpc_port is None
    config = write_yaml(tmp_path, "service:\n  grpc_port: null\n")
    assert load_settings(config_file=config, env={}).service.grpc_port is None
    assert load_settings(env={"HERON__SERVICE__GRPC_PORT": "7334"}).service.grpc_port == 7334


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit env mapping the process environment is read."""
    monkeypatch.setenv("HERON__SERVICE__PORT", "7123")
    assert load_settings().service.port == 7123


def test_empty_and_null_yaml(tmp_path: Path) -> None:
    """An empty file or an empty section is the same as leaving it out."""
    assert load_settings(config_file=write_yaml(tmp_path, ""), env={}) == Settings()
    assert load_settings(config_file=write_yaml(tmp_path, "service:\n"), env={}) == Settings()


def test_user_home_is_expanded() -> None:
    """A ``~`` in the storage path is expanded."""
    settings = load_settings(env={"HERON__STORAGE__PATH": "~/heron-data"})
    assert settings.storage.path == Path("~/heron-data").expanduser()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("servce:\n  port: 1\n", "unknown section 'servce'"),
        ("service:\n  prot: 1\n", "unknown key 'prot' in section 'service'"),
        ("service: 7000\n", "section 'service' must be a mapping"),
        ("- service\n", "expected a mapping of sections"),
        ("service: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_yaml_contents(tmp_path: Path, text: str, message: str) -> None:
    """Structural mistakes in the file are ConfigErrors naming the file and the problem."""
    path = write_yaml(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(config_file=path, env={})
    assert str(path) in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    """A config file that does not exist is a ConfigError, not an OSError."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(config_file=tmp_path / "nope.yaml", env={})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("HERON__SERVCE__PORT", "unknown section 'servce'"),
        ("HERON__SERVICE__PROT", "unknown key 'prot' in section 'service'"),
        ("HERON__SERVICE", "expected the form HERON__SECTION__KEY"),
        ("HERON__SERVICE__PORT__X", "expected the form HERON__SECTION__KEY"),
    ],
)
def test_bad_env_names(name: str, message: str) -> None:
    """Env vars with our prefix must name a real section and key."""
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(env={name: "1"})
    assert name in str(info.value)


def test_bad_override_keys() -> None:
    """Overrides are checked like the other layers."""
    with pytest.raises(ConfigError, match="unknown key 'bogus'"):
        load_settings(env={}, overrides={"limits": {"bogus": 1}})
    with pytest.raises(ConfigError, match="unknown section 'nope'"):
        load_settings(env={}, overrides={"nope": {}})


def test_bad_type_from_env_names_the_variable() -> None:
    """A value pydantic cannot parse is reported with its field and the variable that set it."""
    with pytest.raises(ConfigError) as info:
        load_settings(env={"HERON__SERVICE__PORT": "seven"})
    text = str(info.value)
    assert "service.port" in text
    assert "'seven'" in text
    assert "HERON__SERVICE__PORT" in text


def test_bad_type_from_file_names_the_file(tmp_path: Path) -> None:
    """A wrongly typed YAML value is reported with its field and the file."""
    path = write_yaml(tmp_path, "storage:\n  flush_interval_sec: often\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=path, env={})
    assert "storage.flush_interval_sec" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"service": {"port": 70000}},
        {"service": {"port": -1}},
        {"service": {"log_level": "LOUD"}},
        {"service": {"max_request_size_mb": 0}},
        {"storage": {"flush_interval_sec": 0}},
        {"storage": {"max_points_per_segment": 0}},
        {"limits": {"max_limit": 0}},
        {"limits": {"mailbox_size": "lots"}},
    ],
)
def test_out_of_range_values(overrides: dict) -> None:
    """Values outside a setting's range are ConfigErrors too, mentioning the overrides."""
    with pytest.raises(ConfigError, match="from overrides"):
        load_settings(env={}, overrides=overrides)


def test_config_error_is_a_value_error() -> None:
    """Callers that only know ValueError still catch configuration problems."""
    assert issubclass(ConfigError, ValueError)
