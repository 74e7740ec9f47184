"""Checking and decoding arguments: refs, ranges and opaque cursors."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from catalog.errors import InvalidRefError
from catalog.refs import EntityRef, parse_ref
from schema.errors import UserInputError

MAX_PAGE = 100
MAX_DEPTH = 20


def parse_input_ref(value: str, argument: str, default_kind: str | None = None) -> EntityRef:
    try:
        return parse_ref(value, default_kind=default_kind)
    except InvalidRefError as exc:
        raise UserInputError(
            f"{argument}: {exc.reason}; write refs as kind:namespace/name, "
            "e.g. component:default/payments"
        ) from None


def check_range(value: int, argument: str, low: int, high: int) -> None:
    if not low <= value <= high:
        raise UserInputError(f"{argument} must be between {low} and {high}, got {value}")


def page_size(first: int | None, default: int = 25) -> int:
    size = default if first is None else first
    check_range(size, "first", 1, MAX_PAGE)
    return size


def encode_cursor(kind: str, *parts: Any) -> str:
    """An opaque cursor: which listing it belongs to and the position in it."""
    return base64.urlsafe_b64encode(orjson.dumps([kind, *parts])).decode()


def decode_cursor(cursor: str, kind: str) -> list[Any]:
    """The position parts of a cursor made by :func:`encode_cursor` for ``kind``."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, orjson.JSONDecodeError):
        decoded = None
    if not isinstance(decoded, list) or not decoded or decoded[0] != kind:
        raise UserInputError(
            f"invalid cursor {cursor!r}: pass an endCursor or cursor from an earlier page "
            "of the same list, with the same orderBy"
        )
    return decoded[1:]
