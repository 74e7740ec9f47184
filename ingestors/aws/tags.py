"""AWS tags, as the catalog reads them: labels, and the refs the role tags name.

Services spell tags three ways (``[{"Key", "Value"}]``, ``[{"key", "value"}]``, a plain
mapping); :func:`normalize` reads all three. A role tag (owner, component, system,
environment; keys from ``tagKeys``) holds a ref written with Backstage's defaults:
``payments`` under ``component`` is ``component:default/payments``, ``team-a`` under
``owner`` is ``group:default/team-a``; a full ref (``user:default/jane``) is taken as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import orjson

from catalog.delivery import environment_name
from catalog.refs import parse_ref

_LABEL_KEY = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$")
_LIST = re.compile(r"[,\s]+")

Tags = dict[str, str]


def normalize(raw: object) -> Tags:
    """Tags from any of the shapes AWS APIs return them in (or none)."""
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    tags: Tags = {}
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            key = item.get("Key", item.get("key"))
            value = item.get("Value", item.get("value", ""))
            if isinstance(key, str):
                tags[key] = "" if value is None else str(value)
    return tags


def pick(tags: Tags, keys: Sequence[str]) -> tuple[str, str] | None:
    """The first of ``keys`` present with a value (case-insensitive): (tag key, value)."""
    lowered = {k.lower(): (k, v.strip()) for k, v in tags.items()}
    for key in keys:
        found = lowered.get(key.lower())
        if found is not None and found[1]:
            return found
    return None


def labels(tags: Tags) -> dict[str, str]:
    """The tags that are valid labels (key and value both 1-63 of [a-zA-Z0-9] with -_.)."""
    return {
        k: v
        for k, v in sorted(tags.items())
        if _LABEL_KEY.match(k) and (not v or _LABEL_KEY.match(v))
    }


def as_annotation(tags: Tags) -> str:
    """Every tag, as sorted JSON: what could not be a label is still there."""
    return orjson.dumps(dict(sorted(tags.items()))).decode()


def _ref(value: str, kind: str) -> str:
    return str(parse_ref(value, default_kind=kind, default_namespace="default"))


def owner_ref(value: str) -> str:
    """``team-a`` -> ``group:default/team-a``; raises InvalidRefError."""
    return _ref(value, "group")


def system_ref(value: str) -> str:
    return _ref(value, "system")


def component_refs(value: str) -> list[str]:
    """One component, or several separated by commas or spaces."""
    return [_ref(part, "component") for part in _LIST.split(value) if part]


def environment_ref(value: str) -> str:
    """``Production`` -> ``environment:default/production`` (shared environment names)."""
    if ":" in value or "/" in value:
        return _ref(value, "environment")
    return f"environment:default/{environment_name(value)}"
