"""Bearer authentication against the real server over HTTP: static tokens, JWTs (HMAC and
RSA), anonymous read, and the role reaching resolvers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import strawberry
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from api.app import create_app
from api.auth import Authenticator, AuthError, TokenEntry, hash_token
from api.config import ConfigError, build_settings
from api.settings import Settings
from schema.access import WriteScope, require_role
from schema.context import Info
from tests.api.server import STAGEGRAPH, env, running_server

READER_TOKEN = "sg_reader-" + secrets.token_urlsafe(24)
WRITER_TOKEN = "sg_writer-" + secrets.token_urlsafe(24)
HS_SECRET = secrets.token_urlsafe(48)
AUDIENCE = "stagegraph"
ISSUER = "https://idp.example.test"
COUNT = "{ entities { totalCount } }"


def tokens_setting(*entries: tuple[str, str, str]) -> str:
    return json.dumps(
        [{"name": name, "sha256": hash_token(token), "role": role} for name, token, role in entries]
    )


def make_jwt(key: Any, algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": "alice",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 300,
        "stagegraph_role": "reader",
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm)


def post(base: str, query: str = COUNT, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{base}/graphql", json={"query": query}, headers=headers, timeout=30)


def assert_refused(response: httpx.Response, message: str, status: int = 401) -> None:
    code = "UNAUTHENTICATED" if status == 401 else "FORBIDDEN"
    assert response.status_code == status, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": code}}]}


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with a reader and a writer token and HS256 JWTs for one audience/issuer."""
    store_url = f"sqlite:///{tmp_path_factory.mktemp('secured') / 'store.db'}"
    environ = {
        "STAGEGRAPH_TOKENS": tokens_setting(
            ("portal", READER_TOKEN, "reader"), ("ci", WRITER_TOKEN, "writer")
        ),
        "STAGEGRAPH_JWT_KEY": HS_SECRET,
        "STAGEGRAPH_JWT_AUDIENCE": AUDIENCE,
        "STAGEGRAPH_JWT_ISSUER": ISSUER,
    }
    with running_server(store_url, environ=environ) as base:
        yield base


def test_a_request_without_a_token_gets_401_with_a_graphql_error(secured: str) -> None:
    response = post(secured)

    assert_refused(response, "authentication required: send Authorization: Bearer <token>")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="stagegraph"'


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Bearer sg_not-a-configured-token-at-all", "invalid token"),
        (f"Bearer {READER_TOKEN}x", "invalid token"),
        (f"Basic {base64.b64encode(b'user:pass').decode()}", "unsupported Authorization header"),
        ("Bearer", "unsupported Authorization header"),
    ],
    # The tokens are random: fixed ids keep collection the same in every xdist worker.
    ids=["unknown-token", "reader-token-altered", "basic-auth", "bearer-without-token"],
)
def test_a_wrong_token_gets_401(secured: str, authorization: str, message: str) -> None:
    response = post(secured, Authorization=authorization)

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"].startswith(message)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("token", [READER_TOKEN, WRITER_TOKEN], ids=["reader", "writer"])
def test_a_configured_token_reads(secured: str, token: str) -> None:
    response = post(secured, token=token)

    assert response.status_code == 200
    assert response.json() == {"data": {"entities": {"totalCount": 0}}}


def test_a_valid_jwt_reads(secured: str) -> None:
    response = post(secured, token=make_jwt(HS_SECRET, stagegraph_role="writer"))

    assert response.json() == {"data": {"entities": {"totalCount": 0}}}


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "token expired: get a new one"),
        ({"aud": "another-service"}, "invalid token: wrong audience"),
        ({"aud": None}, "invalid token: no aud claim"),
        ({"iss": "https://elsewhere.example.test"}, "invalid token: wrong issuer"),
        ({"exp": None}, "invalid token: no exp claim"),
    ],
)
def test_an_expired_or_foreign_jwt_gets_401(
    secured: str, claims: dict[str, Any], message: str
) -> None:
    assert_refused(post(secured, token=make_jwt(HS_SECRET, **claims)), message)


def test_a_jwt_signed_with_another_key_gets_401(secured: str) -> None:
    forged = make_jwt(secrets.token_urlsafe(48), stagegraph_role="admin")

    assert_refused(post(secured, token=forged), "invalid token")


def test_an_unsigned_jwt_gets_401(secured: str) -> None:
    unsigned = make_jwt(None, algorithm="none", stagegraph_role="admin")

    assert_refused(post(secured, token=unsigned), "invalid token")


