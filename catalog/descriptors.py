"""Reading descriptor files: safe YAML with size and alias limits, line numbers per document,
and ``$text`` / ``$json`` / ``$yaml`` placeholders.

long: safe YAML, per-document lines, file checks and the three placeholder forms are one
reading pipeline whose limits must be read together to see nothing unbounded gets through.

Files are parsed with libyaml (``yaml.CSafeLoader``) when PyYAML has it; a file with a YAML
error or too many aliases is parsed again with the pure-Python loader, whose messages and
positions are the ones reported. Either way the alias count is limited and the expanded
size and nesting depth of every document are bounded (``_oversized``).

Nothing here does I/O: callers pass the file text and, for placeholders, a function that
reads a path relative to the descriptor.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from catalog.errors import DescriptorError, SourceLocation

MAX_DESCRIPTOR_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 100_000
MAX_DEPTH = 64
PLACEHOLDER_KEYS = frozenset({"$text", "$json", "$yaml"})

#: plain scalars up to this length have their resolved tag remembered
_REMEMBERED_LENGTH = 64
_REMEMBERED_COUNT = 100_000


if yaml.__with_libyaml__:

    class _CLoader(yaml.CSafeLoader):
        """libyaml's loader (SafeLoader's constructors and resolver, the scanning and
        parsing in C) that remembers the tag of short plain scalars: a catalog repeats
        the same words (kinds, lifecycles, owners), and resolving each one again is a
        quarter of the parse. Safe because SafeLoader has no path resolvers, so a plain
        scalar's tag depends on its text alone."""

        _tags: ClassVar[dict[str, str]] = {}

        def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode and implicit[0]:
                tag: str | None = self._tags.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                    if len(value) <= _REMEMBERED_LENGTH and len(self._tags) < _REMEMBERED_COUNT:
                        self._tags[value] = tag
                return tag
            resolved: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            return resolved

else:  # pragma: no cover - PyYAML built without libyaml
    _CLoader = None  # type: ignore[assignment, misc]

_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
_UNSET: Any = object()


@dataclass(frozen=True)
class RawDocument:
    """One YAML document of a descriptor file, with the line it starts on."""

    data: Any
    location: SourceLocation


@dataclass
class ParsedFile:
    """The documents of a file that parsed, and the error that stopped parsing, if any."""

    documents: list[RawDocument] = field(default_factory=list)
    error: DescriptorError | None = None


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that refuses YAML with too many aliases (the 'billion laughs' shape)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError(
                    problem=f"more than {MAX_ALIASES} aliases in one file; expand them",
                    problem_mark=event.start_mark,
                )
        return super().compose_node(parent, index)


def _oversized(data: Any) -> str | None:
    """Why the document is too big to take, or None: more than MAX_NODES nodes (aliases
    expanded), or nested deeper than MAX_DEPTH (which later serialization cannot take)."""
    stack = [(data, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return f"document expands to more than {MAX_NODES} nodes (aliases?); simplify it"
        if depth > MAX_DEPTH:
            return f"document is nested more than {MAX_DEPTH} levels deep; flatten it"
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    return None


def _count_aliases(root: yaml.Node) -> int:
    """Aliases in a composed document: references to a node already met (an alias is the
    anchored node itself, shared)."""
    seen: set[int] = set()
    aliases = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            aliases += 1
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return aliases


class _Unusual(Exception):
    """A node :func:`_construct` leaves to PyYAML's constructor."""


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "binary", "timestamp")
)
_KEY_TAGS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})


