"""The filter arguments ``entities`` and ``entityFacets`` share, written once.

:func:`entity_filter` declares every filter (its GraphQL argument: name, type, default,
description) and turns them into the store's :class:`graph.port.EntityFilter`. A root field
resolver decorated with :func:`takes_filters` serves the arguments of :func:`entity_filter`
beside its own and receives them as one :class:`FilterArguments` (``filters``), which it
builds into the store's filter once its own arguments are checked. Adding a filter is one parameter and one
line in :func:`entity_filter` (and the store's ``EntityFilter`` behind it).

The order of a field's arguments in ``schema.graphql``: first those DESIGN.md fixes for it,
in its order (``fixed``), then the other filters in :func:`entity_filter`'s order, then the
field's own other arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

import strawberry

from graph.port import EntityFilter, FieldCondition
from schema.context import Info
from schema.errors import UserInputError
from schema.inputs import parse_input_ref

T = TypeVar("T")

#: The most filter sets, and conditions in one set, a request may give.
MAX_FILTER_SETS = 20
MAX_CONDITIONS = 20


@strawberry.input(
    description="One condition of a filter set, over a dot path into the entity as "
    "Backstage's catalog filters read it (kind, metadata.name, spec.type, "
    "metadata.labels.x, metadata.annotations.x, metadata.tags, relations.ownedBy, ...). "
    "Keys and values match case-insensitively."
)
class EntityFilterCondition:
    key: str = strawberry.field(description="The dot path, e.g. spec.lifecycle.")
    values: list[str] | None = strawberry.field(
        default=None,
        description="The value at the path is one of these (refs for relations.<type>); "
        "left out: the path exists.",
    )
    exists: bool | None = strawberry.field(
        default=None,
        description="false: the entity has no such path (with no values); true or left "
        "out: as values say.",
    )


@strawberry.input(
    name="EntityFilter",
    description="A Backstage filter set: every condition holds. A list of sets matches "
    "the entities that satisfy at least one of them.",
)
class EntityFilterSet:
    conditions: list[EntityFilterCondition] = strawberry.field(
        description="The conditions, all of which must hold."
    )


def _condition(condition: EntityFilterCondition, where: str) -> FieldCondition:
    key = condition.key.strip()
    if not key:
        raise UserInputError(f"{where}.key is empty; give a dot path such as spec.type")
    values = tuple(v.strip() for v in condition.values or ())
    if condition.exists is False:
        if values:
            raise UserInputError(
                f"{where}: exists: false takes no values (it asks that {key} is absent)"
            )
        return FieldCondition(key, negated=True)
    return FieldCondition(key, values)


def filter_sets(sets: list[EntityFilterSet]) -> tuple[tuple[FieldCondition, ...], ...]:
    """The ``filter`` argument as the store's filter sets (an OR of ANDs)."""
    if len(sets) > MAX_FILTER_SETS:
        raise UserInputError(f"filter: at most {MAX_FILTER_SETS} sets, got {len(sets)}")
    found = []
    for i, one in enumerate(sets):
        if len(one.conditions) > MAX_CONDITIONS:
            raise UserInputError(
                f"filter[{i}]: at most {MAX_CONDITIONS} conditions, got {len(one.conditions)}"
            )
        found.append(
            tuple(
                _condition(c, f"filter[{i}].conditions[{j}]") for j, c in enumerate(one.conditions)
            )
        )
    return tuple(found)


