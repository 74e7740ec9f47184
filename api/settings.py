"""All configuration in one place: ``STAGEGRAPH_*`` environment variables and CLI flags map
onto :class:`Settings`; nothing else reads the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from api.auth import DEFAULT_JWT_ALGORITHMS, JwtAlgorithm, JwtVerifier, TokenEntry
from api.config import FileSettingsSource
from api.metrics import MetricsAuth
from catalog.rules import KindRule, KindRules
from graph import DEFAULT_STORE_URL, STORE_SCHEMES
from ingestors.contract import Duration
from ingestors.notify.config import NotifyTarget
from ingestors.registry import Sources
from ingestors.runner import RunPolicy
from scaffolder.actions.contract import Integration
from scaffolder.integrations import IntegrationConfig, build_integrations

DEFAULT_DEMO_PATH = Path(__file__).resolve().parent.parent / "examples"


class Settings(BaseSettings):
    """Stagegraph settings. Every field can be set as ``STAGEGRAPH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="STAGEGRAPH_", extra="ignore", frozen=True)

    store: str = Field(
        default=DEFAULT_STORE_URL,
        description="Store URL: sqlite:///file.db (default ./stagegraph.db), bolt:// or neo4j://.",
    )
    neo4j_user: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NEO4J_USER", "STAGEGRAPH_NEO4J_USER"),
        description="Neo4j user (else from the URL, else neo4j).",
    )
    neo4j_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("NEO4J_PASSWORD", "STAGEGRAPH_NEO4J_PASSWORD"),
        description="Neo4j password (else from the URL).",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    demo: bool = Field(default=False, description="Load the demo catalog at start.")
    demo_path: Path = Field(default=DEFAULT_DEMO_PATH, description="Folder of the demo catalog.")
    graphiql: bool = Field(default=True, description="Serve GraphiQL on GET /graphql.")
    introspection: bool = Field(default=True, description="Allow schema introspection.")
    explorer: bool = Field(
        default=True,
        description="Serve the graph explorer at GET /explore (and redirect GET / there).",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to call the API (CORS)."
    )
    max_delete_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Cleanup deletes nothing when more than this share of a source would go.",
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    trace: bool = Field(
        default=False,
        description="Report the store statements of each request in "
        "extensions.stagegraph.storeQueries.",
    )

    # Auth (see api.auth and the README's "Auth and limits").
    tokens: list[TokenEntry] = Field(
        default_factory=list,
        description='Static bearer tokens, a JSON list of {"name", "sha256", "role", "scope"} '
        "(scope optional); `stagegraph token hash` makes entries.",
    )
    jwt_key: SecretStr | None = Field(
        default=None,
        description="Verifies bearer JWTs: an HMAC secret (32+ bytes) or a PEM public key.",
    )
    jwt_algorithms: list[JwtAlgorithm] = Field(
        default_factory=lambda: list(DEFAULT_JWT_ALGORITHMS),
        description="JWT algorithms accepted, of those the key can verify.",
    )
    jwt_audience: str | None = Field(default=None, description="Required JWT `aud`, if set.")
    jwt_issuer: str | None = Field(default=None, description="Required JWT `iss`, if set.")
    jwt_role_claim: str = Field(
        default="stagegraph_role",
        min_length=1,
        description="JWT claim holding the role (a string or a list; dots reach nested claims).",
    )
    jwt_scope_claim: str = Field(
        default="stagegraph_scope",
        min_length=1,
        description="JWT claim holding the write scope ({sources, namespaces, kinds}; dotted "
        "for nested claims); a token without it may write anywhere its role allows.",
    )
    anonymous_read: bool | None = Field(
        default=None,
        description="Let requests without a token read. Default: on with --demo or when no "
        "tokens and no JWT key are configured, off otherwise.",
    )

    # Limits on one GraphQL request (see schema.limits).
    max_depth: int = Field(default=10, ge=1, description="Most fields nested in one query.")
    max_aliases: int = Field(default=15, ge=0, description="Most aliased fields in one query.")
    max_cost: int = Field(default=50_000, ge=1, description="Query cost budget (see README).")
    cost_fan_out: int = Field(
        default=10, ge=1, description="Items a list field without `first` counts as."
    )
    max_document_length: int = Field(
        default=100_000, ge=1, description="Most characters in one GraphQL document."
    )
    max_tokens: int = Field(
        default=2_000,
        ge=1,
        description="Most tokens (names, values, punctuation, comments) in one document.",
    )
    max_operations: int = Field(default=20, ge=1, description="Most operations in one document.")
    max_fragments: int = Field(
        default=100, ge=0, description="Most fragment definitions in one document."
    )
    max_directives: int = Field(
        default=50, ge=0, description="Most directives (@skip, @include) in one document."
    )
    max_repeats: int = Field(
        default=30,
        ge=1,
        description="Most copies of one field (one response name) in one selection set.",
    )
    max_merges: int = Field(
        default=20_000,
        ge=1,
        description="Most comparisons of same-named fields graphql-core may make to validate "
        "one document.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body; larger gets 413."
    )
    operation_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds one operation may run before it is cancelled (TIMEOUT); also "
        "meant as the store's transaction timeout.",
    )

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        if not value.startswith(STORE_SCHEMES):
            raise ValueError(
                f"unsupported store URL {value!r}: use sqlite:///path/to/file.db, "
                "bolt://host:7687 or neo4j://host:7687"
            )
        return value

    @model_validator(mode="after")
    def _token_kinds_admitted(self) -> Self:
        """A token scope may name a custom kind the catalog admits (``catalog.rules`` or a
        source's rules), and no kind the catalog refuses (a typo would grant nothing)."""
        admitted = set(self.kind_rules.allowed())
        for source in self.sources:
            admitted |= {k.lower() for rule in source.rules for k in rule.allow}
        errors = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "unknown_kind",
                    "unknown kind {kinds}: the catalog admits {admitted} (add a kind to "
                    "catalog.rules, or a source's rules, to admit it)",
                    {"kinds": ", ".join(bad), "admitted": ", ".join(sorted(admitted))},
                ),
                loc=("tokens", index, "scope", "kinds"),
                input=bad,
            )
            for index, token in enumerate(self.tokens)
            if token.scope is not None and (bad := token.scope.unadmitted_kinds(admitted))
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    @model_validator(mode="after")
    def _jwt_key_usable(self) -> Self:
        self.jwt_verifier()
        return self

    @field_validator("tokens")
    @classmethod
    def _distinct_tokens(cls, value: list[TokenEntry]) -> list[TokenEntry]:
        hashes = [t.sha256 for t in value]
        if len(set(hashes)) != len(hashes):
            raise ValueError("two entries have the same sha256; give each holder its own token")
        return value

    @field_validator("notify")
    @classmethod
    def _distinct_receivers(cls, value: tuple[NotifyTarget, ...]) -> tuple[NotifyTarget, ...]:
        urls = [t.url for t in value]
        twice = sorted({u for u in urls if urls.count(u) > 1})
        if twice:
            raise ValueError(
                f"{', '.join(twice)} is listed twice: give each receiver one entry (its "
                "events list can name both events)"
            )
        return value

    def jwt_verifier(self) -> JwtVerifier | None:
        """The JWT verifier of ``jwt_key``, or None when no key is configured."""
        if self.jwt_key is None:
            return None
        return JwtVerifier(
            self.jwt_key.get_secret_value(),
            algorithms=self.jwt_algorithms,
            audience=self.jwt_audience,
            issuer=self.jwt_issuer,
            role_claim=self.jwt_role_claim,
            scope_claim=self.jwt_scope_claim,
        )

    @property
    def anonymous_read_enabled(self) -> bool:
        """Whether requests without a token may read (see ``anonymous_read``)."""
        if self.anonymous_read is not None:
            return self.anonymous_read
        return self.demo or not (self.tokens or self.jwt_key)

    sources: Sources = Field(
        default=(), description="Sources to ingest, from the config file's `sources:`."
    )
    catalog_rules: tuple[KindRule, ...] | None = Field(
        default=None,
        description="The kinds the catalog admits, as Backstage's catalog.rules "
        "([{allow: [Component, API, Widget]}]); unset: the built-in kinds. A source's own "
        "rules add to these.",
    )
    run_retention: Duration = Field(
        default=timedelta(days=30), description="Run records older than this are pruned."
    )
    change_retention: Duration = Field(
        default=timedelta(days=90),
        description="Recorded entity changes (the change feed) older than this are pruned.",
    )
    notify: tuple[NotifyTarget, ...] = Field(
        default=(),
        description="Outgoing webhooks, from the config file's `notify:`: each receiver's url, "
        "events (entity.changed, run.finished), secret, attempts, backoff, timeout.",
    )
    location_refresh: Duration = Field(
        default=timedelta(minutes=30),
        description="Locations registered over the catalog API (POST /api/catalog/locations) "
        "are read again this often.",
    )
    config: Path | None = Field(
        default=None, description="The config file (stagegraph.yaml) these settings came from."
    )
    scheduler: bool = Field(
        default=True,
        description="Run the scheduler (sources and scaffolder tasks) inside `stagegraph serve`.",
    )
    integrations: list[IntegrationConfig] = Field(
        default_factory=list,
        description="Git hosts publish:github / publish:gitlab create repositories on (host, "
        "type, apiUrl, tokenEnv); configured github/gitlab sources count too.",
    )
    task_timeout: Duration = Field(
        default=timedelta(minutes=30), description="A scaffolder task running longer is stopped."
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Worker processes of `stagegraph serve`, each a stateless replica on the "
        "store (default: the number of CPU cores; 1 for an in-memory store).",
    )
    metrics_auth: MetricsAuth = Field(
        default="auto",
        description="Who may read GET /metrics: open (anyone), token (a bearer token the API "
        "accepts, any role), or auto: open when listening on loopback, token otherwise.",
    )
    worker_port: int = Field(
        default=8001,
        ge=1,
        le=65535,
        description="Port `stagegraph worker` serves /healthz, /readyz and /metrics on (on host).",
    )
    shutdown_grace: float = Field(
        default=30.0,
        ge=0,
        description="Seconds running ingestions get to finish at shutdown before cancellation.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then the environment, then the config file (see :mod:`api.config`)."""
        return (init_settings, env_settings, FileSettingsSource(settings_cls))

    def git_integrations(self) -> dict[str, Integration]:
        """The publish actions' git hosts, tokens read from the environment now."""
        return build_integrations(self.integrations, self.sources)

    @property
    def password(self) -> str | None:
        return self.neo4j_password.get_secret_value() if self.neo4j_password else None

    @property
    def kind_rules(self) -> KindRules:
        """The kinds admitted (``catalog_rules``), naming the config file in refusals."""
        return KindRules(self.catalog_rules, config=str(self.config) if self.config else None)

    def run_policy(self) -> RunPolicy:
        """How a run is held: the cleanup guard and the kinds admitted (before a source's
        own rules are added; see :meth:`RunPolicy.for_source`)."""
        return RunPolicy(self.max_delete_share, kinds=self.kind_rules)
