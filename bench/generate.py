"""Write a synthetic catalog (:mod:`bench.shape`) as Backstage descriptors in a git repository.

Layout, as a company monorepo of catalog files would have it::

    catalog-info.yaml              root Location -> org and domain files
    org/org.yaml                   the organisation and its departments
    org/<department>.yaml          the department's teams and their people
    domains/<department>.yaml      the department's domain and systems
    templates/catalog-info.yaml    Location -> templates/<name>/template.yaml
    services/<name>/catalog-info.yaml   the service, its APIs and its resources
    services/<name>/<api>.yaml     an API definition some APIs read through ``$text``

Service folders are found by discovery (any ``catalog-info.yaml``); the rest is reached
through the Locations. The repository gets one commit with fixed author and dates, so a
seed gives the same commit id. The files are rendered one at a time and streamed into
``git fast-import`` (a million entities is ~400k files: their text is never held at once,
and no work tree is written unless asked).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.shape import Catalog, Department, Service, User, build_catalog

Document = dict[str, Any]
_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Stagegraph bench",
    "GIT_AUTHOR_EMAIL": "bench@stagegraph.invalid",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "Stagegraph bench",
    "GIT_COMMITTER_EMAIL": "bench@stagegraph.invalid",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
V1 = "backstage.io/v1alpha1"


@dataclass(frozen=True)
class Generated:
    """A generated repository: where, which commit, and the catalog written into it."""

    path: Path
    commit: str
    catalog: Catalog
    files: int


def _dump(documents: Iterable[Document]) -> str:
    return yaml.dump_all(
        list(documents), Dumper=_DUMPER, sort_keys=False, default_flow_style=False, width=100
    )


def _location(name: str, targets: list[str]) -> Document:
    return {
        "apiVersion": V1,
        "kind": "Location",
        "metadata": {"name": name},
        "spec": {"targets": targets},
    }


def _group(name: str, kind: str, parent: str | None, children: list[str]) -> Document:
    spec: Document = {"type": kind}
    if parent:
        spec["parent"] = parent
    spec["children"] = children
    spec["profile"] = {"displayName": name.replace("-", " ").title()}
    return {"apiVersion": V1, "kind": "Group", "metadata": {"name": name}, "spec": spec}


def _org_files(catalog: Catalog) -> dict[str, list[Document]]:
    org = catalog.organisation
    top = [_group(org, "organization", None, [d.name for d in catalog.departments])]
    top += [_group(d.name, "department", org, d.teams) for d in catalog.departments]
    files = {"org/org.yaml": top}
    department_of = {t.name: t.department for t in catalog.teams}
    people: dict[int, list[User]] = {}
    for user in catalog.users:
        people.setdefault(department_of[user.teams[0]], []).append(user)
    for index, department in enumerate(catalog.departments):
        documents = [_group(t, "team", department.name, []) for t in department.teams]
        documents += [_user(user, org) for user in people.get(index, [])]
        files[f"org/{department.name}.yaml"] = documents
    return files


def _user(user: User, org: str) -> Document:
    display = user.name.rsplit(".", 1)[0].replace(".", " ").title()  # ada.lovelace.00001
    return {
        "apiVersion": V1,
        "kind": "User",
        "metadata": {"name": user.name},
        "spec": {
            "profile": {"displayName": display, "email": f"{user.name}@{org}.example.com"},
            "memberOf": user.teams,
        },
    }


def _domain_file(department: Department, owners: dict[str, str]) -> list[Document]:
    documents: list[Document] = [
        {
            "apiVersion": V1,
            "kind": "Domain",
            "metadata": {"name": department.domain, "description": f"{department.name}'s area"},
            "spec": {"owner": department.name},
        }
    ]
    for system in department.systems:
        documents.append(
            {
                "apiVersion": V1,
                "kind": "System",
                "metadata": {"name": system},
                "spec": {"owner": owners[system], "domain": department.domain},
            }
        )
    return documents


def _template(name: str, owner: str) -> Document:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {
            "name": name,
            "title": name.replace("-", " ").title(),
            "tags": ["golden-path"],
        },
        "spec": {
            "owner": owner,
            "type": "service",
            "parameters": [
                {
                    "title": "Service details",
                    "required": ["name", "owner"],
                    "properties": {
                        "name": {"title": "Name", "type": "string"},
                        "owner": {"title": "Owner", "type": "string", "ui:field": "OwnerPicker"},
                    },
                }
            ],
            "steps": [
                {"id": "fetch", "name": "Fetch skeleton", "action": "fetch:template"},
                {"id": "publish", "name": "Publish", "action": "publish:github"},
                {"id": "register", "name": "Register", "action": "catalog:register"},
            ],
        },
    }


def _definition(service: Service, api: str) -> str:
    return (
        "openapi: 3.0.3\n"
        f"info:\n  title: {api}\n  version: 1.0.0\n"
        "paths:\n"
        f"  /{service.name}/items:\n"
        "    get:\n      summary: List items\n"
        "      responses:\n        '200':\n          description: OK\n"
    )


def _service_files(service: Service, org: str) -> dict[str, str]:
    area = service.name.split("-", 1)[0]
    annotations = {
        "github.com/project-slug": f"{org}/{service.name}",
        "backstage.io/techdocs-ref": "dir:.",
    }
    if service.template:
        annotations["backstage.io/source-template"] = f"template:default/{service.template}"
    spec: Document = {
        "type": "website" if "-web-" in service.name else "service",
        "lifecycle": service.lifecycle,
        "owner": service.team,
        "system": service.system,
    }
    if service.apis:
        spec["providesApis"] = [api.name for api in service.apis]
    if service.consumes:
        spec["consumesApis"] = service.consumes
    if service.depends_on:
        spec["dependsOn"] = service.depends_on
    documents: list[Document] = [
        {
            "apiVersion": V1,
            "kind": "Component",
            "metadata": {
                "name": service.name,
                "title": service.name.replace("-", " ").capitalize(),
                "description": f"The {area} {service.name.split('-')[1]} of team {service.team}.",
                "tags": [area, "python" if len(service.name) % 2 else "go"],
                "annotations": annotations,
                "links": [
                    {"url": f"https://{service.name}.{org}.example.com", "title": "Dashboard"}
                ],
            },
            "spec": spec,
        }
    ]
    files: dict[str, str] = {}
    for api in service.apis:
        text = _definition(service, api.name)
        definition: str | dict[str, str] = text
        if api.external_definition:
            files[f"{api.name}.yaml"] = text
            definition = {"$text": f"./{api.name}.yaml"}
        documents.append(
            {
                "apiVersion": V1,
                "kind": "API",
                "metadata": {"name": api.name, "tags": [api.type]},
                "spec": {
                    "type": api.type,
                    "lifecycle": service.lifecycle,
                    "owner": service.team,
                    "system": service.system,
                    "definition": definition,
                },
            }
        )
    for resource in service.resources:
        documents.append(
            {
                "apiVersion": V1,
                "kind": "Resource",
                "metadata": {"name": resource.name},
                "spec": {"type": resource.type, "owner": service.team, "system": service.system},
            }
        )
    files["catalog-info.yaml"] = _dump(documents)
    return {f"services/{service.name}/{name}": text for name, text in files.items()}


def files(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """Every file of the repository, as (path, text), one at a time: a million-entity
    catalog is never held as text all at once."""
    departments = [d.name for d in catalog.departments]
    yield (
        "catalog-info.yaml",
        _dump(
            [
                _location(
                    f"{catalog.organisation}-catalog",
                    ["./org/org.yaml"]
                    + [f"./org/{d}.yaml" for d in departments]
                    + [f"./domains/{d}.yaml" for d in departments],
                )
            ]
        ),
    )
    yield (
        "templates/catalog-info.yaml",
        _dump([_location("templates", [f"./{t}/template.yaml" for t in catalog.templates])]),
    )
    yield "README.md", f"# Synthetic catalog: {catalog.entities} entities, seed {catalog.seed}\n"
    for path, documents in _org_files(catalog).items():
        yield path, _dump(documents)
    system_owner: dict[str, str] = {}
    for team in catalog.teams:
        system_owner.setdefault(team.system, team.name)
    for department in catalog.departments:
        yield f"domains/{department.name}.yaml", _dump(_domain_file(department, system_owner))
    for template in catalog.templates:
        owner = catalog.teams[0].name
        yield f"templates/{template}/template.yaml", _dump([_template(template, owner)])
    for service in catalog.services:
        yield from _service_files(service, catalog.organisation).items()


def render(catalog: Catalog) -> dict[str, str]:
    """Every file of the repository, by path (small catalogs; see :func:`files`)."""
    return dict(files(catalog))


def _git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=path,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed in {path}: {done.stderr.strip()}")
    return done.stdout.strip()


def head_commit(path: Path) -> str:
    return _git(path, "rev-parse", "HEAD")


def check_out(path: Path) -> None:
    """Write the committed files to the work tree (when they are not there yet)."""
    if not (path / "catalog-info.yaml").exists():
        _git(path, "reset", "--quiet", "--hard")


def _data(text: bytes) -> bytes:
    """A ``data`` command of git fast-import: the exact byte count, then the bytes."""
    return b"data %d\n%s\n" % (len(text), text)


def _import(out: Path, catalog: Catalog, message: str) -> int:
    """Commit every file of the catalog to ``main``; returns how many files.

    The blobs go to one ``git fast-import`` stream (blobs only: fast-import's own trees
    insert each entry with a linear search, which at a million entities' 130k service
    folders took minutes), their ids are computed here, and the tree is built from a sorted
    ``git update-index --index-info`` listing. No file is written to the work tree."""
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=out,
        env={**os.environ, **_GIT_ENV},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert importer.stdin is not None and importer.stderr is not None
    listing: list[str] = []
    try:
        pending: list[bytes] = []
        for path, text in files(catalog):
            raw = text.encode()
            blob = hashlib.sha1(b"blob %d\0%s" % (len(raw), raw), usedforsecurity=False)
            listing.append(f"100644 {blob.hexdigest()}\t{path}\n")
            pending.append(b"blob\n" + _data(raw))
            if len(pending) >= 1000:
                importer.stdin.write(b"".join(pending))
                pending.clear()
        importer.stdin.write(b"".join(pending) + b"done\n")
        importer.stdin.close()
    except BrokenPipeError:
        pass  # git stopped: its exit status and message say why, below
    with importer.stderr:
        errors = importer.stderr.read().decode().strip()
    if importer.wait() != 0:
        raise RuntimeError(f"git fast-import failed in {out}: {errors}")
    listing.sort(key=lambda line: line.split("\t", 1)[1])
    indexed = subprocess.run(
        ["git", "update-index", "--add", "--index-info"],
        cwd=out,
        env={**os.environ, **_GIT_ENV},
        input="".join(listing).encode(),
        capture_output=True,
        check=False,
    )
    if indexed.returncode != 0:
        raise RuntimeError(f"git update-index failed in {out}: {indexed.stderr.decode()}")
    tree = _git(out, "write-tree")
    commit = _git(out, "commit-tree", tree, "-m", message)
    _git(out, "update-ref", "refs/heads/main", commit)
    return len(listing)


def generate(entities: int, out: Path, seed: int = 1, *, checkout: bool = True) -> Generated:
    """Write the catalog for (``entities``, ``seed``) into a new git repository at ``out``
    (which must not exist or be empty) and commit it.

    The files are streamed into git (:func:`_import`); with ``checkout`` they are then
    written to the work tree too (Backstage's backend reads them there). Without it the
    repository has only the commit, which is all the git source reads, and a million-entity
    catalog takes no disk space twice."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; give a new folder")
    catalog = build_catalog(entities, seed)
    out.mkdir(parents=True, exist_ok=True)
    _git(out, "init", "--quiet", "--initial-branch=main")
    count = _import(out, catalog, f"Synthetic catalog: {entities} entities, seed {seed}")
    if checkout:
        check_out(out)
    return Generated(out, head_commit(out), catalog, count)
