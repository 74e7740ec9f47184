"""Query parameters of the catalog REST API, read as Backstage's catalog backend reads them.

- ``filter`` (repeatable): one filter set per parameter, its conditions separated by
  commas. ``key=value`` asks for that value at the dot path ``key``; a bare ``key`` asks
  that the path exists. Within one set the conditions are ANDed, except that the same key
  given several times matches any of its values; the sets are ORed. Keys and values are
  trimmed and match case-insensitively (:class:`graph.port.FieldCondition`).
- ``fields``: comma-separated dot paths to keep of each entity (repeatable).
- ``orderField`` (by-query, repeatable): ``path`` or ``path,asc|desc``.
- ``order`` (``/entities``, repeatable): ``asc:path`` or ``desc:path``.
- ``offset``, ``limit``: non-negative integers.
- ``fullTextFilterTerm`` and ``fullTextFilterFields`` (comma-separated).

Anything malformed raises :class:`~api.catalog.errors.InputError` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.catalog.errors import InputError
from graph.port import MAX_ORDER_FIELDS, FieldCondition, FieldOrder

FilterSets = tuple[tuple[FieldCondition, ...], ...]


def parse_filter(values: Sequence[str]) -> FilterSets:
    """Backstage's ``filter`` parameters as filter sets (an OR of ANDs)."""
    sets: list[tuple[FieldCondition, ...]] = []
    for text in values:
        keys: dict[str, list[str] | None] = {}  # key -> values, None: "exists"
        for statement in text.split(","):
            key, equals, value = statement.partition("=")
            key, value = key.strip(), value.strip()
            if not key:
                if not statement.strip():
                    continue
                raise InputError(
                    f"invalid filter {text!r}: {statement.strip()!r} has no key; "
                    "write key=value or key, separated by commas"
                )
            known = keys.get(key.lower(), [])
            if not equals:
                keys[key.lower()] = None  # exists, whatever values the key also names
            elif known is not None:
                keys[key.lower()] = [*known, value]
        if keys:
            sets.append(
                tuple(FieldCondition(key, tuple(found or ())) for key, found in keys.items())
            )
    return tuple(sets)


def parse_fields(values: Sequence[str]) -> list[str]:
    """``fields`` parameters: the dot paths to keep, in order, each once."""
    paths = [p.strip() for text in values for p in text.split(",")]
    return list(dict.fromkeys(p for p in paths if p))


def _check_order_count(orders: list[FieldOrder], name: str) -> list[FieldOrder]:
    if len(orders) > MAX_ORDER_FIELDS:
        raise InputError(f"at most {MAX_ORDER_FIELDS} {name} parameters, got {len(orders)}")
    return orders


def parse_order_fields(values: Sequence[str]) -> list[FieldOrder]:
    """``orderField`` parameters: ``path`` or ``path,asc`` / ``path,desc``."""
    orders = []
    for text in values:
        path, _, direction = text.partition(",")
        path, direction = path.strip(), direction.strip().lower() or "asc"
        if not path or direction not in ("asc", "desc"):
            raise InputError(
                f"invalid orderField {text!r}: write field,asc or field,desc "
                "(for example metadata.name,asc)"
            )
        orders.append(FieldOrder(path, descending=direction == "desc"))
    return _check_order_count(orders, "orderField")


def parse_order(values: Sequence[str]) -> list[FieldOrder]:
    """``order`` parameters of ``/entities``: ``asc:path`` or ``desc:path``."""
    orders = []
    for text in values:
        direction, _, path = text.partition(":")
        direction, path = direction.strip().lower(), path.strip()
        if not path or direction not in ("asc", "desc"):
            raise InputError(
                f"invalid order {text!r}: write asc:field or desc:field "
                "(for example asc:metadata.name)"
            )
        orders.append(FieldOrder(path, descending=direction == "desc"))
    return _check_order_count(orders, "order")


def parse_count(name: str, value: str | None) -> int | None:
    """A non-negative integer parameter (``offset``, ``limit``), or None when absent."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise InputError(f"invalid {name} {value!r}: give a whole number, 0 or more") from None
    if number < 0:
        raise InputError(f"invalid {name} {value!r}: give a whole number, 0 or more")
    return number