def test_a_jwt_without_a_role_gets_403(secured: str) -> None:
    response = post(secured, token=make_jwt(HS_SECRET, stagegraph_role="superuser"))

    assert_refused(
        response,
        "the token grants no Stagegraph role: its stagegraph_role claim must be one of "
        "reader, writer, admin",
        status=403,
    )


def test_health_checks_and_the_graphiql_page_stay_open(secured: str) -> None:
    health = httpx.get(f"{secured}/healthz")
    ready = httpx.get(f"{secured}/readyz")
    page = httpx.get(f"{secured}/graphql", headers={"Accept": "text/html"})
    query_by_get = httpx.get(f"{secured}/graphql", params={"query": COUNT})

    assert (health.status_code, ready.status_code) == (200, 200)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert query_by_get.status_code == 401


@pytest.fixture(scope="module")
def rsa_signer() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def rsa_secured(
    tmp_path_factory: pytest.TempPathFactory, rsa_signer: rsa.RSAPrivateKey
) -> Iterator[str]:
    """A server verifying JWTs with an RSA public key (default algorithms, no audience)."""
    store_url = f"sqlite:///{tmp_path_factory.mktemp('rsa') / 'store.db'}"
    environ = {"STAGEGRAPH_JWT_KEY": public_pem(rsa_signer)}
    with running_server(store_url, environ=environ) as base:
        yield base


def test_an_rs256_jwt_verifies_with_the_public_key(
    rsa_secured: str, rsa_signer: rsa.RSAPrivateKey
) -> None:
    token = make_jwt(rsa_signer, "RS256", aud=None, iss=None)

    assert post(rsa_secured, token=token).json() == {"data": {"entities": {"totalCount": 0}}}
    assert_refused(post(rsa_secured), "authentication required: send Authorization: Bearer <token>")


def test_a_jwt_from_another_rsa_key_gets_401(rsa_secured: str) -> None:
    token = make_jwt(rsa_key(), "RS256", aud=None, iss=None)

    assert_refused(post(rsa_secured, token=token), "invalid token")


