"""The GitHub source's ``get``: API calls and git clones only, no shaping of entities.

Calls per run: the organisation's repositories (paginated), per repository read its
workflows, the last ``buildsPerPipeline`` runs of each, its environments, the last
``deploymentsPerEnvironment`` deployments of each and their latest status; teams and their
members (and each member's profile). Everything goes through one :class:`ApiClient`, so
pages are followed, rate limits waited out and unchanged answers come back as free 304s.

A failure in one repository's scope (its clone, its Actions, its deployments) is recorded
in the payload and does not stop the others; only the repository list itself is vital.
"""

from __future__ import annotations

import asyncio

from catalog.delivery import PROJECT_SLUG_ANNOTATION
from ingestors.errors import IngestError
from ingestors.git.get import checkout_origin
from ingestors.git.transform import transform_tree
from ingestors.git.tree import open_source
from ingestors.github.config import GithubSource
from ingestors.github.payload import Json, OrgPayload, RepoPayload, TeamPayload
from ingestors.http import ApiClient, ApiError, AuthError, NotFoundError
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot


def clone_url(repo: Json, token: str | None) -> str:
    """The repository's ``clone_url``, with the token for https remotes (redacted in logs)."""
    url = str(repo["clone_url"])
    if token and url.startswith("https://") and "@" not in url.split("/", 3)[2]:
        return url.replace("https://", f"https://x-access-token:{token}@", 1)
    return url


def read_descriptors(url: str, branch: str | None, catalog_path: str) -> Snapshot | None:
    """The repository's descriptors read with the git source's rules (locations, CODEOWNERS
    owners, CI-file pipelines), or None when it has no ``catalog_path``. Blocking."""
    with open_source(url, branch) as checkout:
        entry = catalog_path.strip("/")
        paths = checkout.tree.paths()
        if not any(p == entry or p.startswith(f"{entry}/") for p in paths):
            return None
        origin = checkout_origin(checkout)
        return transform_tree(checkout.tree, origin, (entry,))


async def get_repos(client: ApiClient, source: GithubSource) -> tuple[list[Json], list[str]]:
    """The organisation's repositories the filters keep, and why the others were left out."""
    kept: list[Json] = []
    passed_over: list[str] = []
    params = {"per_page": 100, "type": "all", "sort": "full_name"}
    async for repo in client.paginate(f"orgs/{source.org}/repos", params):
        why = source.wants(repo)
        if why is None:
            kept.append(repo)
        else:
            passed_over.append(f"{repo.get('full_name')}: {why}")
    return kept, passed_over


async def get_actions(client: ApiClient, item: RepoPayload, per_pipeline: int) -> None:
    name = item.full_name
    workflows = [
        w
        async for w in client.paginate(
            f"repos/{name}/actions/workflows", {"per_page": 100}, items=lambda b: b["workflows"]
        )
    ]
    runs: dict[int, list[Json]] = {}
    for workflow in workflows:
        runs[int(workflow["id"])] = [
            r
            async for r in client.paginate(
                f"repos/{name}/actions/workflows/{workflow['id']}/runs",
                {"per_page": per_pipeline},
                items=lambda b: b["workflow_runs"],
                limit=per_pipeline,
            )
        ]
    item.workflows, item.runs = workflows, runs


async def get_deployments(client: ApiClient, item: RepoPayload, per_environment: int) -> None:
    name = item.full_name
    try:
        environments = [
            e
            async for e in client.paginate(
                f"repos/{name}/environments", {"per_page": 100}, items=lambda b: b["environments"]
            )
        ]
    except (NotFoundError, AuthError) as exc:
        # A repository without environments answers 200 with none; 404/403 is GitHub hiding
        # them from a token without the permission, so its deployments are not known.
        raise ApiError(
            exc.url,
            exc.status,
            "environments not readable: give the token the Environments (read) and "
            "Deployments (read) repository permissions (classic tokens: the repo scope)",
        ) from exc
    deployments: dict[str, list[Json]] = {}
    statuses: dict[int, list[Json]] = {}
    for environment in environments:
        env_name = str(environment["name"])
        found = [
            d
            async for d in client.paginate(
                f"repos/{name}/deployments",
                {"environment": env_name, "per_page": per_environment},
                limit=per_environment,
            )
        ]
        deployments[env_name] = found
        for deployment in found:
            statuses[int(deployment["id"])] = await client.get_json(
                f"repos/{name}/deployments/{deployment['id']}/statuses", {"per_page": 1}
            )
    item.environments, item.deployments, item.statuses = environments, deployments, statuses


async def get_repo(
    client: ApiClient,
    source: GithubSource,
    repo: Json,
    token: str | None,
    catalog: dict[str, list[str]],
) -> RepoPayload:
    """One repository: its descriptors (git), then its Actions and deployments (API)."""
    item = RepoPayload(
        repo=repo, catalog_components=catalog.get(str(repo["full_name"]).lower(), [])
    )
    try:
        item.descriptors = await asyncio.to_thread(
            read_descriptors,
            clone_url(repo, token),
            repo.get("default_branch"),
            source.catalog_path,
        )
        item.missing_descriptor = item.descriptors is None
    except IngestError as exc:
        item.errors["descriptors"] = str(exc).replace(token or "\0", "***")
    has_components = bool(item.catalog_components) or any(
        d.entity.kind.lower() == "component"
        for d in (item.descriptors or Snapshot("git")).descriptors
    )
    if not has_components and "descriptors" not in item.errors:
        return item  # nothing to link CI data to: spend no quota on it
    if source.actions:
        try:
            await get_actions(client, item, source.builds_per_pipeline)
        except ApiError as exc:
            item.errors["actions"] = str(exc)
    if source.deployments:
        try:
            await get_deployments(client, item, source.deployments_per_environment)
        except ApiError as exc:
            item.errors["deployments"] = str(exc)
    return item


async def get_teams(client: ApiClient, source: GithubSource, payload: OrgPayload) -> None:
    teams = [t async for t in client.paginate(f"orgs/{source.org}/teams", {"per_page": 100})]
    found: list[TeamPayload] = []
    for team in teams:
        members = [
            m
            async for m in client.paginate(
                f"orgs/{source.org}/teams/{team['slug']}/members", {"per_page": 100}
            )
        ]
        found.append(TeamPayload(team, members))
    users: dict[str, Json] = {}
    if source.user_profiles:
        logins = sorted({str(m["login"]) for t in found for m in t.members})
        for login in logins:
            try:
                users[login] = await client.get_json(f"users/{login}")
            except (NotFoundError, AuthError) as exc:
                # a deleted (ghost) or hidden user: its login alone still names the member
                payload.warnings.append(f"user {login}: profile not read, login used ({exc})")
    payload.teams, payload.users = found, users


async def get_org(
    client: ApiClient, source: GithubSource, lookup: CatalogLookup, token: str | None
) -> OrgPayload:
    """Read the organisation; raises :class:`ApiError` when its repositories cannot be listed."""
    payload = OrgPayload(org=source.org)
    repos, payload.passed_over = await get_repos(client, source)
    catalog = await lookup.refs_by_annotation(PROJECT_SLUG_ANNOTATION)
    limit = asyncio.Semaphore(source.concurrency)

    async def one(repo: Json) -> RepoPayload:
        async with limit:
            return await get_repo(client, source, repo, token, catalog)

    payload.repos = list(await asyncio.gather(*(one(r) for r in repos)))
    if source.teams:
        try:
            await get_teams(client, source, payload)
        except ApiError as exc:
            payload.errors["teams"] = str(exc)
    payload.stats = {"repositories": len(repos)}
    return payload
