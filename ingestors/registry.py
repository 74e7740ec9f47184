"""Every source type Stagegraph knows, by the ``type`` a source entry in stagegraph.yaml names.

Each source package defines its config model (a :class:`~ingestors.sources.SourceConfig`
subclass) and fetcher, and is registered here, one line each.
"""

from __future__ import annotations

from ingestors.aws import AWS
from ingestors.github import GITHUB
from ingestors.gitlab import GITLAB
from ingestors.jenkins import JENKINS
from ingestors.sources import GIT, SourceTypes

SOURCE_TYPES = SourceTypes([GIT, AWS, GITHUB, GITLAB, JENKINS])
"""The source types Stagegraph knows."""