def test_an_hs256_jwt_keyed_with_the_public_key_gets_401(
    rsa_secured: str, rsa_signer: rsa.RSAPrivateKey
) -> None:
    # The algorithm-confusion attack: sign HS256 with the (public) PEM text as the secret.
    def segment(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    claims = {"sub": "mallory", "exp": int(time.time()) + 300, "stagegraph_role": "admin"}
    signing_input = segment({"alg": "HS256", "typ": "JWT"}) + b"." + segment(claims)
    mac = hmac.new(public_pem(rsa_signer).encode(), signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()

    assert_refused(post(rsa_secured, token=token), "invalid token")


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with no auth configured (anonymous read), GraphiQL and introspection off."""
    store_url = f"sqlite:///{tmp_path_factory.mktemp('closed') / 'store.db'}"
    environ = {"STAGEGRAPH_GRAPHIQL": "false", "STAGEGRAPH_INTROSPECTION": "false"}
    with running_server(store_url, environ=environ) as base:
        yield base


def test_without_tokens_or_a_jwt_key_anyone_reads(closed: str) -> None:
    assert post(closed).json() == {"data": {"entities": {"totalCount": 0}}}


def test_a_wrong_token_gets_401_even_when_anonymous_read_is_on(closed: str) -> None:
    assert_refused(post(closed, token=READER_TOKEN), "invalid token")


def test_graphiql_switched_off_is_not_found(closed: str) -> None:
    page = httpx.get(f"{closed}/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 404
    assert "graphiql" not in page.text.lower()


def test_introspection_switched_off_is_refused(closed: str) -> None:
    response = post(closed, "{ __schema { queryType { name } } }")

    assert response.status_code == 400  # a validation error: no data
    assert response.json().get("data") is None
    assert "introspection has been disabled" in response.json()["errors"][0]["message"]


@strawberry.type
class Query:
    @strawberry.field
    def role(self, info: Info) -> str:
        return info.context.role


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self, info: Info) -> str:
        require_role(info, "writer")
        return "touched"


async def test_the_tokens_role_reaches_resolvers(tmp_path: Path) -> None:
    """In process (the real app over httpx's ASGI transport), with a test-only mutation."""
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'store.db'}",
        tokens=[
            TokenEntry(name="portal", sha256=hash_token(READER_TOKEN), role="reader"),
            TokenEntry(name="ci", sha256=hash_token(WRITER_TOKEN), role="writer"),
        ],
        jwt_key=HS_SECRET,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
    )
    app = create_app(settings, schema=strawberry.Schema(query=Query, mutation=Mutation))
    transport = httpx.ASGITransport(app=app)

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):

        async def send(query: str, token: str) -> Any:
            headers = {"Authorization": f"Bearer {token}"}
            response = await client.post("/graphql", json={"query": query}, headers=headers)
            return response.json()

        as_reader = await send("mutation { touch }", READER_TOKEN)
        as_writer = await send("mutation { touch }", WRITER_TOKEN)
        as_admin_jwt = await send(
            "mutation { touch }", make_jwt(HS_SECRET, stagegraph_role="admin")
        )
        role = await send("{ role }", make_jwt(HS_SECRET, stagegraph_role="writer"))

    assert as_reader["data"] is None
    assert as_reader["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert as_writer == {"data": {"touch": "touched"}}
    assert as_admin_jwt == {"data": {"touch": "touched"}}
    assert role == {"data": {"role": "writer"}}


def test_token_hash_new_prints_a_token_and_its_entry() -> None:
    done = subprocess.run(
        [STAGEGRAPH, "token", "hash", "--new", "--name", "ci", "--role", "writer"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token, entry_line = done.stdout.splitlines()
    entry = TokenEntry.model_validate_json(entry_line)

    assert entry == TokenEntry(name="ci", sha256=hash_token(token), role="writer")
    assert len(token) >= 40
    assert "shown once" in done.stderr
    who = Authenticator(tokens=[entry]).authenticate(f"Bearer {token}")
    assert (who.name, who.role) == ("ci", "writer")


def test_token_hash_reads_the_token_from_stdin() -> None:
    done = subprocess.run(
        [STAGEGRAPH, "token", "hash", "--name", "portal"],
        input=READER_TOKEN + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    short = subprocess.run(
        [STAGEGRAPH, "token", "hash", "--name", "portal"],
        input="short\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert json.loads(done.stdout) == {
        "name": "portal",
        "sha256": hashlib.sha256(READER_TOKEN.encode()).hexdigest(),
        "role": "reader",
    }
    assert READER_TOKEN not in done.stdout + done.stderr
    assert short.returncode == 1
    assert "at least 16 characters" in short.stderr


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, True),
        ({"tokens": [TokenEntry(name="ci", sha256="0" * 64)]}, False),
        ({"jwt_key": HS_SECRET}, False),
        ({"jwt_key": HS_SECRET, "demo": True}, True),
        ({"demo": True, "anonymous_read": False}, False),
        ({"jwt_key": HS_SECRET, "anonymous_read": True}, True),
    ],
)
def test_anonymous_read_defaults_to_on_only_without_credentials_or_with_demo(
    values: dict[str, Any], expected: bool
) -> None:
    assert Settings(**values).anonymous_read_enabled is expected


def test_anonymous_read_off_refuses_requests_without_a_token() -> None:
    authenticator = Authenticator(anonymous_read=False)

    with pytest.raises(AuthError, match="authentication required"):
        authenticator.authenticate(None)
    assert Authenticator(anonymous_read=True).authenticate(None).role == "reader"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"jwt_key": "too-short"}, "needs at least 32 bytes, got 9"),
        ({"jwt_key": HS_SECRET, "jwt_algorithms": ["RS256"]}, "no algorithm an HMAC secret"),
        (
            {"jwt_key": public_pem(ec.generate_private_key(ec.SECP256R1()))},
            "no algorithm this public key can verify",
        ),
        ({"jwt_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "PEM"),
        ({"tokens": [{"name": "a", "sha256": "12"}]}, "should match pattern"),
        (
            {"tokens": [{"name": n, "sha256": "a" * 64} for n in ("a", "b")]},
            "same sha256",
        ),
    ],
)
def test_unusable_auth_settings_are_configuration_errors(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)


