"""What the GitHub source's ``get`` gathers and its ``transform`` reads: the API's JSON as
GitHub sends it (field names of the REST API, untouched), grouped by repository, plus the
descriptors read from each repository with the git source's rules.

A payload can also be read from recorded JSON files (:func:`load_recorded`), which is how
the transform is tested and how the demo shows CI data without a network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestors.snapshot import Snapshot

Json = dict[str, Any]


@dataclass
class RepoPayload:
    """One repository. ``None`` for a list means it was not read (switched off or failed;
    ``errors`` says which scope failed and why)."""

    repo: Json
    descriptors: Snapshot | None = None
    missing_descriptor: bool = False
    catalog_components: list[str] = field(default_factory=list)
    workflows: list[Json] | None = None
    runs: dict[int, list[Json]] = field(default_factory=dict)
    environments: list[Json] | None = None
    deployments: dict[str, list[Json]] = field(default_factory=dict)
    statuses: dict[int, list[Json]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return str(self.repo["full_name"])


@dataclass
class TeamPayload:
    team: Json
    members: list[Json]


@dataclass
class OrgPayload:
    """Everything read from one organisation in one run."""

    org: str
    repos: list[RepoPayload] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)
    teams: list[TeamPayload] | None = None
    users: dict[str, Json] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    # a scoped read: only some repositories (and perhaps the teams) were read; ``gone`` names
    # the scoped repositories that no longer exist here (their entities go)
    partial: bool = False
    gone: list[str] = field(default_factory=list)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a recorded GitHub payload ({exc})") from exc


def _optional(path: Path) -> Any:
    return _read(path) if path.exists() else None


def load_recorded(
    directory: Path, catalog_components: dict[str, list[str]] | None = None
) -> OrgPayload:
    """A payload from recorded API answers laid out by endpoint::

        org.json                          {"login": "acme"}
        repos.json                        GET /orgs/{org}/repos (all pages, one list)
        teams.json                        GET /orgs/{org}/teams
        teams/{slug}/members.json         GET /orgs/{org}/teams/{slug}/members
        users/{login}.json                GET /users/{login}
        repos/{name}/workflows.json       GET /repos/{o}/{r}/actions/workflows
        repos/{name}/runs/{id}.json       GET /repos/{o}/{r}/actions/workflows/{id}/runs
        repos/{name}/environments.json    GET /repos/{o}/{r}/environments
        repos/{name}/deployments.json     GET /repos/{o}/{r}/deployments (all environments)
        repos/{name}/statuses/{id}.json   GET /repos/{o}/{r}/deployments/{id}/statuses

    No git is read (``descriptors`` stay None): the components of a repository are those of
    ``catalog_components`` (repository full name, lowercased -> component refs), as a live
    run finds through the ``github.com/project-slug`` annotation.
    """
    org = str(_read(directory / "org.json")["login"])
    payload = OrgPayload(org=org)
    found = catalog_components or {}
    for repo in _read(directory / "repos.json"):
        base = directory / "repos" / str(repo["name"])
        item = RepoPayload(
            repo=repo, catalog_components=found.get(str(repo["full_name"]).lower(), [])
        )
        workflows = _optional(base / "workflows.json")
        if workflows is not None:
            item.workflows = list(workflows["workflows"])
            for workflow in item.workflows:
                runs = _optional(base / "runs" / f"{workflow['id']}.json")
                item.runs[int(workflow["id"])] = list(runs["workflow_runs"]) if runs else []
        environments = _optional(base / "environments.json")
        if environments is not None:
            item.environments = list(environments["environments"])
            for deployment in _optional(base / "deployments.json") or []:
                item.deployments.setdefault(str(deployment["environment"]), []).append(deployment)
                statuses = _optional(base / "statuses" / f"{deployment['id']}.json")
                item.statuses[int(deployment["id"])] = list(statuses or [])
        payload.repos.append(item)
    teams = _optional(directory / "teams.json")
    if teams is not None:
        payload.teams = [
            TeamPayload(
                team,
                list(_optional(directory / "teams" / str(team["slug"]) / "members.json") or []),
            )
            for team in teams
        ]
    users = directory / "users"
    if users.is_dir():
        for path in sorted(users.glob("*.json")):
            payload.users[path.stem] = _read(path)
    return payload
