"""Heron's server settings in one typed place: defaults < YAML file < environment < CLI overrides.

Every layer is a nested ``{section: {key: value}}`` mapping; the layers are merged per section and
validated once by pydantic, so a bad value is reported with the layer that supplied it.
Environment variables look like ``HERON__SERVICE__PORT=7000`` (section and key are case-insensitive;
their string values are parsed by pydantic, and an empty value means "unset" for optional keys).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "HERON__"
"""Prefix of the environment variables that configure heron (``HERON__SECTION__KEY``)."""

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(ValueError):
    """Raised when the configuration cannot be read or does not validate."""


class _Section(BaseModel):
    """Base for settings sections: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class ServiceSettings(_Section):
    """How the HTTP and gRPC services listen, authenticate and log (``grpc_port: null`` = no gRPC)."""

    host: str = "127.0.0.1"
    port: int = Field(6333, ge=0, le=65535)
    grpc_port: int | None = Field(6334, ge=0, le=65535)
    api_key: str | None = None
    read_only_api_key: str | None = None
    max_request_size_mb: int = Field(32, ge=1)
    log_level: str = "INFO"
    access_log: bool = True
    """One INFO line per request on the ``heron.access`` logger (method, path, status, ms)."""

    @field_validator("grpc_port", mode="before")
    @classmethod
    def _null_port_disables(cls, value: Any) -> Any:
        """``null`` (or an empty or ``none`` environment value) turns the gRPC service off."""
        return None if isinstance(value, str) and value.strip().lower() in ("", "null", "none") else value

    @field_validator("api_key", "read_only_api_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, value: Any) -> Any:
        """Treat an empty key (e.g. ``HERON__SERVICE__API_KEY=``) as no key, not as ``""``."""
        return None if value == "" else value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        """Normalise the level name to upper case and reject names logging does not know."""
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @property
    def max_request_size_bytes(self) -> int:
        """The request body limit in bytes, as HTTP layers want it."""
        return self.max_request_size_mb * 1024 * 1024

    @property
    def log_level_number(self) -> int:
        """The numeric ``logging`` level for ``log_level``."""
        return logging.getLevelNamesMapping()[self.log_level]


class StorageSettings(_Section):
    """Where collections live on disk and how often in-memory state is made durable in segments."""

    path: Path = Path("./storage")
    flush_interval_sec: float = Field(5.0, gt=0)
    max_points_per_segment: int | None = Field(None, ge=1)
    """A hard limit of points per segment, written or merged; unset, a collection's
    ``optimizers_config`` (``max_segment_size``, ``default_segment_number``) shapes them."""

    @field_validator("path")
    @classmethod
    def _expand_user(cls, value: Path) -> Path:
        """Expand ``~`` so configs and env vars may use home-relative paths."""
        return value.expanduser()


class LimitsSettings(_Section):
    """Upper bounds on what one request may ask for, protecting the server from runaway queries."""

    max_limit: int = Field(100000, ge=1)
    max_batch_points: int = Field(100000, ge=1)
    max_prefetch_depth: int = Field(8, ge=0)
    max_prefetches: int = Field(64, ge=0)
    mailbox_size: int = Field(1024, ge=1)
    mailbox_wait_sec: float = Field(10.0, gt=0)


class Settings(_Section):
    """The root of all server settings; ``Settings()`` is the all-defaults configuration."""

    service: ServiceSettings = Field(default_factory=ServiceSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)


_SECTIONS: dict[str, type[_Section]] = {
    "service": ServiceSettings,
    "storage": StorageSettings,
    "limits": LimitsSettings,
}


def _known(section: str, key: str | None = None) -> str | None:
    """Return an error text if ``section`` (and ``key``) is not a setting, else ``None``."""
    if section not in _SECTIONS:
        return f"unknown section {section!r} (known: {', '.join(_SECTIONS)})"
    if key is not None and key not in _SECTIONS[section].model_fields:
        known = ", ".join(_SECTIONS[section].model_fields)
        return f"unknown key {key!r} in section {section!r} (known: {known})"
    return None


def _layer_from_mapping(data: Any, source: str) -> dict[str, dict[str, Any]]:
    """Check a nested ``{section: {key: value}}`` mapping from ``source`` and copy it."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    layer: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if not isinstance(section, str) or (problem := _known(section)):
            raise ConfigError(f"{source}: {problem or f'section name {section!r} is not a string'}")
        if values is None:
            continue
        if isinstance(values, BaseModel):
            values = values.model_dump(exclude_unset=True)
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"{source}: section {section!r} must be a mapping, got {type(values).__name__}"
            )
        for key in values:
            if not isinstance(key, str) or (problem := _known(section, key)):
                raise ConfigError(f"{source}: {problem or f'key {key!r} is not a string'}")
        layer[section] = dict(values)
    return layer


def _layer_from_file(path: Path) -> dict[str, dict[str, Any]]:
    """Read a YAML config file into a layer."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
    return _layer_from_mapping(data, f"config file {str(path)!r}")


def _layer_from_env(
    env: Mapping[str, str],
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], str]]:
    """Collect ``HERON__SECTION__KEY`` variables into a layer, remembering each variable's name."""
    layer: dict[str, dict[str, Any]] = {}
    names: dict[tuple[str, str], str] = {}
    for name, value in env.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].split("__")
        if len(parts) != 2 or not all(parts):
            raise ConfigError(
                f"environment variable {name}: expected the form {ENV_PREFIX}SECTION__KEY"
            )
        section, key = parts[0].lower(), parts[1].lower()
        if problem := _known(section, key):
            raise ConfigError(f"environment variable {name}: {problem}")
        layer.setdefault(section, {})[key] = value
        names[(section, key)] = f"environment variable {name}"
    return layer, names


def _describe_errors(error: ValidationError, provenance: Mapping[tuple[str, str], str]) -> str:
    """Turn a pydantic error into one readable line per problem, naming where the value came from."""
    lines = []
    for item in error.errors(include_url=False):
        loc = tuple(str(part) for part in item["loc"])
        where = ".".join(loc) or "settings"
        source = provenance.get(loc[:2]) if len(loc) >= 2 else None
        suffix = f" (from {source})" if source else ""
        lines.append(f"{where}: {item['msg']}, got {item.get('input')!r}{suffix}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def load_settings(
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build ``Settings`` from defaults, a YAML file, ``HERON__*`` env vars and explicit overrides.

    Later layers win key by key within a section. ``env`` defaults to ``os.environ``; pass ``{}``
    to ignore the environment. ``overrides`` is a nested ``{section: {key: value}}`` dict (the CLI
    passes only the flags that were given). Raises ``ConfigError`` on unreadable files, unknown
    sections or keys, and values that fail validation.
    """
    merged: dict[str, dict[str, Any]] = {}
    provenance: dict[tuple[str, str], str] = {}

    def apply(
        layer: Mapping[str, Mapping[str, Any]], names: Mapping[tuple[str, str], str] | str
    ) -> None:
        """Merge ``layer`` over what is there, recording where each value came from."""
        for section, values in layer.items():
            target = merged.setdefault(section, {})
            for key, value in values.items():
                target[key] = value
                provenance[(section, key)] = (
                    names if isinstance(names, str) else names[(section, key)]
                )

    if config_file is not None:
        apply(_layer_from_file(config_file), f"config file {str(config_file)!r}")
    env_layer, env_names = _layer_from_env(os.environ if env is None else env)
    apply(env_layer, env_names)
    if overrides:
        apply(_layer_from_mapping(overrides, "overrides"), "overrides")

    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(exc, provenance)) from None