async def entity_filter(
    info: Info,
    kind: Annotated[
        list[str] | None,
        strawberry.argument(description="A kind, or a list of kinds (any of them); any case."),
    ] = None,
    namespace: str | None = None,
    owner: str | None = None,
    tag: str | None = None,
    include_subgroups: bool | None = False,
    type: str | None = None,
    lifecycle: str | None = None,
    system: str | None = None,
    annotation: Annotated[
        str | None, strawberry.argument(description="An annotation key, or key=value.")
    ] = None,
    search: str | None = None,
    filter_: Annotated[
        list[EntityFilterSet] | None,
        strawberry.argument(
            name="filter",
            description="Backstage's filter sets: an entity matches when it satisfies "
            "every condition of at least one set (and the other filters).",
        ),
    ] = None,
) -> EntityFilter:
    """The store filter for the arguments given (all of them must match)."""
    owner_keys: tuple[str, ...] = ()
    if owner:
        key = parse_input_ref(owner, "owner", "group").key
        owner_keys = (key,)
        if include_subgroups:
            owner_keys = tuple(await info.context.store.expand_groups([key]))
    annotation_filter = None
    if annotation:
        name, has_value, value = annotation.partition("=")
        annotation_filter = (name.strip(), value.strip() if has_value else None)
    return EntityFilter(
        kinds=tuple(k for k in kind or () if k.strip()),
        namespace=namespace,
        owner_keys=owner_keys,
        tag=tag,
        search=search if search and search.strip() else None,
        types=(type,) if type else (),
        lifecycles=(lifecycle,) if lifecycle else (),
        system_keys=(parse_input_ref(system, "system", "system").key,) if system else (),
        annotation=annotation_filter,
        any_of=filter_sets(filter_) if filter_ else (),
    )


@dataclass(frozen=True)
class FilterArguments:
    """The filter arguments a request gave, by Python name."""

    given: dict[str, Any]

    async def build(self, info: Info) -> EntityFilter:
        """The store filter (checks the refs given, expands subgroups)."""
        return await entity_filter(info, **self.given)


def _parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """``function``'s parameters with their annotations evaluated (strawberry resolves the
    string annotations of ``from __future__ import annotations`` in the resolver's module,
    which would be this one)."""
    hints = get_type_hints(function, include_extras=True)
    return {
        name: parameter.replace(annotation=hints[name], kind=inspect.Parameter.KEYWORD_ONLY)
        for name, parameter in inspect.signature(function).parameters.items()
        if name != "info"
    }


FILTERS = _parameters(entity_filter)
"""The filter arguments, by Python name, in :func:`entity_filter`'s order."""


def _undescribed(parameter: inspect.Parameter) -> inspect.Parameter:
    annotation = parameter.annotation
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return parameter.replace(annotation=annotation)


def takes_filters(
    *fixed: str, undescribed: tuple[str, ...] = ()
) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Awaitable[T]]]:
    """Give a resolver ``(info, filters: FilterArguments, **own)`` every filter argument:
    the GraphQL field takes the filters and the resolver's own arguments (in the order the
    module docstring gives, ``fixed`` first), and the resolver gets the filters as one.
    ``undescribed`` names filters whose description this field leaves out."""

    def decorate(resolver: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        own = _parameters(resolver)
        own.pop("filters")
        filters = {
            name: _undescribed(p) if name in undescribed else p for name, p in FILTERS.items()
        }
        every = {**filters, **own}
        unknown = [name for name in fixed if name not in every]
        twice = [name for name in own if name in filters]
        if unknown or twice:
            raise ValueError(
                f"takes_filters on {resolver.__name__}: fixed names no argument "
                f"({', '.join(unknown)}) or the resolver declares a filter ({', '.join(twice)})"
            )
        order = [
            *fixed,
            *(n for n in filters if n not in fixed),
            *(n for n in own if n not in fixed),
        ]

        async def resolve(info: Info, **arguments: Any) -> T:
            given = {name: arguments.pop(name) for name in FILTERS if name in arguments}
            return await resolver(info, filters=FilterArguments(given), **arguments)

        info_parameter = inspect.Parameter(
            "info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info
        )
        resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [info_parameter, *(every[name] for name in order)],
            return_annotation=get_type_hints(resolver)["return"],
        )
        resolve.__name__ = resolver.__name__
        resolve.__qualname__ = resolver.__qualname__
        resolve.__module__ = resolver.__module__
        resolve.__doc__ = resolver.__doc__
        return resolve

    return decorate
