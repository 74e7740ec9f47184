"""The AWS source's fetch: each account, each region, read in threads; then transformed.

Scopes: an account (``aws/<account>``: the CloudAccount), each of its regions
(``aws/<account>/<region>``) and its S3 buckets (``aws/<account>/s3``, listed once). A scope
whose calls failed goes into ``Snapshot.keep_files`` with an error, so the run keeps what it
had from there while every other scope refreshes. When nothing at all could be read the
fetch raises :class:`~ingestors.errors.SourceUnavailableError` and the run deletes nothing.
"""

from __future__ import annotations

import asyncio

from botocore.exceptions import BotoCoreError, ClientError

from graph.port import RunError
from ingestors.aws import names
from ingestors.aws.config import AwsSource, role_account
from ingestors.aws.get import (
    Account,
    CallCounter,
    Payload,
    Read,
    describe_error,
    get_account,
    get_buckets,
    get_region,
)
from ingestors.aws.transform import transform_account
from ingestors.errors import SourceUnavailableError
from ingestors.snapshot import Snapshot

KEPT = "its resources from the last run are kept"
FIX = "check the credentials, the endpoint and the IAM permissions (docs/sources/aws.md)"


async def _open(source: AwsSource, role: str | None, counter: CallCounter) -> Account | str:
    """The account, or why it could not be opened."""
    try:
        return await asyncio.to_thread(get_account, source, role, counter)
    except (BotoCoreError, ClientError) as exc:
        what = f"could not assume role {role}" if role else "could not read the caller identity"
        return f"{what}: {describe_error(exc)}"


async def read_aws(source: AwsSource) -> Snapshot:
    """Read every configured account and region (the ``fetch`` of an ``aws`` source)."""
    counter = CallCounter()
    roles: tuple[str | None, ...] = source.assume_role or (None,)
    opened = await asyncio.gather(*(_open(source, role, counter) for role in roles))
    snapshot = Snapshot(source_type="aws")
    problems: list[str] = []
    read_something = False
    regions_read = regions_failed = 0

    def fail(scope: str, message: str) -> None:
        problems.append(message)
        snapshot.errors.append(RunError(f"{message}; {KEPT} ({FIX})", file=scope))
        snapshot.keep_files.add(scope)

    for role, account in zip(roles, opened, strict=True):
        if isinstance(account, str):
            if role is None:
                problems.append(f"AWS: {account}")
                continue
            account_id = role_account(role)
            for scope in _scopes(source, account_id):
                snapshot.keep_files.add(scope)
            fail(names.scope(account_id), f"AWS account {account_id}: {account}")
            continue
        account_id = account.account_id
        region_reads, buckets = await asyncio.gather(
            asyncio.gather(
                *(
                    asyncio.to_thread(get_region, source, account, region, counter)
                    for region in source.regions
                )
            ),
            asyncio.to_thread(get_buckets, source, account, counter),
        )
        regions: dict[str, Payload] = {}
        payload: dict[str, object] = {"accountId": account_id, "regions": regions}
        for region, read in zip(source.regions, region_reads, strict=True):
            regions[region] = read.payload
            read_something |= bool(read.payload)
            if read.errors:
                regions_failed += 1
                fail(
                    names.scope(account_id, region),
                    f"AWS account {account_id}, region {region}: {_joined(read)}",
                )
            else:
                regions_read += 1
        if "buckets" in buckets.payload:
            payload["s3"] = buckets.payload
            read_something = True
        if buckets.errors:
            fail(
                names.scope(account_id, names.GLOBAL_SCOPE),
                f"AWS account {account_id}, S3: {_joined(buckets)}",
            )
        part = transform_account(payload, source)
        snapshot.descriptors.extend(part.descriptors)
        snapshot.rejected.extend(part.rejected)
        snapshot.warnings.extend(part.warnings)

    if not read_something:
        raise SourceUnavailableError(
            source.name, f"nothing could be read from AWS: {'; '.join(problems)} ({FIX})"
        )
    snapshot.stats = {
        "apiCalls": counter.calls,
        "retries": counter.attempts - counter.calls,
        "regionsRead": regions_read,
        "regionsFailed": regions_failed,
    }
    return snapshot


def _joined(read: Read) -> str:
    return "; ".join(read.errors)


def _scopes(source: AwsSource, account_id: str) -> list[str]:
    """Every scope of an account: the account, its regions and its buckets."""
    return [
        names.scope(account_id),
        *(names.scope(account_id, region) for region in source.regions),
        names.scope(account_id, names.GLOBAL_SCOPE),
    ]
