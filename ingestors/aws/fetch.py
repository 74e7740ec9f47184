"""The AWS source's fetch: every account at once, each account's regions in threads; then
the pure transform.

Scopes: an account (``aws/<account>``: the CloudAccount), each service of each of its
regions (``aws/<account>/<region>/<service>``) and its S3 buckets (``aws/<account>/s3``,
listed once). A scope whose calls failed goes into ``Snapshot.keep_files`` with an error, so
the run keeps what it had from there while every other scope refreshes: a service denied
(AccessDenied on eks) keeps only its own resources. A failed tag listing keeps the services
tagged through it; an unreachable endpoint or missing credentials keep the whole region.
When nothing at all could be read the fetch raises
:class:`~ingestors.errors.SourceUnavailableError` and the run deletes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from graph.port import RunError
from ingestors.aws import names
from ingestors.aws.config import AwsSource, role_account
from ingestors.aws.get import (
    SERVICES,
    Account,
    CallCounter,
    Payload,
    Read,
    describe_error,
    get_account,
    get_buckets,
    get_region,
)
from ingestors.aws.transform import TAGGED_BY_LISTING, transform_account
from ingestors.errors import SourceUnavailableError
from ingestors.snapshot import Snapshot

KEPT = "its resources from the last run are kept"
FIX = "check the credentials, the endpoint and the IAM permissions (docs/sources/aws.md)"


@dataclass
class _Outcome:
    """What reading one account gave: its entities, and the scopes that failed."""

    snapshot: Snapshot = field(default_factory=lambda: Snapshot(source_type="aws"))
    problems: list[str] = field(default_factory=list)
    read_something: bool = False
    regions_read: int = 0
    regions_failed: int = 0

    def fail(self, scope: str, message: str) -> None:
        self.problems.append(message)
        self.snapshot.errors.append(RunError(f"{message}; {KEPT} ({FIX})", file=scope))
        self.snapshot.keep_files.add(scope)


async def _open(source: AwsSource, role: str | None, counter: CallCounter) -> Account | str:
    """The account, or why it could not be opened."""
    try:
        return await asyncio.to_thread(get_account, source, role, counter)
    except (BotoCoreError, ClientError) as exc:
        what = f"could not assume role {role}" if role else "could not read the caller identity"
        return f"{what}: {describe_error(exc)}"


async def _read_account(source: AwsSource, role: str | None, counter: CallCounter) -> _Outcome:
    outcome = _Outcome()
    account = await _open(source, role, counter)
    if isinstance(account, str):
        if role is None:  # the credentials' own account: its id is unknown, nothing to keep
            outcome.problems.append(f"AWS: {account}")
            return outcome
        account_id = role_account(role)
        outcome.snapshot.keep_files.update(_scopes(source, account_id))
        outcome.fail(names.scope(account_id), f"AWS account {account_id}: {account}")
        return outcome

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
    payload: Payload = {"accountId": account_id, "regions": regions}
    for region, read in zip(source.regions, region_reads, strict=True):
        regions[region] = read.payload
        outcome.read_something |= bool(read.payload)
        if read.errors:
            outcome.regions_failed += 1
            where = f"AWS account {account_id}, region {region}"
            kept = _kept_services(read)
            for service in kept:
                outcome.snapshot.keep_files.add(names.scope(account_id, region, service))
            # the region's own path too: entities stored before scopes were per service
            outcome.fail(
                names.scope(account_id, region),
                f"{where}: {_joined(read)}; kept services: {', '.join(kept)}",
            )
        else:
            outcome.regions_read += 1
    if "buckets" in buckets.payload:
        payload["s3"] = buckets.payload
        outcome.read_something = True
    if buckets.errors:
        outcome.fail(
            names.scope(account_id, names.GLOBAL_SCOPE),
            f"AWS account {account_id}, S3: {_joined(buckets)}",
        )
    part = transform_account(payload, source)
    outcome.snapshot.descriptors = part.descriptors
    outcome.snapshot.rejected = part.rejected
    outcome.snapshot.warnings = part.warnings
    return outcome


async def read_aws(source: AwsSource) -> Snapshot:
    """Read every configured account and region (the ``fetch`` of an ``aws`` source)."""
    counter = CallCounter()
    roles: tuple[str | None, ...] = source.assume_role or (None,)
    outcomes = await asyncio.gather(*(_read_account(source, role, counter) for role in roles))
    if not any(o.read_something for o in outcomes):
        problems = "; ".join(p for o in outcomes for p in o.problems)
        raise SourceUnavailableError(
            source.name, f"nothing could be read from AWS: {problems} ({FIX})"
        )
    snapshot = Snapshot(source_type="aws")
    for outcome in outcomes:
        part = outcome.snapshot
        snapshot.descriptors.extend(part.descriptors)
        snapshot.rejected.extend(part.rejected)
        snapshot.errors.extend(part.errors)
        snapshot.warnings.extend(part.warnings)
        snapshot.keep_files.update(part.keep_files)
    snapshot.stats = {
        "apiCalls": counter.calls,
        "retries": counter.attempts - counter.calls,
        "accounts": len(roles),
        "regionsRead": sum(o.regions_read for o in outcomes),
        "regionsFailed": sum(o.regions_failed for o in outcomes),
    }
    return snapshot


def _joined(read: Read) -> str:
    return "; ".join(read.errors)


def _kept_services(read: Read) -> list[str]:
    """The services of a region whose resources are kept: those not read, and those tagged
    through the tag listing when it was not read (they yield nothing without it)."""
    kept = set(read.failed)
    if "tagging" in kept:
        kept |= TAGGED_BY_LISTING
    return [key for key in SERVICES if key in kept]


def _scopes(source: AwsSource, account_id: str) -> list[str]:
    """Every scope of an account: the account, each service of its regions, its buckets."""
    return [
        names.scope(account_id),
        *(
            names.scope(account_id, region, service)
            for region in source.regions
            for service in SERVICES
        ),
        names.scope(account_id, names.GLOBAL_SCOPE),
    ]
