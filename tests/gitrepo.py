"""Real git repositories made in a test, driven by the git CLI."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Stagegraph Tests",
    "GIT_AUTHOR_EMAIL": "tests@stagegraph.invalid",
    "GIT_COMMITTER_NAME": "Stagegraph Tests",
    "GIT_COMMITTER_EMAIL": "tests@stagegraph.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


class GitRepo:
    """A work tree with a ``main`` branch; ``write`` + ``commit`` as a developer would."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=_ENV, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())

    def remove(self, relative: str) -> None:
        self.git("rm", "--quiet", relative)

    def commit(self, message: str = "change") -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def url(self) -> str:
        return f"file://{self.path}"


#: An API whose definition is ``$text: {target}`` (``.format(target=...)``).
API_WITH_TEXT = """\
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition:
    $text: {target}
"""


def component(name: str, owner: str = "team-a", **spec: str | list[str]) -> str:
    """A Component descriptor document as YAML text."""
    lines = [
        "apiVersion: backstage.io/v1alpha1",
        "kind: Component",
        "metadata:",
        f"  name: {name}",
        "spec:",
        "  type: service",
        "  lifecycle: production",
    ]
    if owner:
        lines.append(f"  owner: {owner}")
    for key, value in spec.items():
        if isinstance(value, list):
            lines.append(f"  {key}: [{', '.join(value)}]")
        else:
            lines.append(f"  {key}: {value}")
    return "\n".join(lines) + "\n"


def group(name: str, children: list[str] | None = None) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Group\n"
        f"metadata:\n  name: {name}\nspec:\n  type: team\n  children: [{', '.join(children or [])}]\n"
    )
