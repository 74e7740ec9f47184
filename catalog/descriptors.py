"""Reading descriptor files: safe YAML with size and alias limits, line numbers per document,
and ``$text`` / ``$json`` / ``$yaml`` placeholders.

Nothing here does I/O: callers pass the file text and, for placeholders, a function that
reads a path relative to the descriptor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from catalog.errors import DescriptorError, SourceLocation

MAX_DESCRIPTOR_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 100_000
PLACEHOLDER_KEYS = frozenset({"$text", "$json", "$yaml"})


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


def _too_big(data: Any) -> bool:
    """True when the document, aliases expanded, has more than MAX_NODES nodes."""
    stack = [data]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def parse_descriptors(text: str, file: str) -> ParsedFile:
    """Parse every YAML document in ``text``; empty documents are skipped."""
    result = ParsedFile()
    if len(text.encode("utf-8", errors="replace")) > MAX_DESCRIPTOR_BYTES:
        result.error = DescriptorError(
            f"file is larger than {MAX_DESCRIPTOR_BYTES} bytes; split it into several descriptors",
            SourceLocation(file),
        )
        return result
    loader = _LimitedLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            data = loader.construct_document(node)
            if data is None:
                continue
            if _too_big(data):
                result.error = DescriptorError(
                    f"document expands to more than {MAX_NODES} nodes (aliases?); simplify it",
                    SourceLocation(file, line),
                )
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
    finally:
        loader.dispose()
    return result


def _load_limited_yaml(text: str) -> Any:
    """One YAML document, under the same size and alias limits as a descriptor file."""
    if len(text.encode("utf-8", errors="replace")) > MAX_DESCRIPTOR_BYTES:
        raise yaml.YAMLError(f"larger than {MAX_DESCRIPTOR_BYTES} bytes")
    loader = _LimitedLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if _too_big(data):
        raise yaml.YAMLError(f"expands to more than {MAX_NODES} nodes (aliases?)")
    return data


def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in PLACEHOLDER_KEYS


def is_remote(target: str) -> bool:
    return "://" in target


ReadRelative = Callable[[str], str]
"""Reads a path relative to the descriptor; raises ``OSError`` (or a subclass) when it cannot."""


def resolve_placeholders(data: Any, read: ReadRelative) -> tuple[Any, list[str]]:
    """Replace ``{$text: path}`` (and ``$json``, ``$yaml``) by the content of ``path``.

    Remote targets (``https://...``) and unreadable files stay as they are; each yields a
    warning, never an error, so the entity is still ingested.
    """
    warnings: list[str] = []

    def walk(value: Any, path: str) -> Any:
        if is_placeholder(value):
            key, target = next(iter(value.items()))
            if not isinstance(target, str) or not target:
                warnings.append(f"{path}: {key} needs a path string; left unresolved")
                return value
            if is_remote(target):
                warnings.append(
                    f"{path}: {key} {target} is remote and was not fetched; left unresolved"
                )
                return value
            try:
                content = read(target)
            except OSError as exc:
                warnings.append(
                    f"{path}: {key} {target} could not be read ({exc}); left unresolved"
                )
                return value
            if key == "$text":
                return content
            try:
                return json.loads(content) if key == "$json" else _load_limited_yaml(content)
            except (ValueError, yaml.YAMLError) as exc:
                warnings.append(f"{path}: {key} {target} is not valid ({exc}); left unresolved")
                return value
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    return walk(data, ""), warnings
