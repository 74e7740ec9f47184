"""Which configured source reads a Backstage location (whose rules validate-entity adds)."""

from __future__ import annotations

import pytest

from ingestors.aws.config import AwsSource
from ingestors.git.config import GitSource
from ingestors.github.config import GithubSource
from ingestors.gitlab.config import GitlabSource
from ingestors.location.config import LocationSource
from ingestors.location_source import source_reading

SOURCES = (
    AwsSource(name="cloud", regions=("eu-west-1",)),
    GitSource(name="shop", url="git@github.com:Acme/Shop.git"),
    GitSource(name="local", url="/srv/catalog"),
    GitSource(name="mirror", url="https://git.acme.example/platform/infra.git"),
    LocationSource(name="widgets", target="https://gitlab.com/acme/widgets/-/blob/main/x.yaml"),
    GithubSource(name="acme-payments", org="acme", repos=("payments-*",)),
    GithubSource(name="ghes", org="core", api_url="https://github.acme.example/api/v3"),
    GitlabSource(name="platform", group="acme/platform", include_subgroups=False),
)


@pytest.mark.parametrize(
    ("location", "source"),
    [
        ("url:https://github.com/acme/shop/blob/main/catalog-info.yaml", "shop"),
        ("url:https://github.com/ACME/shop/tree/main/services/", "shop"),
        ("url:ssh://git@github.com/acme/shop.git", "shop"),
        ("file:/srv/catalog/teams/catalog-info.yaml", "local"),
        ("git:https://git.acme.example/platform/infra.git@0123abcd:a/catalog-info.yaml", "mirror"),
        ("url:https://gitlab.com/acme/widgets/-/blob/dev/catalog-info.yaml", "widgets"),
        ("url:https://github.com/acme/payments-api/blob/main/catalog-info.yaml", "acme-payments"),
        ("url:https://github.acme.example/core/auth/blob/main/catalog-info.yaml", "ghes"),
        ("url:https://gitlab.com/acme/platform/ci/-/blob/main/catalog-info.yaml", "platform"),
        # not read by any source
        ("url:https://github.com/acme/billing/blob/main/catalog-info.yaml", None),
        ("url:https://github.com/other/shop/blob/main/catalog-info.yaml", None),
        ("url:https://gitlab.com/acme/platform/sub/deep/-/blob/main/catalog-info.yaml", None),
        ("file:/srv/other/catalog-info.yaml", None),
        ("url:not a url", None),
        ("api:pushed", None),
    ],
)
def test_the_source_reading_a_location(location: str, source: str | None) -> None:
    found = source_reading(location, SOURCES)

    assert (found.name if found else None) == source


def test_the_first_matching_source_in_config_order_wins() -> None:
    twice = (
        GitSource(name="one", url="https://github.com/acme/shop"),
        GitSource(name="two", url="https://github.com/acme/shop.git"),
    )

    found = source_reading("url:https://github.com/acme/shop/blob/main/x.yaml", twice)

    assert found is not None and found.name == "one"
