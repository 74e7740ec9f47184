"""CODEOWNERS: parse GitHub's format and find the owner of a path (last matching rule wins).

Patterns follow gitignore rules as GitHub applies them: a pattern with a slash other than
at its end is anchored to the repository root; one without matches at any depth; a
trailing slash matches a directory's contents; ``*`` stays inside one path segment and
``**`` crosses them. As GitHub documents, a trailing ``/*`` (``docs/*``) matches the files
directly in that directory, not those nested deeper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.refs import EntityRef, is_valid_name

#: Where GitHub looks, in its order of precedence.
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]
    line: int


def _translate(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    directory = pattern.endswith("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            out.append("/.*")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    if directory:
        suffix = "/.*"
    elif body.endswith("/*"):
        suffix = ""  # GitHub: `docs/*` owns docs/a.md but not docs/sub/b.md
    else:
        suffix = "(?:/.*)?"
    return re.compile(f"^{prefix}{''.join(out)}{suffix}$")


def parse_codeowners(text: str) -> list[Rule]:
    """Rules in file order; comments and blank lines are skipped.

    A rule without owners is kept: as on GitHub, it leaves the paths it matches unowned.
    """
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        pattern, *owners = line.split()
        if pattern.startswith("\\#"):
            pattern = pattern[1:]
        rules.append(Rule(pattern, _translate(pattern), tuple(owners), number))
    return rules


def owners_for(rules: Sequence[Rule], path: str) -> tuple[str, ...]:
    """The owners of ``path`` (repo-relative, no leading slash): the last matching rule's."""
    for rule in reversed(rules):
        if rule.regex.match(path):
            return rule.owners
    return ()


def owner_ref(owner: str, namespace: str = "default") -> EntityRef | None:
    """``@org/team`` -> ``group:<ns>/team``; ``@user`` -> ``user:<ns>/user``; e-mail -> None."""
    if not owner.startswith("@"):
        return None
    handle = owner[1:]
    if "/" in handle:
        name = handle.split("/", 1)[1]
        return EntityRef("group", namespace, name) if is_valid_name(name) else None
    return EntityRef("user", namespace, handle) if is_valid_name(handle) else None
