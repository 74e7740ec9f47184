"""The Jenkins source's ``get``: every call it makes to Jenkins' JSON API, nothing else.

From the root (or each configured folder) it lists items with
``api/json?tree=jobs[name,url,fullName,displayName,_class]``, follows folders
(``com.cloudbees.hudson.plugins.folder.Folder``, ``jenkins.branch.OrganizationFolder``) down
to ``maxDepth``, lists the branch jobs of multibranch projects, and reads the last builds of
every job with one ``tree=`` query each, ``{0,N}`` limiting the builds Jenkins sends::

    builds[number,result,building,timestamp,duration,url,
           actions[remoteUrls,lastBuiltRevision[SHA1,branch[name]]]]{0,N}

Calls are made to the configured ``url`` with paths built from each item's ``fullName``
(``job/team/job/payments/``), not to the ``url`` fields Jenkins reports: those use the
controller's own root URL setting, which is often not the address it is reached at.

The Git remote of a job is read from those builds (the git plugin's ``BuildData`` action,
``remoteUrls``): it needs only read access, where ``config.xml`` needs configure rights.

A folder or job whose calls fail is reported with its scope (its entities are kept); only a
failure to read the starting point fails the run.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote, unquote

from catalog.delivery import GITLAB_SLUG_ANNOTATION, JENKINS_JOB_ANNOTATION, PROJECT_SLUG_ANNOTATION
from ingestors.http import ApiClient, ApiError
from ingestors.jenkins.config import JenkinsSource
from ingestors.jenkins.payload import (
    BUILDABLE,
    FOLDERS,
    MULTIBRANCH,
    JenkinsPayload,
    JobPayload,
    Json,
    scope_of,
)
from ingestors.lookup import CatalogLookup

JOBS_TREE = "jobs[name,url,fullName,displayName,_class]"
BUILD_FIELDS = (
    "number,result,building,timestamp,duration,url,"
    "actions[remoteUrls,lastBuiltRevision[SHA1,branch[name]]]"
)
#: jobs read at the same time
CONCURRENCY = 4


def builds_tree(count: int) -> str:
    """The ``tree=`` of a job call: its description and its last ``count`` builds."""
    return f"displayName,description,builds[{BUILD_FIELDS}]{{0,{count}}}"


def folder_url(root: str, full_name: str) -> str:
    """``team/payments`` -> ``<root>/job/team/job/payments/`` (the root itself for "")."""
    if not full_name:
        return f"{root.rstrip('/')}/"
    path = "/".join(f"job/{quote(part, safe='')}" for part in full_name.split("/"))
    return f"{root.rstrip('/')}/{path}/"


def _api(url: str) -> str:
    return f"{url.rstrip('/')}/api/json"


class _Walk:
    def __init__(self, client: ApiClient, config: JenkinsSource, payload: JenkinsPayload) -> None:
        self.client = client
        self.config = config
        self.payload = payload
        self.gate = asyncio.Semaphore(CONCURRENCY)

    async def call(self, url: str, tree: str) -> Json:
        async with self.gate:
            body = await self.client.get_json(_api(url), {"tree": tree})
        if not isinstance(body, dict):
            raise ApiError(_api(url), 200, "the answer is not a JSON object; is url Jenkins' root?")
        return body

    def fail(self, full_name: str, exc: ApiError) -> None:
        self.payload.failed.setdefault(scope_of(full_name), f"{full_name or '/'}: {exc}")

    async def folder(self, items: list[Json], depth: int) -> None:
        await asyncio.gather(*(self.item(item, depth) for item in items if isinstance(item, dict)))

    async def item(self, item: Json, depth: int) -> None:
        kind = str(item.get("_class", ""))
        full = str(item.get("fullName") or item.get("name") or "")
        # Calls go to the configured url: the ``url`` Jenkins reports uses its own root URL
        # setting, often not the address this source reaches it at.
        url = folder_url(self.config.url, full)
        try:
            if kind in FOLDERS:
                if depth >= self.config.max_depth:
                    self.payload.warnings.append(
                        f"{full}: deeper than maxDepth {self.config.max_depth}, not read; "
                        "raise maxDepth or list the folder under folders"
                    )
                    return
                listing = await self.call(url, JOBS_TREE)
                await self.folder(list(listing.get("jobs") or []), depth + 1)
            elif kind == MULTIBRANCH:
                await self.multibranch(item, url)
            elif kind in BUILDABLE:
                body = await self.call(url, builds_tree(self.config.builds_per_pipeline))
                job = {**item, **{k: v for k, v in body.items() if k != "builds"}}
                self.payload.jobs.append(JobPayload(job, list(body.get("builds") or [])))
            else:
                self.payload.skipped.append(
                    f"{full}: a {kind or 'item'} is not a job this source reads"
                )
        except ApiError as exc:
            self.fail(full, exc)

    async def multibranch(self, item: Json, url: str) -> None:
        listing = await self.call(url, f"displayName,description,{JOBS_TREE}")
        branches = [b for b in listing.get("jobs") or [] if isinstance(b, dict)]

        async def read(branch: Json) -> list[Json]:
            name = str(branch.get("name") or "")
            full = str(branch.get("fullName") or f"{item.get('fullName')}/{name}")
            branch_url = folder_url(self.config.url, full)
            body = await self.call(branch_url, builds_tree(self.config.builds_per_pipeline))
            return [
                {**b, "branch": unquote(name)}
                for b in body.get("builds") or []
                if isinstance(b, dict)
            ]

        per_branch = await asyncio.gather(*(read(b) for b in branches))
        builds = [b for found in per_branch for b in found]
        builds.sort(key=lambda b: b.get("timestamp") or 0, reverse=True)
        job = {**item, **{k: v for k, v in listing.items() if k != "jobs"}}
        job["branches"] = [unquote(str(b.get("name") or "")) for b in branches]
        self.payload.jobs.append(JobPayload(job, builds, multibranch=True))


async def get_jenkins(
    client: ApiClient, config: JenkinsSource, lookup: CatalogLookup
) -> JenkinsPayload:
    """Walk the controller from its root or the configured folders.

    Raises :class:`ApiError` when no starting point could be read.
    """
    by_slug: dict[str, list[str]] = {}
    for annotation in (PROJECT_SLUG_ANNOTATION, GITLAB_SLUG_ANNOTATION):
        for slug, refs in (await lookup.refs_by_annotation(annotation)).items():
            by_slug.setdefault(slug, []).extend(refs)
    payload = JenkinsPayload(
        config.url, by_job=await lookup.refs_by_annotation(JENKINS_JOB_ANNOTATION), by_slug=by_slug
    )
    walk = _Walk(client, config, payload)
    starts = list(config.folders) or [""]
    first_failure: ApiError | None = None
    read = 0
    for start in starts:
        try:
            listing = await walk.call(folder_url(config.url, start), JOBS_TREE)
        except ApiError as exc:
            if not config.folders:
                raise
            walk.fail(start, exc)
            first_failure = first_failure or exc
            continue
        read += 1
        await walk.folder(list(listing.get("jobs") or []), 0)
    if read == 0 and first_failure is not None:
        raise first_failure
    payload.jobs.sort(key=lambda j: j.full_name)
    return payload
