"""Roles, write scopes, and the checks resolvers make before doing something a reader may not.

A request carries one role, set by the API from its bearer token (``reader`` for anonymous
reads). Roles are ordered: ``admin`` may do everything a ``writer`` may, a ``writer``
everything a ``reader`` may. Queries need ``reader``; mutations call
``require_role(info, "writer")`` first.

A token may also carry a :class:`WriteScope`: the sources, namespaces and kinds its pushes
(``upsertEntities``, ``deleteEntities``) may touch; a dimension it leaves out is open.
``require_scope(info, source)`` checks the source and returns the check for each ref.
Every refusal names the token, the rule that refused and the offending value, e.g.
``token 'deploy-bot' may not write kind 'group': auth.tokens[deploy-bot].scope.kinds
allows only api, component``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from catalog.refs import EntityRef
from ingestors.push import RefCheck
from schema.errors import UserInputError

if TYPE_CHECKING:
    from schema.context import Info

Role = Literal["reader", "writer", "admin"]
ROLES: tuple[Role, ...] = ("reader", "writer", "admin")


def role_allows(role: Role, needed: Role) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class WriteScope:
    """Where a token's pushes may write. ``None`` for a dimension: anything.

    ``rule`` names where the scope was configured, so refusals can say which rule refused
    (``auth.tokens[ci].scope`` for a static token, ``JWT claim stagegraph_scope`` for a JWT).
    Namespaces and kinds are compared case-insensitively (store them lowercase), source
    names exactly.
    """

    rule: str
    sources: frozenset[str] | None = None
    namespaces: frozenset[str] | None = None
    kinds: frozenset[str] | None = None

    def source_refusal(self, holder: str, source: str) -> str | None:
        return _refusal(holder, "to source", source, self.sources, f"{self.rule}.sources")

    def ref_refusal(self, holder: str, ref: EntityRef) -> str | None:
        kind = _refusal(holder, "kind", ref.kind.lower(), self.kinds, f"{self.rule}.kinds")
        if kind is not None:
            return kind
        namespace = ref.namespace.lower()
        rule = f"{self.rule}.namespaces"
        return _refusal(holder, "in namespace", namespace, self.namespaces, rule)


def _refusal(
    holder: str, what: str, value: str, allowed: frozenset[str] | None, rule: str
) -> str | None:
    if allowed is None or value in allowed:
        return None
    return (
        f"token {holder!r} may not write {what} {value!r}: {rule} allows only "
        f"{', '.join(sorted(allowed))}"
    )


class ForbiddenError(UserInputError):
    """The request is authenticated, but its role or scope may not do this."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="FORBIDDEN")


class RoleError(ForbiddenError):
    """The request's role is below the one the operation needs."""

    def __init__(self, role: Role, needed: Role, holder: str) -> None:
        super().__init__(
            f"this operation needs the {needed} role; the request has {role} "
            f"(token {holder!r}): use a token with the {needed} or admin role"
        )
        self.role = role
        self.needed = needed


def require_role(info: Info, needed: Role) -> None:
    """Raise a ``FORBIDDEN`` GraphQL error unless the request's role allows ``needed``."""
    role = info.context.role
    if not role_allows(role, needed):
        raise RoleError(role, needed, info.context.principal)


def require_scope(info: Info, source: str) -> RefCheck:
    """Raise a ``FORBIDDEN`` GraphQL error unless the request's scope lets it push to
    ``source``; return the check of its scope for each ref it writes."""
    holder = info.context.principal
    scope = info.context.scope
    if scope is None:
        return lambda ref: None
    refusal = scope.source_refusal(holder, source)
    if refusal is not None:
        raise ForbiddenError(refusal)
    return lambda ref: scope.ref_refusal(holder, ref)
