"""All configuration in one place: ``STAGEGRAPH_*`` environment variables and CLI flags map
onto :class:`Settings`; nothing else reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph import DEFAULT_STORE_URL, STORE_SCHEMES

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

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        if not value.startswith(STORE_SCHEMES):
            raise ValueError(
                f"unsupported store URL {value!r}: use sqlite:///path/to/file.db, "
                "bolt://host:7687 or neo4j://host:7687"
            )
        return value

    @property
    def password(self) -> str | None:
        return self.neo4j_password.get_secret_value() if self.neo4j_password else None
