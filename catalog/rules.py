"""Which kinds the catalog admits: Backstage's ``catalog.rules``, globally and per source.

Backstage installations define kinds of their own (``kind: Widget``). A rule allows a list of
kinds; an entity is admitted when any rule that applies to it allows its kind (kinds compare
case-insensitively)::

    catalog:
      rules:                             # every source
        - allow: [Component, API, Location, Widget]
    sources:
      - name: platform
        type: git
        url: ...
        rules:                           # this source's entities too, added to the above
          - allow: [Group, User]

Without ``catalog.rules`` the built-in kinds are admitted (the nine Backstage kinds and the
kinds sources add: Pipeline, Build, Deployment, Environment, CloudAccount), and a source's
own rules add to them. With ``catalog.rules`` only what the rules allow is admitted, built-in
kinds included, as in Backstage. A kind without a type of its own is stored like any other
entity and served as a generic entity with its ``spec`` as JSON.

A refused entity is a run error at its file and line, whose message names the setting to
change (:meth:`KindRules.refusal`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.kinds import CORE_KINDS, SOURCE_KINDS
from catalog.refs import is_valid_kind

#: every kind Stagegraph knows, lowercase -> canonical spelling
BUILT_IN_KINDS: dict[str, str] = {**CORE_KINDS, **SOURCE_KINDS}

SETTING = "catalog.rules"


class KindRule(BaseModel):
    """One rule: ``allow: [Component, API, Widget]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: tuple[str, ...] = Field(
        min_length=1, description="Kinds this rule admits, e.g. [Component, API, Widget]."
    )

    @field_validator("allow")
    @classmethod
    def _kinds_are_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for kind in value:
            if not is_valid_kind(kind):
                raise ValueError(
                    f"{kind!r} is not a kind: a kind is a letter then letters or digits "
                    "(1-63), e.g. Component or Widget"
                )
        return value


@dataclass(frozen=True)
class KindRules:
    """The rules that apply to one source's entities: the global ``catalog.rules`` (None when
    the setting is absent: the built-in kinds) and the source's own ``rules``.

    ``config`` names the file the rules came from, for messages; ``source`` the source whose
    rules were added (see :meth:`for_source`).
    """

    rules: tuple[KindRule, ...] | None = None
    source_rules: tuple[KindRule, ...] = ()
    config: str | None = None
    source: str | None = None

    def for_source(self, source: str, rules: tuple[KindRule, ...]) -> KindRules:
        """These rules with ``source``'s own added."""
        return replace(self, source_rules=rules, source=source)

    @cached_property
    def _allowed(self) -> dict[str, str]:
        found: dict[str, str] = {}
        base = BUILT_IN_KINDS.values() if self.rules is None else []
        written = [*base, *(k for rule in self.rules or () for k in rule.allow)]
        written += [k for rule in self.source_rules for k in rule.allow]
        for kind in written:
            found.setdefault(kind.lower(), BUILT_IN_KINDS.get(kind.lower(), kind))
        return found

    def allowed(self) -> dict[str, str]:
        """The admitted kinds, lowercase -> as written (built-in kinds in their spelling)."""
        return dict(self._allowed)

    def admits(self, kind: str) -> bool:
        return kind.lower() in self._allowed

    def refusal(self, kind: str) -> str:
        """Why an entity of ``kind`` is refused, and which setting admits it."""
        where = f" in {self.config}" if self.config else " in the config file"
        own = f" or the rules of source {self.source!r}" if self.source else ""
        allowed = ", ".join(self.allowed().values())
        if self.rules is None and kind.lower() not in BUILT_IN_KINDS:
            return (
                f"unknown kind {kind!r}; use one of {allowed}, or admit it with the "
                f"{SETTING} setting{where} (catalog: {{rules: [{{allow: [{kind}, ...]}}]}}, "
                "listing every kind to take, built-in ones too) or a source's rules"
            )
        return (
            f"kind {kind!r} is not allowed by {SETTING}{own}{where} (allowed: {allowed}); "
            f"add {kind} to an allow list of {SETTING}"
        )
