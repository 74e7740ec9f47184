"""How an AWS source reads in ``stagegraph.yaml``::

- name: aws-prod
  type: aws
  regions: [eu-west-1, us-east-1]          # required, at least one
  assumeRole:                               # optional: one ARN or a list, one account each
    - arn:aws:iam::111122223333:role/stagegraph-reader
  endpointUrl: http://localhost:4566        # optional: LocalStack, moto
  endpointUrls: {eu-west-1: http://localhost:4567}  # optional: one URL per region (tests)
  tagKeys: {owner: [owner, team]}           # optional: roles not given keep their defaults
  defaultOwner: group:default/platform      # optional: owner of untagged resources
  accountAlias: production                  # optional: a name, or {accountId: name}
  maxAttempts: 8                            # optional: botocore retry attempts per call
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from catalog.errors import InvalidRefError
from catalog.refs import parse_ref
from ingestors.contract import SourceConfig

#: Tag keys read for each role, first found wins (compared case-insensitively).
DEFAULT_TAG_KEYS: dict[str, tuple[str, ...]] = {
    "component": ("component", "service"),
    "owner": ("owner", "team"),
    "system": ("system",),
    "environment": ("environment", "env"),
}
#: Owner of a resource with no owner tag when ``defaultOwner`` is not set: one group every
#: untagged resource points at, so ``ownedEntities(owner: "group:default/unowned")`` lists
#: what still needs an owner tag.
DEFAULT_OWNER = "group:default/unowned"

_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d{1,2}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


def role_account(arn: str) -> str:
    """The account a role ARN belongs to: ``arn:aws:iam::111122223333:role/x`` -> its id."""
    match = _ROLE_ARN.match(arn)
    if match is None:
        raise ValueError(f"{arn!r} is not an IAM role ARN")
    return match.group(1)


def _check_url(value: str, key: str) -> str:
    if not _URL.match(value):
        raise PydanticCustomError(
            "aws_endpoint",
            "'{value}' is not a URL: write {key} as http(s)://host[:port]",
            {"value": value, "key": key},
        )
    return value


class AwsSource(SourceConfig):
    """One or more AWS accounts, read in the listed regions."""

    type: Literal["aws"] = "aws"
    regions: tuple[str, ...] = Field(
        description="Regions to read, e.g. [eu-west-1, us-east-1]; at least one."
    )
    assume_role: tuple[str, ...] = Field(
        default=(),
        alias="assumeRole",
        description="IAM role ARNs to assume, one account each; none: the credentials' own "
        "account (STS GetCallerIdentity).",
    )
    endpoint_url: str | None = Field(
        default=None,
        alias="endpointUrl",
        description="Send every AWS call here (LocalStack, moto) instead of AWS.",
    )
    endpoint_urls: dict[str, str] = Field(
        default_factory=dict,
        alias="endpointUrls",
        description=(
            "One URL per region (region -> URL) for every regional call of that region,"
            " whatever the service, ahead of endpointUrl: a LocalStack or moto per region,"
            " a proxy in tests. Not VPC interface endpoints (those are one URL per service)."
        ),
    )
    tag_keys: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_TAG_KEYS),
        alias="tagKeys",
        description="Tag keys read for component, owner, system and environment.",
    )
    default_owner: str = Field(
        default=DEFAULT_OWNER,
        alias="defaultOwner",
        description="Owner ref of resources without an owner tag.",
    )
    account_alias: str | dict[str, str] | None = Field(
        default=None,
        alias="accountAlias",
        description="A display name for the account, or accountId -> name for several.",
    )
    max_attempts: int = Field(
        default=8,
        ge=1,
        le=20,
        alias="maxAttempts",
        description="Attempts per AWS call (botocore adaptive retries, throttling honoured).",
    )

    @field_validator("regions", mode="before")
    @classmethod
    def _regions_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("regions")
    @classmethod
    def _regions_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise PydanticCustomError(
                "aws_regions", "list at least one region, e.g. regions: [eu-west-1]"
            )
        for region in value:
            if not _REGION.match(region):
                raise PydanticCustomError(
                    "aws_region",
                    "'{value}' is not an AWS region name (e.g. eu-west-1, us-east-1)",
                    {"value": region},
                )
        duplicates = sorted({r for r in value if value.count(r) > 1})
        if duplicates:
            raise PydanticCustomError(
                "aws_regions",
                "region {value} is listed more than once",
                {"value": ", ".join(duplicates)},
            )
        return value

    @field_validator("assume_role", mode="before")
    @classmethod
    def _roles_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("assume_role")
    @classmethod
    def _roles_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        accounts: dict[str, str] = {}
        for arn in value:
            if not _ROLE_ARN.match(arn):
                raise PydanticCustomError(
                    "aws_role",
                    "'{value}' is not an IAM role ARN; write "
                    "arn:aws:iam::<12-digit account id>:role/<name>",
                    {"value": arn},
                )
            account = role_account(arn)
            if account in accounts:
                raise PydanticCustomError(
                    "aws_role",
                    "'{value}' is a second role in account {account} (after '{first}'); "
                    "give one role per account",
                    {"value": arn, "account": account, "first": accounts[account]},
                )
            accounts[account] = arn
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value, "endpointUrl")

    @field_validator("endpoint_urls")
    @classmethod
    def _endpoints_valid(cls, value: dict[str, str]) -> dict[str, str]:
        for region, url in value.items():
            if not _REGION.match(region):
                raise PydanticCustomError(
                    "aws_region",
                    "endpointUrls key '{value}' is not an AWS region name (e.g. eu-west-1)",
                    {"value": region},
                )
            _check_url(url, f"endpointUrls.{region}")
        return value

    @field_validator("tag_keys", mode="before")
    @classmethod
    def _tag_keys_merged(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        unknown = sorted(str(k) for k in value if k not in DEFAULT_TAG_KEYS)
        if unknown:
            raise PydanticCustomError(
                "aws_tag_keys",
                "unknown tagKeys role {value}; the roles are component, owner, system, environment",
                {"value": ", ".join(unknown)},
            )
        merged: dict[str, object] = dict(DEFAULT_TAG_KEYS)
        for role, keys in value.items():
            merged[role] = [keys] if isinstance(keys, str) else keys
        return merged

    @field_validator("tag_keys")
    @classmethod
    def _tag_keys_valid(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for role, keys in value.items():
            if not keys or any(not key.strip() for key in keys):
                raise PydanticCustomError(
                    "aws_tag_keys",
                    "tagKeys.{role} must list at least one non-empty tag key",
                    {"role": role},
                )
        return value

    @field_validator("default_owner")
    @classmethod
    def _owner_is_ref(cls, value: str) -> str:
        try:
            return str(parse_ref(value, default_kind="group"))
        except InvalidRefError as exc:
            raise PydanticCustomError(
                "aws_default_owner",
                "'{value}' is not an owner ref ({reason}); write e.g. group:default/platform",
                {"value": value, "reason": exc.reason},
            ) from None

    @model_validator(mode="after")
    def _alias_fits_accounts(self) -> Self:
        alias = self.account_alias
        if isinstance(alias, str) and len(self.assume_role) > 1:
            raise PydanticCustomError(
                "aws_account_alias",
                "accountAlias is one name but assumeRole lists {count} accounts; map each "
                "account id to its name under accountAlias (e.g. '111122223333': production)",
                {"count": len(self.assume_role)},
            )
        if isinstance(alias, dict):
            for account in alias:
                if not _ACCOUNT_ID.match(account):
                    raise PydanticCustomError(
                        "aws_account_alias",
                        "accountAlias key '{value}' is not a 12-digit account id",
                        {"value": account},
                    )
        return self

    def alias_of(self, account_id: str) -> str | None:
        """The configured display name of ``account_id``, if any."""
        if isinstance(self.account_alias, dict):
            return self.account_alias.get(account_id)
        return self.account_alias

    def endpoint_for(self, region: str) -> str | None:
        return self.endpoint_urls.get(region, self.endpoint_url)