def _construct(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.Node, depth: int = 1) -> Any:
    """What ``loader.construct_document(node)`` returns, for a document without aliases,
    with less work per node: strings, mappings and sequences are built here, other
    scalars by SafeConstructor's own functions. Raises :class:`_Unusual` for the rest
    (merge keys, sets, ordered maps, other tags, unhashable keys, nesting deeper than
    MAX_DEPTH)."""
    if depth > MAX_DEPTH:
        raise _Unusual
    tag = node.tag
    kind = type(node)
    if kind is yaml.ScalarNode:
        if tag == _STR_TAG:
            return node.value
        if tag not in _SCALAR_TAGS:
            raise _Unusual
        return loader.yaml_constructors[tag](loader, node)
    if kind is yaml.MappingNode and tag == _MAP_TAG:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag in _KEY_TAGS:
                raise _Unusual
            key = _construct(loader, key_node, depth + 1)
            value = _construct(loader, value_node, depth + 1)
            try:
                mapping[key] = value
            except TypeError:  # an unhashable key
                raise _Unusual from None
        return mapping
    if kind is yaml.SequenceNode and tag == _SEQ_TAG:
        return [_construct(loader, item, depth + 1) for item in node.value]
    raise _Unusual


def _parse_fast(text: str, file: str) -> ParsedFile | None:
    """Parse with libyaml (``CSafeLoader``, ~10x faster), or return None when only the
    pure-Python loader gives the right answer: the file has a YAML error (PyYAML's
    messages and positions are the ones reported), more than MAX_ALIASES aliases (the
    error names the first one over), or characters PyYAML refuses."""
    if _CLoader is None or _NON_PRINTABLE.search(text):
        return None
    result = ParsedFile()
    loader = _CLoader(text)
    aliases = 0
    start = 1  # the line the document being read starts on (for a nesting error)
    may_alias = "*" in text  # an alias is written *name
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            start = node.end_mark.line + 1  # where the next document begins, about
            if may_alias:
                aliases += _count_aliases(node)
                if aliases > MAX_ALIASES:
                    return None
            data = _UNSET
            if not may_alias:
                with contextlib.suppress(_Unusual, RecursionError):
                    data = _construct(loader, node)
            # _construct bounds the depth; without aliases a document cannot have more nodes
            # than the text has characters.
            checked = data is not _UNSET and len(text) <= MAX_NODES
            if data is _UNSET:
                data = loader.construct_document(node)
            if data is None:
                continue
            location = SourceLocation(file, node.start_mark.line + 1)
            problem = None if checked else _oversized(data)
            if problem is not None:
                result.error = DescriptorError(problem, location)
                return result
            result.documents.append(RawDocument(data, location))
    except RecursionError:
        # Said here: the pure-Python loader takes seconds to find the same (its scanner is
        # quadratic in the nesting depth).
        result.error = DescriptorError(
            "YAML error: nested too deeply to read; flatten the document",
            SourceLocation(file, start),
        )
    except yaml.MarkedYAMLError as exc:
        if exc.problem_mark is None or "nesting depth" not in (exc.problem or ""):
            return None
        # libyaml's own limit (1,000 levels), said here too: the pure-Python loader's
        # scanner is quadratic in the depth and would take seconds to fail.
        mark = exc.problem_mark
        result.error = DescriptorError(
            "YAML error: nested more than 1000 levels deep; flatten the document",
            SourceLocation(file, mark.line + 1, mark.column + 1),
        )
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return result


