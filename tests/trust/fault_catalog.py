"""A 500-entity git catalog for the source-fault runs, and the faults done to its files.

The layout reaches entities both ways the git source finds them:

- ``catalog-info.yaml`` (root): a Location whose targets are ``org/teams-*.yaml`` (4 Groups
  each) and ``locations/apis-*.yaml`` (Locations whose targets are ``apis/api-*.yaml``).
  Groups and APIs are reachable *only* through Location files.
- ``services/svc-N/catalog-info.yaml``: discovered at any depth; a Component, and for the
  first :data:`RESOURCES` services a second document, the Resource it depends on.

1 + 20 + 4 + 40 + 300 + 135 = 500 entities. :class:`CatalogState` is one good version of
those files; its ``revisions`` and ``absent`` services change between runs so that runs
write, update and delete.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

GROUPS = 20
GROUP_FILES = 5
API_LOCATIONS = 4
APIS_PER_LOCATION = 10
APIS = API_LOCATIONS * APIS_PER_LOCATION
SERVICES = 300
RESOURCES = 135
ENTITY_COUNT = 1 + GROUPS + API_LOCATIONS + APIS + SERVICES + RESOURCES
ROOT = "catalog-info.yaml"


def service_path(index: int) -> str:
    return f"services/svc-{index}/catalog-info.yaml"


def _group_doc(index: int) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Group\n"
        f"metadata:\n  name: team-{index}\n"
        f"spec:\n  type: team\n  children: []\n"
    )


def _api_doc(index: int) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: API\n"
        f"metadata:\n  name: api-{index}\n  description: API number {index}\n"
        "spec:\n  type: openapi\n  lifecycle: production\n"
        f"  owner: team-{index % GROUPS}\n"
        f"  definition: |\n    openapi: 3.0.0\n    info: {{title: api-{index}, version: '1'}}\n"
    )


def _location_doc(name: str, targets: list[str]) -> str:
    listed = "".join(f"    - {t}\n" for t in targets)
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\n"
        f"metadata:\n  name: {name}\nspec:\n  targets:\n{listed}"
    )


def _service_doc(index: int, revision: int) -> str:
    depends = [f"resource:db-{index}"] if index < RESOURCES else []
    if index > 0:
        depends.append(f"component:svc-{index - 1}")
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: svc-{index}\n  description: service {index} revision {revision}\n"
        "spec:\n  type: service\n  lifecycle: production\n"
        f"  owner: team-{index % GROUPS}\n"
        f"  providesApis: [api-{index % APIS}]\n"
        f"  dependsOn: [{', '.join(depends)}]\n"
    )
    if index < RESOURCES:
        text += (
            "---\napiVersion: backstage.io/v1alpha1\nkind: Resource\n"
            f"metadata:\n  name: db-{index}\n"
            f"spec:\n  type: database\n  owner: team-{index % GROUPS}\n"
        )
    return text


@dataclass
class CatalogState:
    """One good version of the catalog's files."""

    revisions: dict[int, int] = field(default_factory=dict)
    absent: set[int] = field(default_factory=set)

    def files(self) -> dict[str, str]:
        targets = [f"./org/teams-{k}.yaml" for k in range(GROUP_FILES)]
        targets += [f"./locations/apis-{m}.yaml" for m in range(API_LOCATIONS)]
        files = {ROOT: _location_doc("root", targets)}
        per_file = GROUPS // GROUP_FILES
        for k in range(GROUP_FILES):
            docs = [_group_doc(k * per_file + j) for j in range(per_file)]
            files[f"org/teams-{k}.yaml"] = "---\n".join(docs)
        for m in range(API_LOCATIONS):
            apis = range(m * APIS_PER_LOCATION, (m + 1) * APIS_PER_LOCATION)
            files[f"locations/apis-{m}.yaml"] = _location_doc(
                f"apis-{m}", [f"../apis/api-{n}.yaml" for n in apis]
            )
        for n in range(APIS):
            files[f"apis/api-{n}.yaml"] = _api_doc(n)
        for i in range(SERVICES):
            if i not in self.absent:
                files[service_path(i)] = _service_doc(i, self.revisions.get(i, 0))
        return files

    def evolve(self, rng: random.Random) -> None:
        """A developer's change: some services edited, a few removed or brought back."""
        for i in rng.sample(range(SERVICES), rng.randint(5, 60)):
            self.revisions[i] = self.revisions.get(i, 0) + 1
        toggled = set(rng.sample(range(SERVICES), rng.randint(0, 8)))
        self.absent ^= toggled


def location_files() -> list[str]:
    """The Location files other than the root (each the only way to its APIs)."""
    return [f"locations/apis-{m}.yaml" for m in range(API_LOCATIONS)]


def plain_files(files: dict[str, str]) -> list[str]:
    """Files that hold no Location: Groups, APIs and services."""
    return sorted(p for p in files if p != ROOT and not p.startswith("locations/"))


def garble(text: str, rng: random.Random) -> bytes:
    """A broken file in place of a good one, still UTF-8: never empty, never a valid entity
    (a YAML syntax error, or a document that is not a mapping with kind and name)."""
    choice = rng.randrange(5)
    if choice == 0:
        return ("{{{{\n" + text).encode()
    if choice == 1:
        return text.replace("\n", "\n\t", 3).encode()  # tabs in indentation
    if choice == 2:
        return b"- just\n- a list\n- of words\n"
    if choice == 3:
        cut = rng.randrange(1, text.index("\n"))  # inside the first line
        return (text[:cut] + '\n  "unterminated: [\n').encode()
    return ("kind: [" + "".join(rng.choice("{}[]:,&*!|>'\"%@`") for _ in range(40))).encode()


def undecodable(text: str, rng: random.Random) -> bytes:
    """A file git stores fine but that is not UTF-8 (issue 9 item 1)."""
    choice = rng.randrange(3)
    if choice == 0:
        return text.replace("service", "servic\xe9", 1).encode("latin-1")
    if choice == 1:
        return b"\x00" + text.encode()
    return bytes(rng.randrange(256) for _ in range(200)) + b"\xff\xfe"


def oversized(text: str) -> bytes:
    """The file padded past the git source's 1 MB read limit: unreadable, not changed."""
    return (text + "# " + "x" * 1_100_000 + "\n").encode()
