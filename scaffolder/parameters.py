"""Checking the values of a template run against its parameters, before anything runs.

Every page of ``spec.parameters`` is a JSON Schema (draft 7, as Backstage's front end uses)
validated against the whole set of values; every problem is reported, each under the field it
concerns (``name``, ``service.port``; a missing required field under its own name). Defaults
of top-level properties fill values not given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

from scaffolder.errors import ParameterError, TemplateError

_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")


def with_defaults(pages: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` plus the ``default`` of every top-level property not given."""
    filled = dict(values)
    for page in pages:
        for name, prop in (page.get("properties") or {}).items():
            if name not in filled and isinstance(prop, Mapping) and "default" in prop:
                filled[name] = prop["default"]
    return filled


def _field(path: Sequence[Any], message: str, validator: str) -> str:
    parts = [str(p) for p in path]
    if validator == "required" and (found := _REQUIRED.match(message)):
        parts.append(found["name"])
    return ".".join(parts) or "(values)"


def validate_values(
    pages: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The values with defaults applied; :class:`ParameterError` listing every problem."""
    if not isinstance(values, Mapping):
        raise ParameterError([("(values)", "the values must be an object of field: value")])
    filled = with_defaults(pages, values)
    problems: list[tuple[str, str]] = []
    for index, page in enumerate(pages):
        schema = {key: item for key, item in page.items() if not key.startswith("ui:")}
        schema.setdefault("type", "object")
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as exc:
            raise TemplateError(
                f"parameters page {index + 1} is not a valid JSON Schema: {exc.message}"
            ) from None
        for error in sorted(
            Draft7Validator(schema).iter_errors(filled),
            key=lambda e: list(map(str, e.absolute_path)),
        ):
            problems.append(
                (_field(error.absolute_path, error.message, str(error.validator)), error.message)
            )
    if problems:
        raise ParameterError(problems)
    return filled
