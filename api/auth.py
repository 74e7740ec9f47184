"""Bearer authentication for ``/graphql``: static tokens (stored as SHA-256 hashes) and JWTs.

long: static tokens, JWTs and write scopes share one principal model and one set of
refusal messages; split, the rules a token is checked against would be read in three places.

Every request to the wrapped endpoint gets a role (see :mod:`schema.access`) or an HTTP 401
with a GraphQL-shaped body ``{"errors": [{"message": ..., "extensions": {"code":
"UNAUTHENTICATED"}}]}`` and a ``WWW-Authenticate: Bearer`` header:

- no ``Authorization`` header: the ``reader`` role when anonymous read is on, else 401;
- ``Bearer <token>`` whose SHA-256 matches a configured token: that token's role;
- ``Bearer <jwt>`` that verifies with the configured key: the role from its role claim,
  and the write scope from its scope claim when it has one;
- anything else (a wrong token, an expired or foreign JWT, another scheme): 401, even when
  anonymous read is on, so a client never silently loses the rights it thought it had.

A JWT that verifies but grants no known role, or whose scope claim is not a scope, gets 403
(``FORBIDDEN``).

A token's scope (``scope: {sources: [...], namespaces: [...], kinds: [...]}`` on a static
token, the same object in a JWT's scope claim) limits where its pushes may write; see
:class:`schema.access.WriteScope`. A dimension left out is open.
``GET`` requests without a ``query`` parameter (the GraphiQL page) pass without a token: the
page holds no data, and the requests it makes carry the token entered in its headers tab.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from catalog.refs import is_valid_kind
from schema.access import ROLES, Role, WriteScope

log = logging.getLogger("stagegraph.api")

TOKEN_PREFIX = "sg_"
JWT_LEEWAY_SECONDS = 30
JwtAlgorithm = Literal[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "EdDSA",
]  # fmt: skip
DEFAULT_JWT_ALGORITHMS: tuple[JwtAlgorithm, ...] = ("RS256", "HS256")
_HMAC = {"HS256": 32, "HS384": 48, "HS512": 64}  # algorithm -> minimum secret bytes
_RSA = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
_EC = {"ES256", "ES384", "ES512"}
_PRINCIPAL = "stagegraph.principal"


def _names(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


class TokenScope(BaseModel):
    """Where a token's pushes may write; a list left out is open, an empty one is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: list[str] | None = Field(
        default=None, min_length=1, description="Source names the token may push to."
    )
    namespaces: list[str] | None = Field(
        default=None, min_length=1, description="Namespaces of the entities it may write."
    )
    kinds: list[str] | None = Field(
        default=None, min_length=1, description="Kinds of the entities it may write."
    )

    @field_validator("namespaces")
    @classmethod
    def _lower_namespaces(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [v.lower() for v in value]

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        malformed = [v for v in value if not is_valid_kind(v)]
        if malformed:
            raise ValueError(
                f"{', '.join(malformed)} is not a kind: a letter then letters or digits"
            )
        return [v.lower() for v in value]

    def unadmitted_kinds(self, admitted: Collection[str]) -> list[str]:
        """The scope's kinds that are not in ``admitted`` (lowercase kinds the catalog takes:
        the built-in ones, or those ``catalog.rules`` and the sources' rules allow)."""
        return [k for k in self.kinds or [] if k not in admitted]

    def write_scope(self, rule: str) -> WriteScope:
        """The scope, with ``rule`` naming where it was configured (for refusals)."""
        return WriteScope(
            rule=rule,
            sources=_names(self.sources),
            namespaces=_names(self.namespaces),
            kinds=_names(self.kinds),
        )


class TokenEntry(BaseModel):
    """One static bearer token as configured: its name, the SHA-256 of it, its role, and
    optionally the scope of its pushes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="Who holds the token (shown in logs).")
    sha256: str = Field(
        pattern=r"^[0-9a-fA-F]{64}$",
        description="Hex SHA-256 of the token, as `stagegraph token hash` prints it.",
    )
    role: Role = Field(default="reader", description="reader, writer or admin.")
    scope: TokenScope | None = Field(
        default=None,
        description="Where its pushes may write: {sources, namespaces, kinds}; none: anywhere.",
    )

    @field_validator("sha256")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @model_validator(mode="after")
    def _scope_needs_writes(self) -> TokenEntry:
        if self.scope is not None and self.role == "reader":
            raise ValueError(
                f"token {self.name!r} has a scope but the reader role, which writes nothing: "
                "give it the writer role, or remove the scope"
            )
        return self

    def principal(self) -> Principal:
        scope = self.scope.write_scope(f"auth.tokens[{self.name}].scope") if self.scope else None
        return Principal(name=self.name, role=self.role, scope=scope)


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token, as configured in ``STAGEGRAPH_TOKENS``."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """Who made a request, as far as the API knows."""

    name: str
    role: Role
    scope: WriteScope | None = None  # where its pushes may write; None: anywhere


ANONYMOUS = Principal(name="anonymous", role="reader")


class AuthError(Exception):
    """The request is not let in; ``status`` is 401 or 403."""

    def __init__(self, message: str, *, status: int = 401, invalid_token: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.invalid_token = invalid_token

    def response(self) -> JSONResponse:
        code = "UNAUTHENTICATED" if self.status == 401 else "FORBIDDEN"
        challenge = 'Bearer realm="stagegraph"'
        if self.invalid_token:
            reason = "invalid_token" if self.status == 401 else "insufficient_scope"
            challenge += f', error="{reason}"'
        return JSONResponse(
            {"errors": [{"message": self.message, "extensions": {"code": code}}]},
            status_code=self.status,
            headers={"WWW-Authenticate": challenge},
        )


def _public_key(pem: str) -> Any:
    data = pem.replace("\\n", "\n").strip().encode()
    if b"CERTIFICATE" in data.split(b"\n", 1)[0]:
        return x509.load_pem_x509_certificate(data).public_key()
    try:
        return load_pem_public_key(data)
    except ValueError:
        raise ValueError(
            "jwt_key: not a PEM public key or certificate (give the public key, never the "
            "private one, or an HMAC secret that does not start with -----BEGIN)"
        ) from None


def _usable_algorithms(key: Any, wanted: Sequence[str]) -> list[str]:
    if isinstance(key, bytes):
        return [a for a in wanted if a in _HMAC]
    if isinstance(key, rsa.RSAPublicKey):
        return [a for a in wanted if a in _RSA]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return [a for a in wanted if a in _EC]
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return [a for a in wanted if a == "EdDSA"]
    return []


class JwtVerifier:
    """Verifies JWTs with one key: an HMAC secret, or a PEM public key (or certificate).

    Only algorithms the key can verify are accepted (an RSA key never verifies HS256, so a
    token signed with the public key as an HMAC secret is refused). ``exp`` is required;
    ``aud`` and ``iss`` are checked when configured. Raises ``ValueError`` for a key that
    cannot work (a short secret, no usable algorithm, a private key).
    """

    def __init__(
        self,
        key: str,
        *,
        algorithms: Sequence[str],
        audience: str | None = None,
        issuer: str | None = None,
        role_claim: str = "stagegraph_role",
        scope_claim: str = "stagegraph_scope",
    ) -> None:
        self._key: Any = _public_key(key) if key.lstrip().startswith("-----BEGIN") else key.encode()
        self.algorithms = _usable_algorithms(self._key, algorithms)
        if not self.algorithms:
            kind = "an HMAC secret" if isinstance(self._key, bytes) else "this public key"
            raise ValueError(
                f"jwt_algorithms {list(algorithms)} has no algorithm {kind} can verify; "
                "use HS256 for a secret, RS256 for an RSA key, ES256 for an EC key, EdDSA "
                "for an Ed25519 key"
            )
        if isinstance(self._key, bytes):
            needed = max(_HMAC[a] for a in self.algorithms)
            if len(self._key) < needed:
                raise ValueError(
                    f"jwt_key: an HMAC secret for {'/'.join(self.algorithms)} needs at least "
                    f"{needed} bytes, got {len(self._key)}; generate one with "
                    "`openssl rand -base64 48`"
                )
        elif isinstance(self._key, rsa.RSAPublicKey) and self._key.key_size < 2048:
            raise ValueError(f"jwt_key: the RSA key has {self._key.key_size} bits; use 2048+")
        self.audience = audience
        self.issuer = issuer
        self.role_claim = role_claim
        self.scope_claim = scope_claim

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=JWT_LEEWAY_SECONDS,
                options={"require": ["exp"], "enforce_minimum_key_length": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired: get a new one") from None
        except jwt.InvalidAudienceError:
            raise AuthError("invalid token: wrong audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("invalid token: wrong issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"invalid token: no {exc.claim} claim") from None
        except jwt.InvalidTokenError:
            raise AuthError("invalid token") from None
        role = self._role(claims)
        if role is None:
            raise AuthError(
                f"the token grants no Stagegraph role: its {self.role_claim} claim must be "
                f"one of {', '.join(ROLES)}",
                status=403,
            )
        return Principal(name=str(claims.get("sub", "jwt")), role=role, scope=self._scope(claims))

    def _role(self, claims: dict[str, Any]) -> Role | None:
        """The highest known role in the (dotted) role claim, a string or a list."""
        value = _claim(claims, self.role_claim)
        values = value if isinstance(value, list) else [value]
        granted = [r for r in ROLES if r in values]
        return granted[-1] if granted else None

    def _scope(self, claims: dict[str, Any]) -> WriteScope | None:
        """The write scope in the (dotted) scope claim, or None (anywhere) without one."""
        value = _claim(claims, self.scope_claim)
        if value is None:
            return None
        try:
            scope = TokenScope.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'the claim'}: {e['msg']}" for e in exc.errors()
            )
            raise AuthError(
                f"the token's {self.scope_claim} claim is not a scope ({problems}): it must be "
                "an object with lists sources, namespaces and kinds, each optional",
                status=403,
            ) from None
        return scope.write_scope(f"JWT claim {self.scope_claim}")


def _claim(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted claim path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`, or raises AuthError."""

    def __init__(
        self,
        *,
        tokens: Sequence[TokenEntry] = (),
        jwt_verifier: JwtVerifier | None = None,
        anonymous_read: bool = False,
    ) -> None:
        self.tokens = tuple(tokens)
        self.jwt_verifier = jwt_verifier
        self.anonymous_read = anonymous_read

    def authenticate(self, authorization: str | None) -> Principal:
        if authorization is None:
            if self.anonymous_read:
                return ANONYMOUS
            raise AuthError(
                "authentication required: send Authorization: Bearer <token>",
                invalid_token=False,
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("unsupported Authorization header: send Authorization: Bearer <token>")
        digest = hash_token(token)
        found = None
        for entry in self.tokens:  # compare with every entry, in constant time each
            if hmac.compare_digest(digest, entry.sha256):
                found = entry
        if found is not None:
            return found.principal()
        if self.jwt_verifier is not None and token.count(".") == 2:
            return self.jwt_verifier.verify(token)
        raise AuthError("invalid token")


def _opens_without_token(scope: Scope) -> bool:
    """A GET without a ``query`` parameter runs no operation (GraphiQL's page, or a 404)."""
    if scope["method"] not in ("GET", "HEAD"):
        return False
    return "query" not in parse_qs(scope.get("query_string", b"").decode("latin-1"))


class BearerAuth:
    """ASGI wrapper: authenticates each HTTP request (and websocket) before the wrapped app sees it and
    records the :class:`Principal` in the request state (read it with :func:`principal`)."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization")
        try:
            if header is None and _opens_without_token(scope):
                who = ANONYMOUS
            else:
                who = self.authenticator.authenticate(header)
        except AuthError as exc:
            client = scope.get("client") or ("?", 0)
            log.info("refused %s %s from %s: %s", scope["method"], scope["path"], client[0], exc)
            await exc.response()(scope, receive, send)
            return
        scope.setdefault("state", {})[_PRINCIPAL] = who
        await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A GraphQL websocket (subscriptions) is let in as a request would be: by its
        ``Authorization`` header (a wrong one refuses the handshake, close code 4401, before
        any operation runs). Without the header it is let in unauthenticated: the client
        authenticates in its ``connection_init`` payload (:func:`websocket_principal`), as
        browsers must, and is refused there (4403) without a valid token where anonymous
        read is off."""
        header = Headers(scope=scope).get("authorization")
        if header is None:
            await self.app(scope, receive, send)
            return
        try:
            who = self.authenticator.authenticate(header)
        except AuthError as exc:
            client = scope.get("client") or ("?", 0)
            log.info("refused websocket %s from %s: %s", scope["path"], client[0], exc)
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4401})
            return
        scope.setdefault("state", {})[_PRINCIPAL] = who
        await self.app(scope, receive, send)


