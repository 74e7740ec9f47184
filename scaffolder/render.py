"""Rendering ``${{ }}`` expressions the way Backstage's scaffolder does (Nunjucks syntax), in
a sandbox.

- Variables are written ``${{ expression }}``; blocks ``{% if %}``/``{% for %}`` and comments
  ``{# #}`` as in Nunjucks. A value that is *one* expression and nothing else keeps its type
  (a list stays a list, a number a number); any other string is rendered to a string.
- The context is ``parameters``, ``steps``, ``user``, ``secrets`` and, in skeleton files,
  ``values``. A name or member that does not exist renders empty (as in Nunjucks), so
  ``steps['skipped'].output.url`` is simply empty.
- Filters: Backstage's ``dump`` (JSON), ``parseRepoUrl``, ``parseEntityRef``, ``pick``,
  ``projectSlug``, and Jinja's standard ones (``lower``, ``replace``, ``join``, ...).
- The sandbox (Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment`): no attribute starting
  with ``_`` (so no ``''.__class__.__mro__``), no template loader (``include`` and ``import``
  find nothing), no filesystem, network or Python builtins; ``*`` and ``**`` are capped so an
  expression cannot build a huge value. A refused access raises :class:`ExpressionError`
  naming what was refused.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jinja2 import ChainableUndefined, TemplateError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from scaffolder.errors import ExpressionError

#: The largest string or list ``*`` may build, and the largest exponent ``**`` takes.
MAX_REPEAT = 1_000_000
MAX_EXPONENT = 100

_SINGLE = re.compile(r"^\s*\$\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)


def parse_repo_url(url: str) -> dict[str, str]:
    """Backstage's ``RepoUrlPicker`` value ``github.com?owner=o&repo=r`` (also ``organization``,
    ``workspace``, ``project``) -> ``{host, owner, repo, ...}``."""
    if not isinstance(url, str) or not url:
        raise ExpressionError(
            f"parseRepoUrl needs a repository URL like host?owner=o&repo=r, not {url!r}"
        )
    parts = urlsplit(url if "://" in url else f"https://{url}")
    found = {"host": parts.netloc}
    for key, values in parse_qs(parts.query).items():
        if key in ("owner", "repo", "organization", "workspace", "project") and values:
            found[key] = values[0]
    if "repo" not in found:
        raise ExpressionError(
            f"the repository URL {url!r} has no repo=...; write host?owner=o&repo=r"
        )
    return found


def parse_entity_ref(ref: str, context: Mapping[str, str] | None = None) -> dict[str, str]:
    """``kind:namespace/name`` with defaults from ``context`` (``defaultKind``,
    ``defaultNamespace``) -> ``{kind, namespace, name}``."""
    if not isinstance(ref, str) or not ref:
        raise ExpressionError(f"parseEntityRef needs an entity ref, not {ref!r}")
    defaults = dict(context or {})
    kind, _, rest = ref.partition(":") if ":" in ref else (defaults.get("defaultKind", ""), "", ref)
    namespace, _, name = (
        rest.partition("/")
        if "/" in rest
        else (
            defaults.get("defaultNamespace", "default"),
            "",
            rest,
        )
    )
    if not kind:
        raise ExpressionError(f"the entity ref {ref!r} has no kind; write kind:namespace/name")
    return {"kind": kind, "namespace": namespace, "name": name}


def pick(value: Any, key: str) -> Any:
    """The member ``key`` of an object (``parseRepoUrl | pick('owner')``)."""
    return value.get(key) if isinstance(value, Mapping) else None


def project_slug(url: str) -> str:
    """``github.com?owner=o&repo=r`` -> ``o/r`` (GitLab: the owner may hold subgroups)."""
    parsed = parse_repo_url(url)
    return f"{parsed.get('owner') or parsed.get('organization', '')}/{parsed['repo']}"


def dump(value: Any, spaces: int | None = None) -> str:
    """Nunjucks' ``dump``: the value as JSON (strings quoted and escaped)."""
    return json.dumps(_plain(value), indent=spaces, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox that raises at once on a refused attribute (Jinja's returns an
    undefined value that only fails when used) and caps ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(
            f"access to {attribute!r} of a {type(obj).__name__} value is not allowed in a "
            "template expression"
        )

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"an exponent over {MAX_EXPONENT} is not allowed")
            return operator.pow(left, right)
        for seq, count in ((left, right), (right, left)):
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(count, int)
                and len(seq) * count > MAX_REPEAT
            ):
                raise SecurityError(f"a value over {MAX_REPEAT} items is not allowed")
        return operator.mul(left, right)


def _environment() -> _Sandbox:
    env = _Sandbox(
        variable_start_string="${{",
        variable_end_string="}}",
        undefined=ChainableUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    for name in ("lipsum", "cycler", "joiner", "namespace", "range", "dict"):
        env.globals.pop(name, None)
    env.filters.update(
        dump=dump,
        parseRepoUrl=parse_repo_url,
        parseEntityRef=parse_entity_ref,
        pick=pick,
        projectSlug=project_slug,
    )
    return env


_ENV = _environment()


def _refused(exc: Exception, text: str) -> ExpressionError:
    snippet = text if len(text) <= 120 else f"{text[:117]}..."
    if isinstance(exc, SecurityError):
        return ExpressionError(f"the expression in {snippet!r} was refused: {exc}")
    if isinstance(exc, ExpressionError):
        return exc
    return ExpressionError(f"could not render {snippet!r}: {exc}")


def render_text(text: str, context: Mapping[str, Any]) -> str:
    """Render a string (a step input or a skeleton file) to a string."""
    if "${{" not in text and "{%" not in text and "{#" not in text:
        return text
    try:
        return _ENV.from_string(text).render(dict(context))
    except (TemplateError, ExpressionError, TypeError, ValueError, ArithmeticError) as exc:
        raise _refused(exc, text) from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside ``value`` (lists and mappings walked); a string that is one
    expression alone keeps the expression's type."""
    if isinstance(value, str):
        single = _SINGLE.match(value)
        if single is None:
            return render_text(value, context)
        try:
            result = _ENV.compile_expression(single["expr"], undefined_to_none=True)(
                **dict(context)
            )
        except (TemplateError, ExpressionError, TypeError, ValueError, ArithmeticError) as exc:
            raise _refused(exc, value) from None
        return _plain(result)
    if isinstance(value, Mapping):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    return value


def is_truthy(value: Any) -> bool:
    """How a step's ``if`` reads: false, empty, null, ``"false"`` and 0 skip the step."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "null", "undefined")
    return bool(value)
