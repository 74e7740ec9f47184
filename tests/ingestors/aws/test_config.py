"""An ``aws`` source entry in stagegraph.yaml: defaults, and a clear message per mistake."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ingestors.aws.config import DEFAULT_TAG_KEYS, AwsSource
from ingestors.registry import parse_sources


def _problems(**entry: Any) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        parse_sources([{"name": "aws", "type": "aws", **entry}])
    return {tuple(e["loc"]): e["msg"] for e in caught.value.errors()}


def test_an_aws_source_reads_with_defaults() -> None:
    (source,) = parse_sources(
        [{"name": "aws-prod", "type": "aws", "regions": "eu-west-1", "tagKeys": {"owner": "squad"}}]
    )

    assert isinstance(source, AwsSource)
    assert source.regions == ("eu-west-1",)
    assert source.assume_role == ()
    assert source.endpoint_url is None
    assert source.tag_keys == {**DEFAULT_TAG_KEYS, "owner": ("squad",)}
    assert source.default_owner == "group:default/unowned"
    assert source.max_attempts == 8


def test_roles_endpoints_owner_and_aliases_are_read() -> None:
    (source,) = parse_sources(
        [
            {
                "name": "aws-all",
                "type": "aws",
                "regions": ["eu-west-1", "us-east-1"],
                "assumeRole": [
                    "arn:aws:iam::111122223333:role/reader",
                    "arn:aws:iam::444455556666:role/reader",
                ],
                "endpointUrl": "http://localhost:4566",
                "endpointUrls": {"us-east-1": "http://localhost:4567"},
                "defaultOwner": "platform",
                "accountAlias": {"111122223333": "production"},
            }
        ]
    )

    assert isinstance(source, AwsSource)
    assert source.default_owner == "group:default/platform"
    assert (source.endpoint_for("eu-west-1"), source.endpoint_for("us-east-1")) == (
        "http://localhost:4566",
        "http://localhost:4567",
    )
    assert (source.alias_of("111122223333"), source.alias_of("444455556666")) == (
        "production",
        None,
    )


def test_every_mistake_is_named_with_what_to_write() -> None:
    assert _problems() == {(0, "regions"): "Field required"}
    assert _problems(regions=[]) == {
        (0, "regions"): "list at least one region, e.g. regions: [eu-west-1]"
    }
    assert _problems(regions=["eu-west-1", "Ireland", "eu-west-1"]) == {
        (0, "regions"): "'Ireland' is not an AWS region name (e.g. eu-west-1, us-east-1)"
    }
    assert _problems(regions=["eu-west-1", "eu-west-1"]) == {
        (0, "regions"): "region eu-west-1 is listed more than once"
    }
    assert _problems(regions=["eu-west-1"], assumeRole="arn:aws:iam::123:role/x") == {
        (0, "assumeRole"): "'arn:aws:iam::123:role/x' is not an IAM role ARN; write "
        "arn:aws:iam::<12-digit account id>:role/<name>"
    }
    assert _problems(
        regions=["eu-west-1"],
        assumeRole=["arn:aws:iam::111122223333:role/a", "arn:aws:iam::111122223333:role/b"],
    ) == {
        (0, "assumeRole"): "'arn:aws:iam::111122223333:role/b' is a second role in account "
        "111122223333 (after 'arn:aws:iam::111122223333:role/a'); give one role per account"
    }
    assert _problems(regions=["eu-west-1"], endpointUrl="localhost:4566") == {
        (0, "endpointUrl"): "'localhost:4566' is not a URL: write endpointUrl as "
        "http(s)://host[:port]"
    }
    assert _problems(regions=["eu-west-1"], tagKeys={"owner": [], "team": ["x"]}) == {
        (0, "tagKeys"): "unknown tagKeys role team; the roles are component, owner, system, "
        "environment"
    }
    assert _problems(regions=["eu-west-1"], tagKeys={"owner": []}) == {
        (0, "tagKeys"): "tagKeys.owner must list at least one non-empty tag key"
    }
    assert _problems(regions=["eu-west-1"], defaultOwner="team a") == {
        (0, "defaultOwner"): "'team a' is not an owner ref ('team a' is not a valid name "
        "(1-63 of [a-zA-Z0-9] with -_. inside)); write e.g. group:default/platform"
    }
    assert _problems(
        regions=["eu-west-1"],
        assumeRole=["arn:aws:iam::111122223333:role/a", "arn:aws:iam::444455556666:role/a"],
        accountAlias="production",
    ) == {
        (0,): "accountAlias is one name but assumeRole lists 2 accounts; map each account "
        "id to its name under accountAlias (e.g. '111122223333': production)"
    }
    assert _problems(regions=["eu-west-1"], maxAttempts=0) == {
        (0, "maxAttempts"): "Input should be greater than or equal to 1"
    }