def websocket_principal(
    scope: Scope, params: Mapping[str, object] | None, authenticator: Authenticator
) -> Principal:
    """Who holds a GraphQL websocket: the principal of its ``Authorization`` header when it
    had one, else the token of its ``connection_init`` payload (``{"Authorization": "Bearer
    <token>"}``, any case, or ``{"token": "<token>"}``), else anonymous where anonymous read
    is on. Raises :class:`AuthError` otherwise."""
    found = scope.get("state", {}).get(_PRINCIPAL)
    if isinstance(found, Principal):
        return found
    given = {str(k).lower(): v for k, v in (params or {}).items()}
    header = given.get("authorization")
    if header is None and isinstance(given.get("token"), str):
        header = f"Bearer {given['token']}"
    if header is not None and not isinstance(header, str):
        raise AuthError("connection_init: Authorization must be a string: Bearer <token>")
    return authenticator.authenticate(header)


def principal(scope: Scope) -> Principal:
    """The principal :class:`BearerAuth` recorded for this request (anonymous if none)."""
    found = scope.get("state", {}).get(_PRINCIPAL)
    return found if isinstance(found, Principal) else ANONYMOUS


__all__ = [
    "DEFAULT_JWT_ALGORITHMS",
    "ROLES",
    "AuthError",
    "Authenticator",
    "BearerAuth",
    "JwtAlgorithm",
    "JwtVerifier",
    "Principal",
    "TokenEntry",
    "TokenScope",
    "hash_token",
    "new_token",
    "principal",
    "websocket_principal",
]