def test_serve_refuses_to_start_with_an_unusable_jwt_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [STAGEGRAPH, "serve", "--port", "1"],
        env=env(f"sqlite:///{tmp_path / 's.db'}", {"STAGEGRAPH_JWT_KEY": "secret"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "configuration error: jwt_key: an HMAC secret for HS256 needs at least 32" in done.stderr


def self_signed_certificate(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("form", ["public key", "escaped newlines", "certificate"])
def test_a_jwt_key_may_be_a_certificate_or_a_pem_with_escaped_newlines(
    rsa_signer: rsa.RSAPrivateKey, form: str
) -> None:
    pem = public_pem(rsa_signer)
    key = {
        "public key": pem,
        "escaped newlines": pem.replace("\n", "\\n"),
        "certificate": self_signed_certificate(rsa_signer),
    }[form]
    verifier = Settings(jwt_key=key).jwt_verifier()

    assert verifier is not None and verifier.algorithms == ["RS256"]
    who = verifier.verify(make_jwt(rsa_signer, "RS256", aud=None, iss=None, sub="bob"))
    assert (who.name, who.role) == ("bob", "reader")


@pytest.mark.parametrize(
    ("private", "algorithm"),
    [(ec.generate_private_key(ec.SECP256R1()), "ES256"), (Ed25519PrivateKey.generate(), "EdDSA")],
)
def test_ec_and_ed25519_keys_verify_their_algorithms(private: Any, algorithm: str) -> None:
    settings = Settings(
        jwt_key=public_pem(private), jwt_algorithms=[algorithm], jwt_role_claim="realm.roles"
    )
    verifier = settings.jwt_verifier()
    token = make_jwt(private, algorithm, aud=None, iss=None, realm={"roles": ["reader", "admin"]})

    assert verifier is not None
    assert verifier.verify(token).role == "admin"


def test_a_token_scope_reads_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        "auth:\n"
        "  tokens:\n"
        f"    - {{name: bot, sha256: {hash_token(WRITER_TOKEN)}, role: writer,\n"
        "       scope: {sources: [bot], namespaces: [Default], kinds: [Component, api]}}\n"
        "  jwt: {key: '" + HS_SECRET + "', scopeClaim: grants.stagegraph}\n"
    )

    settings = build_settings(Settings, config, {})

    assert isinstance(settings, Settings)
    who = Authenticator(tokens=settings.tokens).authenticate(f"Bearer {WRITER_TOKEN}")
    assert who.scope == WriteScope(
        rule="auth.tokens[bot].scope",
        sources=frozenset({"bot"}),
        namespaces=frozenset({"default"}),
        kinds=frozenset({"component", "api"}),
    )
    verifier = settings.jwt_verifier()
    assert verifier is not None
    token = make_jwt(
        HS_SECRET, aud=None, iss=None, stagegraph_role="writer",
        grants={"stagegraph": {"kinds": ["api"]}},
    )  # fmt: skip
    assert verifier.verify(token).scope == WriteScope(
        rule="JWT claim grants.stagegraph", kinds=frozenset({"api"})
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("role: reader, scope: {sources: [bot]}", "has a scope but the reader role"),
        ("role: writer, scope: {kinds: [componnent]}", "unknown kind componnent"),
        ("role: writer, scope: {sources: []}", "at least 1 item"),
        ("role: writer, scope: {teams: [a]}", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_token_scope_is_a_configuration_error_with_its_line(
    tmp_path: Path, entry: str, message: str
) -> None:
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        f"auth:\n  tokens:\n    - {{name: bot, sha256: {hash_token(WRITER_TOKEN)}, {entry}}}\n"
    )

    with pytest.raises(ConfigError) as refused:
        build_settings(Settings, config, {})

    (problem,) = refused.value.problems
    assert problem.startswith(f"{config}:3: auth.tokens[0]")
    assert message in problem


def test_a_token_scope_may_name_a_custom_kind_the_catalog_rules_admit(tmp_path: Path) -> None:
    config = tmp_path / "stagegraph.yaml"
    token = f"{{name: bot, sha256: {hash_token(WRITER_TOKEN)}, role: writer"
    config.write_text(
        "catalog:\n  rules:\n    - allow: [Component, Widget]\n"
        f"auth:\n  tokens:\n    - {token}, scope: {{kinds: [Widget, component]}}}}\n"
    )
    refused = tmp_path / "refused.yaml"
    refused.write_text(
        "catalog:\n  rules:\n    - allow: [Component, Widget]\n"
        f"auth:\n  tokens:\n    - {token}, scope: {{kinds: [API]}}}}\n"
    )

    settings = build_settings(Settings, config, {})
    with pytest.raises(ConfigError) as problem:
        build_settings(Settings, refused, {})

    assert isinstance(settings, Settings)
    (entry,) = settings.tokens
    assert entry.principal().scope == WriteScope(
        rule="auth.tokens[bot].scope", kinds=frozenset({"widget", "component"})
    )
    (message,) = problem.value.problems
    assert message.startswith(f"{refused}:6: auth.tokens[0]")
    assert "unknown kind api" in message and "catalog.rules" in message
