"""``stagegraph.yaml``: the config file, loaded into the one :class:`Settings` model.

Top-level keys: ``store`` (the store URL), ``auth`` (``tokens``, each with ``name``,
``sha256``, ``role`` and an optional ``scope``: ``sources``, ``namespaces``, ``kinds``;
``anonymousRead``; ``jwt``: ``key``, ``algorithms``, ``audience``, ``issuer``, ``roleClaim``,
``scopeClaim``), ``runRetention``, ``changeRetention``, ``notify`` (outgoing webhooks, see
:mod:`ingestors.notify.config`), ``metrics`` (``auth``), ``worker`` (``port``), ``catalog``
(``rules``: the kinds admitted, see :mod:`catalog.rules`) and ``sources`` (see :mod:`ingestors.contract` and :mod:`ingestors.registry`). Strings may use
``${NAME}`` (or ``${NAME:-default}``) to take a value from the environment, so secrets stay
out of the file; they are never written to the graph or the logs.

Precedence, highest first: command-line flags, ``STAGEGRAPH_*`` environment variables, the
file, the defaults. A bad file is refused with every problem listed as ``file:line: message``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

#: file key path -> Settings field
_KEYS: dict[tuple[str, ...], str] = {
    ("store",): "store",
    ("sources",): "sources",
    ("catalog", "rules"): "catalog_rules",
    ("runRetention",): "run_retention",
    ("changeRetention",): "change_retention",
    ("notify",): "notify",
    ("metrics", "auth"): "metrics_auth",
    ("worker", "port"): "worker_port",
    ("auth", "tokens"): "tokens",
    ("auth", "anonymousRead"): "anonymous_read",
    ("auth", "jwt", "key"): "jwt_key",
    ("auth", "jwt", "algorithms"): "jwt_algorithms",
    ("auth", "jwt", "audience"): "jwt_audience",
    ("auth", "jwt", "issuer"): "jwt_issuer",
    ("auth", "jwt", "roleClaim"): "jwt_role_claim",
    ("auth", "jwt", "scopeClaim"): "jwt_scope_claim",
}
_FIELDS = {field: path for path, field in _KEYS.items()}
_SECTIONS = {path[: i + 1] for path in _KEYS for i in range(len(path) - 1)}

#: values read from the file, for :class:`FileSettingsSource` while settings are built
FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("stagegraph_file", default=None)


class ConfigError(Exception):
    """A config file that cannot be used; ``problems`` are ``file:line: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class FileSettingsSource(PydanticBaseSettingsSource):
    """Settings values from the config file, below the environment in precedence."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        values = FILE_VALUES.get() or {}
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(FILE_VALUES.get() or {})


def _lines(node: yaml.Node, path: tuple[Any, ...], found: dict[tuple[Any, ...], int]) -> None:
    """Record the line of every key path (a key's own line for mapping entries)."""
    found.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, key.value if isinstance(key, yaml.ScalarNode) else str(key))
            found.setdefault(here, key.start_mark.line + 1)
            _lines(value, here, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), found)


def _line_of(lines: Mapping[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), None)


def _interpolate(
    value: Any, path: tuple[Any, ...], environ: Mapping[str, str], missing: list[tuple[Any, ...]]
) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            missing.append((*path, name))
            return ""

        return _VARIABLE.sub(replace, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), environ, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), environ, missing) for i, v in enumerate(value)]
    return value


def read_config(
    path: Path, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[tuple[Any, ...], int], list[str]]:
    """The file's values as Settings field values, the line of every key path, and the
    problems the file has on its own (unknown keys, unset variables); value checks happen
    when the settings are built. Raises :class:`ConfigError` when it is not YAML at all."""
    environ = os.environ if environ is None else environ
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [f"{where}: cannot read the config file: {exc.strerror or exc}"]
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError([f"{where}{line}: YAML error: {exc.problem}"]) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    if data is None:
        return {}, lines, []
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{where}:1: the config file must be a mapping of keys (store, auth, sources)"]
        )
    problems: list[str] = []
    missing: list[tuple[Any, ...]] = []
    data = _interpolate(data, (), environ, missing)
    for gap in missing:
        problems.append(
            f"{where}:{_line_of(lines, gap[:-1])}: ${{{gap[-1]}}} is not set in the environment; "
            f"set it, or write ${{{gap[-1]}:-default}}"
        )
    values: dict[str, Any] = {}

    def walk(mapping: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in mapping.items():
            here = (*prefix, str(key))
            if here in _KEYS:
                values[_KEYS[here]] = value
            elif here in _SECTIONS and isinstance(value, dict):
                walk(value, here)
            elif here in _SECTIONS:
                problems.append(
                    f"{where}:{_line_of(lines, here)}: {'.'.join(here)} must be a mapping"
                )
            else:
                known = sorted(".".join(p) for p in _KEYS if p[:-1] == prefix)
                problems.append(
                    f"{where}:{_line_of(lines, here)}: unknown key {'.'.join(here)}; "
                    f"known here: {', '.join(known)}"
                )

    walk(data, ())
    return values, lines, problems


def describe_errors(
    exc: ValidationError, where: str | None, lines: Mapping[tuple[Any, ...], int]
) -> list[str]:
    """``file:line: path: message`` for every problem of a settings validation."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = str(loc[0]) if loc else ""
        file_path = (*_FIELDS.get(field, (field,)), *loc[1:])
        shown = (
            "".join(
                f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p))
                for i, p in enumerate(file_path)
            )
            or "settings"
        )
        message = error["msg"].removeprefix("Value error, ")
        if not loc:
            problems.append(message)
        elif where is not None and field in _FIELDS:
            line = _line_of(lines, file_path)
            problems.append(f"{where}:{line}: {shown}: {message}")
        else:
            problems.append(f"{shown}: {message}")
    return problems


def build_settings(
    settings_cls: type[BaseSettings],
    config: Path | None,
    overrides: Mapping[str, Any],
) -> BaseSettings:
    """Settings from flags (``overrides``), environment, the config file and defaults."""
    values: dict[str, Any] = {}
    lines: dict[tuple[Any, ...], int] = {}
    problems: list[str] = []
    if config is not None:
        values, lines, problems = read_config(config)
    token = FILE_VALUES.set(values)
    try:
        settings = settings_cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems += describe_errors(exc, str(config) if config else None, lines)
        raise ConfigError(sorted(problems, key=_position)) from None
    finally:
        FILE_VALUES.reset(token)
    if problems:
        raise ConfigError(sorted(problems, key=_position))
    return settings


def _position(problem: str) -> tuple[str, int]:
    """Sort key: file, then line number, for ``file:line: message``."""
    file, _, rest = problem.partition(":")
    line = rest.split(":", 1)[0]
    return file, int(line) if line.isdigit() else 0
