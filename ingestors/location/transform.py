"""The Location entity a registered location stands for, as Backstage makes it: named
``generated-<sha1 of "type:target">``, ``spec: {type, target, presence: required}``, managed
by itself. Entities read from the location have it as their parent (their ancestry). Pure."""

from __future__ import annotations

import hashlib
from typing import Any

LOCATION_TYPE = "url"


def location_ref(target: str, type_: str = LOCATION_TYPE) -> str:
    """``location:default/generated-<sha1>``: the ref of the location's own entity."""
    return f"location:default/{_name(target, type_)}"


def _name(target: str, type_: str) -> str:
    return "generated-" + hashlib.sha1(f"{type_}:{target}".encode()).hexdigest()


def location_entity(target: str, type_: str = LOCATION_TYPE) -> dict[str, Any]:
    """The document of the location's own entity."""
    here = f"{type_}:{target}"
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": _name(target, type_),
            "namespace": "default",
            "annotations": {
                "backstage.io/managed-by-location": here,
                "backstage.io/managed-by-origin-location": here,
            },
        },
        "spec": {"type": type_, "target": target, "presence": "required"},
    }