def parse_descriptors(text: str, file: str) -> ParsedFile:
    """Parse every YAML document in ``text``; empty documents are skipped."""
    result = ParsedFile()
    if len(text.encode("utf-8", errors="replace")) > MAX_DESCRIPTOR_BYTES:
        result.error = DescriptorError(
            f"file is larger than {MAX_DESCRIPTOR_BYTES} bytes; split it into several descriptors",
            SourceLocation(file),
        )
        return result
    fast = _parse_fast(text, file)
    if fast is not None:
        return fast
    try:
        loader = _LimitedLoader(text)
    except yaml.reader.ReaderError as exc:  # raised before any parsing: a character YAML refuses
        result.error = _unreadable_character(exc, text, file)
        return result
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            data = loader.construct_document(node)
            if data is None:
                continue
            problem = _oversized(data)
            if problem is not None:
                result.error = DescriptorError(problem, SourceLocation(file, line))
                return result
            result.documents.append(RawDocument(data, SourceLocation(file, line)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            where = SourceLocation(file, mark.line + 1, mark.column + 1)
        else:
            where = SourceLocation(file)
        result.error = DescriptorError(f"YAML error: {problem}", where)
    except yaml.YAMLError as exc:
        result.error = DescriptorError(f"YAML error: {exc}", SourceLocation(file))
    except RecursionError:
        result.error = DescriptorError(
            "YAML error: nested too deeply to read; flatten the document", SourceLocation(file)
        )
    finally:
        loader.dispose()
    return result


def _unreadable_character(exc: yaml.reader.ReaderError, text: str, file: str) -> DescriptorError:
    """The error for a character YAML does not allow (a NUL byte, a control character),
    with the line and column where it is."""
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    code = exc.character if isinstance(exc.character, int) else 0
    return DescriptorError(
        f"YAML error: the control character U+{code:04X} is not allowed in YAML; "
        "remove it (is this a binary file?)",
        SourceLocation(file, line, column),
    )


def _load_limited_yaml(text: str) -> Any:
    """One YAML document, under the same size and alias limits as a descriptor file."""
    if len(text.encode("utf-8", errors="replace")) > MAX_DESCRIPTOR_BYTES:
        raise yaml.YAMLError(f"larger than {MAX_DESCRIPTOR_BYTES} bytes")
    loader = _LimitedLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    problem = _oversized(data)
    if problem is not None:
        raise yaml.YAMLError(problem)
    return data


def _load_limited_json(text: str) -> Any:
    """A JSON document, under the same node and depth limits as a descriptor."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    problem = _oversized(data)
    if problem is not None:
        raise ValueError(problem)
    return data


def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in PLACEHOLDER_KEYS


def is_remote(target: str) -> bool:
    return "://" in target


ReadRelative = Callable[[str], str]
"""Reads a path relative to the descriptor; raises ``OSError`` (or a subclass) when it cannot."""


def placeholder_targets(data: Any) -> list[str]:
    """The local paths the placeholders in ``data`` would read (to fetch them ahead)."""
    found: list[str] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if is_placeholder(value):
            target = next(iter(value.values()))
            if isinstance(target, str) and target and not is_remote(target):
                found.append(target)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def has_placeholder(data: Any) -> bool:
    """Whether ``data`` holds a placeholder (``{$text: ...}``, ``$json``, ``$yaml``) anywhere."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if is_placeholder(value):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


@dataclass(frozen=True)
class Resolution:
    """What :func:`resolve_placeholders` gives: the data with placeholders replaced, the
    remote targets left unresolved on purpose (``warnings``) and the local targets that
    could not be used (``errors``: missing, unreadable, outside the source, not valid JSON
    or YAML), each left unresolved too. Messages start with the field's path."""

    data: Any
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def resolve_placeholders(data: Any, read: ReadRelative) -> Resolution:
    """Replace ``{$text: path}`` (and ``$json``, ``$yaml``) by the content of ``path``.

    A placeholder that cannot be resolved stays as it is, so the entity is still ingested:
    a remote target (``https://...``, never fetched) with a warning, anything else with an
    error. ``data`` is not modified: the result holds a new structure, or ``data`` itself
    when it has no placeholder.
    """
    result = Resolution(data)
    if not has_placeholder(data):
        return result

    def walk(value: Any, path: str) -> Any:
        if is_placeholder(value):
            key, target = next(iter(value.items()))
            if not isinstance(target, str) or not target:
                result.errors.append(f"{path}: {key} needs a path string; left unresolved")
                return value
            if is_remote(target):
                result.warnings.append(
                    f"{path}: {key} {target} is remote and was not fetched; left unresolved"
                )
                return value
            try:
                content = read(target)
            except OSError as exc:
                result.errors.append(
                    f"{path}: {key} {target} could not be read ({exc}); left unresolved"
                )
                return value
            if key == "$text":
                return content
            try:
                return (
                    _load_limited_json(content) if key == "$json" else _load_limited_yaml(content)
                )
            except (ValueError, yaml.YAMLError) as exc:
                result.errors.append(
                    f"{path}: {key} {target} is not valid ({exc}); left unresolved"
                )
                return value
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    return Resolution(walk(data, ""), result.warnings, result.errors)
