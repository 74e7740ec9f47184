"""Roles and the check resolvers make before doing something a reader may not.

A request carries one role, set by the API from its bearer token (``reader`` for anonymous
reads). Roles are ordered: ``admin`` may do everything a ``writer`` may, a ``writer``
everything a ``reader`` may. Queries need ``reader``; mutations call
``require_role(info, "writer")`` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from schema.errors import UserInputError

if TYPE_CHECKING:
    from schema.context import Info

Role = Literal["reader", "writer", "admin"]
ROLES: tuple[Role, ...] = ("reader", "writer", "admin")


def role_allows(role: Role, needed: Role) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return ROLES.index(role) >= ROLES.index(needed)


class ForbiddenError(UserInputError):
    """The request is authenticated, but its role may not do this."""

    def __init__(self, role: Role, needed: Role) -> None:
        super().__init__(
            f"this operation needs the {needed} role; the request has {role}: "
            f"use a token with the {needed} or admin role",
            code="FORBIDDEN",
        )
        self.role = role
        self.needed = needed


def require_role(info: Info, needed: Role) -> None:
    """Raise a ``FORBIDDEN`` GraphQL error unless the request's role allows ``needed``."""
    role = info.context.role
    if not role_allows(role, needed):
        raise ForbiddenError(role, needed)
