"""Entity refs: ``kind:namespace/name``, parsed with Backstage's defaulting rules.

A ref's kind is always lowercased; namespace and name keep the case they were written in.
Two refs are the same entity when they match case-insensitively (:attr:`EntityRef.key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.errors import InvalidRefError

DEFAULT_NAMESPACE = "default"

_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9A-Z]([a-z0-9A-Z-]{0,61}[a-z0-9A-Z])?$")
_KIND = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,62}$")


def is_valid_name(value: str) -> bool:
    """Backstage's rule for ``metadata.name``: 1–63 of ``[a-zA-Z0-9]`` with ``-_.`` inside."""
    return bool(_NAME.match(value))


def is_valid_namespace(value: str) -> bool:
    """Backstage's rule for ``metadata.namespace``: a DNS label, 1–63 characters."""
    return bool(_NAMESPACE.match(value))


def is_valid_kind(value: str) -> bool:
    return bool(_KIND.match(value))


@dataclass(frozen=True, order=True)
class EntityRef:
    """A parsed ref. ``str(ref)`` is the canonical ``kind:namespace/name`` form."""

    kind: str
    namespace: str
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.kind.lower())

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"

    @property
    def key(self) -> str:
        """The case-insensitive identity used for lookups and uniqueness."""
        return str(self).lower()


def parse_ref(
    text: str,
    *,
    default_kind: str | None = None,
    default_namespace: str = DEFAULT_NAMESPACE,
) -> EntityRef:
    """Parse ``name``, ``kind:name``, ``namespace/name`` or ``kind:namespace/name``.

    Missing parts come from the defaults; a ref with no kind and no ``default_kind``
    (``dependsOn`` entries, for instance) is an error, as in Backstage.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidRefError(str(text), "a ref must be a non-empty string")
    raw = text.strip()
    kind: str | None
    rest: str
    if ":" in raw:
        kind, rest = raw.split(":", 1)
        if not kind:
            raise InvalidRefError(raw, "the kind before ':' is empty; write kind:name or name")
    else:
        kind, rest = None, raw
    if "/" in rest:
        namespace, name = rest.split("/", 1)
    else:
        namespace, name = default_namespace, rest
    kind = kind or default_kind
    if not kind:
        raise InvalidRefError(
            raw, "the kind is missing and this field has no default; write it as kind:name"
        )
    if not is_valid_kind(kind):
        raise InvalidRefError(raw, f"{kind!r} is not a valid kind")
    if not namespace or not is_valid_namespace(namespace):
        raise InvalidRefError(raw, f"{namespace!r} is not a valid namespace")
    if not is_valid_name(name):
        raise InvalidRefError(
            raw, f"{name!r} is not a valid name (1-63 of [a-zA-Z0-9] with -_. inside)"
        )
    return EntityRef(kind, namespace, name)


def ref_key(text: str) -> str:
    """The lookup key of a full ref string (``kind:namespace/name``), parsing it strictly."""
    return parse_ref(text).key
