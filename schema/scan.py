"""The scan of a GraphQL document before it is parsed: caps on its size and shape.

graphql-core's parser and validator are pure Python (~10 µs per token on this project's
machines), so a 1 MB document of ten thousand operations, directives or fragments holds the
event loop for seconds before any limit on its operations can look at it. This scan reads
the text once with one regular expression, counting as it goes, and stops at the first cap
it passes: refusing the worst 1 MB document costs the scan of at most ``max_tokens`` tokens.

The caps (:class:`DocumentCaps`) and what each counts:

- **length**: characters of the document (the ``query`` text; variables do not count).
- **tokens**: names, values, punctuation and comments (a string is one token).
- **operations**: ``query``/``mutation``/``subscription`` definitions and anonymous ``{ }``.
- **fragments**: ``fragment`` definitions.
- **directives**: ``@`` uses, anywhere in the document.
- **nesting**: braces, brackets and parentheses open at once (bounds the parser's recursion).
- **repeats**: times one response name (a field's alias, or its name) is asked for in one
  selection set. graphql-core's check that same-named fields can be merged compares them in
  pairs, so 200 copies of one field cost 20,000 comparisons and 1,900 copies of `__typename`
  stall the loop for tens of milliseconds after parsing; counted here, the same document is
  refused before it is parsed. Fields that meet through fragments are not seen by the scan:
  the merge budget (``QueryLimits.max_merges``) bounds those.

The scan is a lexer, not a parser: a document it lets through may still be refused by the
parser with a syntax error, and counts in an invalid document are approximate. In a valid
document they are exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from graphql import GraphQLError

from schema.errors import LIMIT_CODE

_TOKEN = re.compile(
    r"""
      "{3}(?:[^"\\]++|\\"{3}|\\|"(?!""))*+"{3}   # block string
    | "(?:[^"\\\r\n]++|\\.)*+"                   # string
    | \#[^\r\n]*+                                # comment
    | \.\.\.                                     # spread
    | [_A-Za-z][_0-9A-Za-z]*+                    # name
    | -?[0-9][_0-9A-Za-z.+-]*+                   # number
    | [^\s,\ufeff]                               # punctuator, or a character the parser refuses
    """,
    re.VERBOSE,
)
_OPEN = frozenset("{[(")
_CLOSE = frozenset("}])")


@dataclass(frozen=True)
class DocumentCaps:
    """The caps on one document; the defaults are Stagegraph's."""

    max_length: int = 100_000
    max_tokens: int = 2_000
    max_operations: int = 20
    max_fragments: int = 100
    max_directives: int = 50
    max_nesting: int = 64
    max_repeats: int = 30


_ADVICE = {
    "length": ("characters", "send a shorter document; put large values in `variables`"),
    "tokens": ("tokens", "split the document into smaller queries"),
    "operations": (
        "operations",
        "send one operation per request (the others are parsed and checked for nothing)",
    ),
    "fragments": ("fragment definitions", "send only the fragments the operation spreads"),
    "directives": (
        "directives",
        "use fewer @skip/@include; one on a parent field covers its children",
    ),
    "nesting": ("levels of nested braces, brackets or parentheses", "nest less deeply"),
    "repeats": (
        "copies of one field in a selection set",
        "ask for each field once, and give copies with different arguments different aliases",
    ),
}


def document_error(limit: str, maximum: int) -> GraphQLError:
    """A ``QUERY_TOO_COMPLEX`` error for a document over one of its caps."""
    noun, advice = _ADVICE[limit]
    return GraphQLError(
        f"the document has more than {maximum} {noun}: {advice}",
        extensions={"code": LIMIT_CODE, "limit": limit, "maximum": maximum},
    )


@dataclass(frozen=True)
class Scan:
    """What the scan found: the operations counted, and the error of the first cap passed."""

    operations: int
    error: GraphQLError | None = None


def scan_document(text: str, caps: DocumentCaps) -> Scan:
    """Scans ``text`` up to the first cap it passes (at most ``caps.max_tokens + 1`` tokens)."""
    if len(text) > caps.max_length:
        return Scan(0, document_error("length", caps.max_length))
    operations = fragments = directives = nesting = 0
    in_header = False  # between a definition's keyword and its selection set
    # One entry per open bracket: the response names counted in a selection set (a dict),
    # or None for a bracket that holds arguments, values or variables (names there are not
    # fields). ``previous`` is the token before, to tell a field from an alias's field name,
    # a directive, a fragment spread or a type condition.
    opened: list[dict[str, int] | None] = []
    previous = ""
    for tokens, match in enumerate(_TOKEN.finditer(text), start=1):
        if tokens > caps.max_tokens:
            return Scan(operations, document_error("tokens", caps.max_tokens))
        token = match.group()
        first = token[0]
        if first in _OPEN:
            if nesting == 0 and first == "{":
                if not in_header:  # an anonymous operation: `{ ... }`
                    operations += 1
                in_header = False
            nesting += 1
            if nesting > caps.max_nesting:
                return Scan(operations, document_error("nesting", caps.max_nesting))
            in_selection = first == "{" and (not opened or opened[-1] is not None)
            opened.append({} if in_selection else None)
        elif first in _CLOSE:
            nesting = max(nesting - 1, 0)
            if opened:
                opened.pop()
        elif first == "@":
            directives += 1
            if directives > caps.max_directives:
                return Scan(operations, document_error("directives", caps.max_directives))
        elif nesting == 0 and not in_header and (first.isalpha() or first == "_"):
            in_header = True
            if token == "fragment":
                fragments += 1
                if fragments > caps.max_fragments:
                    return Scan(operations, document_error("fragments", caps.max_fragments))
            else:
                operations += 1
        elif opened and (first.isalpha() or first == "_") and previous not in _NOT_A_FIELD:
            names = opened[-1]
            if names is not None and not (token == "on" and previous == "..."):
                count = names.get(token, 0) + 1
                if count > caps.max_repeats:
                    return Scan(operations, document_error("repeats", caps.max_repeats))
                names[token] = count
        if operations > caps.max_operations:
            return Scan(operations, document_error("operations", caps.max_operations))
        previous = token
    return Scan(operations)


# A name after one of these in a selection set is not a response name: the field after an
# alias (`a: field`), a directive (`@skip`), a spread fragment (`...Owner`) or a type
# condition (`... on API`: `on` after `...` is skipped where it is read).
_NOT_A_FIELD = frozenset({":", "@", "...", "on"})


@lru_cache(maxsize=512)
def _operations_passed(text: str, caps: DocumentCaps) -> int | None:
    scan = scan_document(text, caps)
    return scan.operations if scan.error is None else None


def scan_remembered(text: str, caps: DocumentCaps) -> Scan:
    """:func:`scan_document`, remembered for the last 512 documents that passed every cap
    (the request path scans each document twice: for its operations, then before parsing).
    A refused document is scanned again each time, so its error is a fresh object."""
    operations = _operations_passed(text, caps)
    return Scan(operations) if operations is not None else scan_document(text, caps)
