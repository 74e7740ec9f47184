"""Every source type Stagegraph knows, by the ``type`` a source entry in ``stagegraph.yaml``
names, and the parsing of a whole ``sources:`` list against them.

This is the only module that imports the source packages. Each package
(``ingestors/<type>/``: ``config.py``, ``get.py``, ``transform.py`` and an ``__init__.py``
wiring them) exports one :class:`~ingestors.contract.SourceType`; adding a source is that
package plus one line in :data:`SOURCE_TYPES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from ingestors.aws import AWS
from ingestors.contract import Fetch, Scope, SourceConfig, SourceType
from ingestors.git import GIT
from ingestors.github import GITHUB
from ingestors.gitlab import GITLAB
from ingestors.jenkins import JENKINS
from ingestors.location import LOCATION
from ingestors.lookup import CatalogLookup


class SourceTypes:
    """The registry of source types, by ``type`` name. Immutable: :meth:`with_type` copies."""

    def __init__(self, types: Iterable[SourceType[Any]] = ()) -> None:
        self._types = {t.name: t for t in types}

    def with_type(self, source_type: SourceType[Any]) -> SourceTypes:
        """A registry with ``source_type`` added (or replacing the one of its name)."""
        return SourceTypes([*self._types.values(), source_type])

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._types))

    def __getitem__(self, name: str) -> SourceType[Any]:
        return self._types[name]

    def fetcher(
        self, source: SourceConfig, lookup: CatalogLookup | None = None, scope: Scope = ()
    ) -> Fetch:
        """The fetch of ``source``, or of ``scope`` of it (see :meth:`SourceType.fetch_scope`)."""
        return self._types[source.type].fetch_scope(source, lookup or CatalogLookup(None), scope)

    def event_fetcher(
        self, source: SourceConfig, lookup: CatalogLookup, scope: Scope, events: Sequence[str]
    ) -> Fetch:
        """The fetch applying webhook payloads (see :meth:`SourceType.fetch_events`)."""
        return self._types[source.type].fetch_events(source, lookup, scope, events)

    def parse(self, raw: object) -> tuple[SourceConfig, ...]:
        """Validate a ``sources:`` list; raise one ValidationError listing every problem."""
        if raw is None:
            return ()
        if not isinstance(raw, list | tuple):
            raise ValidationError.from_exception_data(
                "sources",
                [_problem((), raw, "sources must be a list of sources (name, type, ...)")],
            )
        parsed: list[SourceConfig] = []
        problems: list[InitErrorDetails] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(raw):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in seen:
                problems.append(
                    _problem(
                        (index, "name"),
                        name,
                        f"source name '{name}' is already used by source #{seen[name] + 1}; "
                        "names must be unique",
                    )
                )
            elif isinstance(name, str):
                seen[name] = index
            source = self._parse_one(index, item, problems)
            if source is not None:
                parsed.append(source)
        if problems:
            raise ValidationError.from_exception_data("sources", problems)
        return tuple(parsed)

    def _parse_one(
        self, index: int, item: object, problems: list[InitErrorDetails]
    ) -> SourceConfig | None:
        if isinstance(item, SourceConfig):
            return item
        if not isinstance(item, dict):
            problems.append(
                _problem((index,), item, "a source must be a mapping with name, type and options")
            )
            return None
        type_name = item.get("type")
        if type_name is None:
            problems.append(InitErrorDetails(type="missing", loc=(index, "type"), input=item))
            return None
        if not isinstance(type_name, str) or type_name not in self._types:
            known = ", ".join(self.names())
            problems.append(
                _problem(
                    (index, "type"),
                    type_name,
                    f"unknown source type '{type_name}'; known types: {known}",
                )
            )
            # The fields every source has can still be checked.
            common = {k: v for k, v in item.items() if k in _COMMON_KEYS and k != "type"}
            self._collect(index, SourceConfig, {**common, "type": "?"}, problems)
            return None
        return self._collect(index, self._types[type_name].model, item, problems)

    @staticmethod
    def _collect(
        index: int, model: type[SourceConfig], item: object, problems: list[InitErrorDetails]
    ) -> SourceConfig | None:
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                problems.append(
                    _problem((index, *error["loc"]), error["input"], error["msg"], error["type"])
                )
            return None


def _problem(
    loc: tuple[int | str, ...], value: Any, message: str, kind: str = "source_config"
) -> InitErrorDetails:
    # The message goes in as context so braces in user values are never read as a template.
    error = PydanticCustomError(kind, "{message}", {"message": message})
    return InitErrorDetails(type=error, loc=loc, input=value)


_COMMON_KEYS = frozenset(
    {*SourceConfig.model_fields, *(f.alias for f in SourceConfig.model_fields.values() if f.alias)}
)

SOURCE_TYPES = SourceTypes([GIT, AWS, GITHUB, GITLAB, JENKINS, LOCATION])
"""The source types Stagegraph knows: one line per source package."""


def parse_sources(raw: object) -> tuple[SourceConfig, ...]:
    """Validate a ``sources:`` list against every known source type (see
    :meth:`SourceTypes.parse`)."""
    return SOURCE_TYPES.parse(raw)


Sources = Annotated[tuple[SourceConfig, ...], BeforeValidator(parse_sources)]
"""The field type of ``sources`` in a settings model: :func:`parse_sources` validates a
whole list and raises one :class:`pydantic.ValidationError` listing every problem, each
located relative to the list (``(0, "schedule", "every")``), so inside a settings model
the locations start with the field name (``("sources", 0, "schedule", "every")``)."""
