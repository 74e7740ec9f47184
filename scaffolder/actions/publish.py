"""``publish:git``, ``publish:github`` and ``publish:gitlab``: push the workspace (or its
``sourcePath``) as the first commit of a new repository.

``publish:git`` pushes to any git URL (``file://`` bare repositories included). The hosted
ones first create the repository through the host's API with the credentials of its
:class:`~scaffolder.actions.contract.Integration` (or a ``token`` input), then push, set the
default branch, topics and team access (``collaborators: [{team, access}]``: a GitHub team's
slug, or a GitLab group's full path shared at the matching access level). Each outputs ``remoteUrl``, ``repoContentsUrl``
(``<repository>/blob/<branch>``, what ``catalog:register`` registers as a location) and ``commitHash``. A dry
run pushes nothing and creates nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from ingestors.git.targets import web_repo
from scaffolder.actions.contract import Action, ActionContext, Integration, schema, text
from scaffolder.errors import ActionError
from scaffolder.git import push_tree
from scaffolder.render import parse_repo_url


def contents_url(clone_url: str, branch: str, gitlab: bool = False) -> str:
    """``<repository>/blob/<branch>`` from a clone URL: the web form on GitHub and GitLab
    hosts; elsewhere (``file://`` included) the clone URL as it is, so a ``….git/blob/…``
    location target names the repository (:mod:`ingestors.git.targets`)."""
    if web_repo(clone_url) is None:
        return f"{clone_url}/blob/{branch}"
    return f"{clone_url.removesuffix('.git')}/{'-/' if gitlab else ''}blob/{branch}"


async def _push(
    ctx: ActionContext, remote: str, token: str | None, user: str = "x-access-token"
) -> str:
    branch = str(ctx.input.get("defaultBranch") or "main")
    source = ctx.workspace.path(str(ctx.input.get("sourcePath") or "."), "sourcePath")
    commit = await push_tree(
        source,
        remote,
        branch,
        message=str(ctx.input.get("gitCommitMessage") or "initial commit"),
        author=(
            str(ctx.input.get("gitAuthorName") or "Scaffolder"),
            str(ctx.input.get("gitAuthorEmail") or "scaffolder@stagegraph.invalid"),
        ),
        token=token,
        user=user,
        env=ctx.services.git_env,
    )
    ctx.log(f"pushed {commit[:12]} to {remote} ({branch})")
    return commit


async def publish_git(ctx: ActionContext) -> None:
    remote = ctx.input.get("repoUrl")
    if not isinstance(remote, str) or not remote:
        raise ActionError("publish:git needs repoUrl: the git URL to push to")
    branch = str(ctx.input.get("defaultBranch") or "main")
    ctx.output("remoteUrl", remote)
    ctx.output("repoContentsUrl", contents_url(remote, branch))
    if ctx.dry_run:
        ctx.log(f"dry run: would push the workspace to {remote} ({branch})")
        return
    ctx.output("commitHash", await _push(ctx, remote, ctx.input.get("token")))


def _integration(ctx: ActionContext, host: str, kind: str) -> Integration:
    found = ctx.services.integrations.get(host)
    if found is None or found.kind != kind:
        known = ", ".join(sorted(ctx.services.integrations)) or "none"
        raise ActionError(
            f"no {kind} integration is configured for {host!r} (configured: {known}); add it "
            f"under integrations in stagegraph.yaml, or configure a {kind} source for it"
        )
    return found


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        try:
            detail = response.json().get("message", "")
        except ValueError:
            detail = ""
        raise ActionError(f"{what} failed: HTTP {response.status_code} {detail}".strip())
    return response.json() if response.content else None


async def publish_github(ctx: ActionContext) -> None:
    repo = parse_repo_url(str(ctx.input.get("repoUrl") or ""))
    owner, name, host = repo.get("owner", ""), repo["repo"], repo["host"]
    branch = str(ctx.input.get("defaultBranch") or "main")
    if ctx.dry_run:
        ctx.output("remoteUrl", f"https://{host}/{owner}/{name}")
        ctx.output("repoContentsUrl", f"https://{host}/{owner}/{name}/blob/{branch}")
        ctx.log(f"dry run: would create {owner}/{name} on {host} and push to it")
        return
    integration = _integration(ctx, host, "github")
    token = ctx.input.get("token") or integration.token
    headers = {
        "Accept": "application/vnd.github+json",
        **({"Authorization": f"Bearer {token}"} if token else {}),
    }
    async with httpx.AsyncClient(base_url=integration.api_url, headers=headers, timeout=30) as api:
        kind = _check(await api.get(f"/users/{quote(owner)}"), f"looking up the owner {owner!r}")
        body = {
            "name": name,
            "description": ctx.input.get("description") or "",
            "private": ctx.input.get("repoVisibility", "private") != "public",
            "visibility": ctx.input.get("repoVisibility", "private"),
        }
        path = (
            f"/orgs/{quote(owner)}/repos" if kind.get("type") == "Organization" else "/user/repos"
        )
        created = _check(await api.post(path, json=body), f"creating the repository {owner}/{name}")
        ctx.log(f"created the repository {created.get('full_name', f'{owner}/{name}')}")
        commit = await _push(ctx, created["clone_url"], token)
        _check(
            await api.patch(
                f"/repos/{quote(owner)}/{quote(name)}", json={"default_branch": branch}
            ),
            "setting the default branch",
        )
        if topics := ctx.input.get("topics"):
            _check(
                await api.put(
                    f"/repos/{quote(owner)}/{quote(name)}/topics", json={"names": list(topics)}
                ),
                "setting the topics",
            )
        for access in ctx.input.get("collaborators") or []:
            team = access.get("team")
            if team:
                _check(
                    await api.put(
                        f"/orgs/{quote(owner)}/teams/{quote(team)}/repos/{quote(owner)}/{quote(name)}",
                        json={"permission": access.get("access", "pull")},
                    ),
                    f"giving the team {team!r} access",
                )
    ctx.output("remoteUrl", created.get("html_url") or created["clone_url"])
    ctx.output("repoContentsUrl", contents_url(created["clone_url"], branch))
    ctx.output("commitHash", commit)


#: GitLab's access levels for the access words of ``collaborators`` (GitHub's and GitLab's).
GITLAB_ACCESS = {
    "pull": 20,
    "triage": 20,
    "reporter": 20,
    "push": 30,
    "developer": 30,
    "maintain": 40,
    "maintainer": 40,
    "admin": 50,
    "owner": 50,
}


async def _share_with_group(
    api: httpx.AsyncClient, project_id: int, group: str, access: str | None
) -> None:
    """Give the GitLab group ``group`` (its full path) ``access`` to the project."""
    level = GITLAB_ACCESS.get(str(access or "pull"))
    if level is None:
        raise ActionError(
            f"publish:gitlab: access {access!r} for the team {group!r} is not one of "
            f"{', '.join(GITLAB_ACCESS)}"
        )
    found = _check(
        await api.get(f"/groups/{quote(group, safe='')}"), f"looking up the group {group!r}"
    )
    _check(
        await api.post(
            f"/projects/{project_id}/share", json={"group_id": found["id"], "group_access": level}
        ),
        f"giving the team {group!r} access",
    )


async def publish_gitlab(ctx: ActionContext) -> None:
    repo = parse_repo_url(str(ctx.input.get("repoUrl") or ""))
    owner, name, host = repo.get("owner", ""), repo["repo"], repo["host"]
    branch = str(ctx.input.get("defaultBranch") or "main")
    if ctx.dry_run:
        ctx.output("remoteUrl", f"https://{host}/{owner}/{name}")
        ctx.output("repoContentsUrl", f"https://{host}/{owner}/{name}/-/blob/{branch}")
        ctx.log(f"dry run: would create {owner}/{name} on {host} and push to it")
        return
    integration = _integration(ctx, host, "gitlab")
    token = ctx.input.get("token") or integration.token
    headers = {"PRIVATE-TOKEN": token} if token else {}
    async with httpx.AsyncClient(base_url=integration.api_url, headers=headers, timeout=30) as api:
        namespace = _check(
            await api.get(f"/namespaces/{quote(owner, safe='')}"),
            f"looking up the namespace {owner!r}",
        )
        body = {
            "name": name,
            "path": name,
            "namespace_id": namespace["id"],
            "description": ctx.input.get("description") or "",
            "visibility": ctx.input.get("repoVisibility", "private"),
            "topics": list(ctx.input.get("topics") or []),
        }
        created = _check(
            await api.post("/projects", json=body), f"creating the project {owner}/{name}"
        )
        ctx.log(f"created the project {created.get('path_with_namespace', f'{owner}/{name}')}")
        commit = await _push(ctx, created["http_url_to_repo"], token, user="oauth2")
        _check(
            await api.put(f"/projects/{created['id']}", json={"default_branch": branch}),
            "setting the default branch",
        )
        for access in ctx.input.get("collaborators") or []:
            if group := access.get("team"):
                await _share_with_group(api, created["id"], str(group), access.get("access"))
    ctx.output("remoteUrl", created.get("web_url") or created["http_url_to_repo"])
    ctx.output("repoContentsUrl", contents_url(created["http_url_to_repo"], branch, gitlab=True))
    ctx.output("commitHash", commit)
    ctx.output("projectId", created["id"])


_COMMON = {
    "defaultBranch": text("Default main."),
    "sourcePath": text("The part of the workspace to push (default all of it)."),
    "gitCommitMessage": text("Default 'initial commit'."),
    "gitAuthorName": text("The commit's author."),
    "gitAuthorEmail": text("The author's email."),
    "token": text("A token to use instead of the integration's (pass it as a secret)."),
}
_HOSTED = {
    **_COMMON,
    "repoUrl": text("host?owner=o&repo=r, as the RepoUrlPicker gives it."),
    "description": text("The repository's description."),
    "repoVisibility": {"type": "string", "enum": ["private", "internal", "public"]},
    "topics": {"type": "array", "items": {"type": "string"}},
    "collaborators": {"type": "array", "items": {"type": "object"}},
}
_OUTPUT = {
    "type": "object",
    "properties": {
        "remoteUrl": {"type": "string"},
        "repoContentsUrl": {"type": "string"},
        "commitHash": {"type": "string"},
    },
}

PUBLISH_GIT = Action(
    "publish:git",
    "Pushes the workspace to any git URL.",
    publish_git,
    schema(["repoUrl"], **{**_COMMON, "repoUrl": text("Any git URL.")}),
    _OUTPUT,
)
PUBLISH_GITHUB = Action(
    "publish:github",
    "Creates a GitHub repository and pushes the workspace.",
    publish_github,
    schema(["repoUrl"], **_HOSTED),
    _OUTPUT,
)
PUBLISH_GITLAB = Action(
    "publish:gitlab",
    "Creates a GitLab project and pushes the workspace.",
    publish_gitlab,
    schema(["repoUrl"], **_HOSTED),
    _OUTPUT,
)

__all__ = ["PUBLISH_GIT", "PUBLISH_GITHUB", "PUBLISH_GITLAB"]
