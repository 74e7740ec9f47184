"""The recorded Jenkins payloads of ``tests/fixtures/jenkins``, as :mod:`ingestors.jenkins.get`
would hand them to the transform."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingestors.jenkins.payload import JenkinsPayload, JobPayload

FIXTURES = Path(__file__).parents[2] / "fixtures" / "jenkins"
RECORDED_URL = "http://jenkins.example.com/"

#: the catalog the jobs link to, as CatalogLookup answers
BY_SLUG = {
    "acme/payments": ["component:default/payments"],
    "acme/platform/search": ["component:default/search"],
}
BY_JOB = {"jenkins-main:platform/infra-apply": ["component:infra/terraform"]}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _item(listing: str, name: str) -> dict[str, Any]:
    return dict(next(j for j in load(listing)["jobs"] if j["name"] == name))


def _job(listing: str, name: str, builds: str) -> JobPayload:
    body = load(builds)
    job = {**_item(listing, name), **{k: v for k, v in body.items() if k != "builds"}}
    return JobPayload(job, list(body["builds"]))


def payments_multibranch() -> JobPayload:
    listing = load("team-payments_payments.json")
    builds = [
        {**b, "branch": "main"} for b in load("team-payments_payments_main.json")["builds"]
    ] + [
        {**b, "branch": "feature/retry"}
        for b in load("team-payments_payments_feature-retry.json")["builds"]
    ]
    builds.sort(key=lambda b: b["timestamp"], reverse=True)
    job = {
        **_item("team-payments.json", "payments"),
        "displayName": listing["displayName"],
        "description": listing["description"],
        "_class": listing["_class"],
        "branches": ["feature/retry", "main"],
    }
    return JobPayload(job, builds, multibranch=True)


def payload(
    by_job: dict[str, list[str]] | None = None, by_slug: dict[str, list[str]] | None = None
) -> JenkinsPayload:
    jobs = [
        _job("platform.json", "infra-apply", "platform_infra-apply.json"),
        _job("platform.json", "search-build", "platform_search-build.json"),
        _job("root.json", "smoke-tests", "smoke-tests.json"),
        _job("team-payments_archive.json", "old-deploy", "team-payments_archive_old-deploy.json"),
        payments_multibranch(),
        _job("team-payments.json", "payments-nightly", "team-payments_payments-nightly.json"),
    ]
    return JenkinsPayload(
        RECORDED_URL.rstrip("/"),
        jobs=jobs,
        skipped=["cron-monitor: a hudson.model.ExternalJob is not a job this source reads"],
        by_job=BY_JOB if by_job is None else by_job,
        by_slug=BY_SLUG if by_slug is None else by_slug,
    )
