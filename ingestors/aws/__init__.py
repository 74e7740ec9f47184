"""The AWS source (``type: aws``): ``get`` (:mod:`.get`, boto3) -> ``transform``
(:mod:`.transform`, pure) -> the shared runner. Configured by :class:`.config.AwsSource`;
documented in ``docs/sources/aws.md``."""

from __future__ import annotations

from ingestors.aws.config import AwsSource
from ingestors.contract import Fetch, SourceType
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

SOURCE_TYPE = "aws"


def aws_fetcher(source: AwsSource, lookup: CatalogLookup | None = None) -> Fetch:
    """The fetch of an ``aws`` source (``lookup`` is not needed: tags name the refs)."""

    async def fetch() -> Snapshot:
        # boto3 takes most of a second to import: only a process that reads AWS pays it.
        from ingestors.aws.fetch import read_aws

        return await read_aws(source)

    return fetch


AWS = SourceType(SOURCE_TYPE, AwsSource, aws_fetcher)

__all__ = ["AWS", "SOURCE_TYPE", "AwsSource", "aws_fetcher"]
