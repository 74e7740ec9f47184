"""What :mod:`.get` reads from Jenkins and :mod:`.transform` turns into entities: Jenkins'
JSON API as it answers ``tree=`` queries (``_class``, ``fullName``, ``builds``...)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
ORGANIZATION_FOLDER = "jenkins.branch.OrganizationFolder"
MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
FREESTYLE = "hudson.model.FreeStyleProject"
MAVEN = "hudson.maven.MavenModuleSet"
MATRIX = "hudson.matrix.MatrixProject"

FOLDERS = frozenset({FOLDER, ORGANIZATION_FOLDER})
BUILDABLE = frozenset({WORKFLOW_JOB, FREESTYLE, MAVEN, MATRIX})
GIT_BUILD_DATA = "hudson.plugins.git.util.BuildData"


def scope_of(full_name: str) -> str:
    """The source path of a job's entities: ``jenkins/<top-level item>``.

    A folder that cannot be read keeps every entity under the same top-level item (the run
    cannot tell which jobs were in it), so scopes are that coarse on purpose.
    """
    return f"jenkins/{full_name.strip('/').split('/', 1)[0]}"


@dataclass
class JobPayload:
    """A buildable job, or a multibranch project with its branch jobs' builds.

    ``builds`` are Jenkins build objects, newest first; for a multibranch project each
    carries ``branch`` (the branch job's name, decoded) added by :mod:`.get`.
    """

    job: Json
    builds: list[Json] = field(default_factory=list)
    multibranch: bool = False

    @property
    def full_name(self) -> str:
        return str(self.job.get("fullName") or self.job.get("name"))


@dataclass
class JenkinsPayload:
    """One read of a controller: the jobs, what failed (scope -> why; kept) and what was
    passed over (why), and the catalog components jobs may link to.

    ``by_job`` maps ``jenkins.io/job-full-name`` values and ``by_slug`` maps
    ``github.com/project-slug`` / ``gitlab.com/project-slug`` values (lowercased) to refs.
    """

    url: str
    jobs: list[JobPayload] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    by_job: Mapping[str, list[str]] = field(default_factory=dict)
    by_slug: Mapping[str, list[str]] = field(default_factory=dict)
