"""``stagegraph ingest --config ... --source <aws source>``: the CLI runs the registered
AWS source against moto's server and records the run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from graph import open_store
from tests.api.server import cli
from tests.ingestors.aws.estate import ACCOUNT, REGION, Moto


async def _stored(store_url: str, ref: str) -> bool:
    store = open_store(store_url)
    await store.setup()
    try:
        return ref in await store.get_entities([ref])
    finally:
        await store.close()


def test_the_cli_ingests_a_configured_aws_source(tmp_path: Path, moto: Moto) -> None:
    moto.queue("orders", {"owner": "team-a"})
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        "sources:\n"
        "  - name: aws-prod\n"
        "    type: aws\n"
        f"    regions: [{REGION}]\n"
        f"    endpointUrl: {moto.url}\n"
    )
    store_url = f"sqlite:///{tmp_path / 'cli.db'}"

    ran = cli(store_url, "ingest", "--config", str(config), "--source", "aws-prod")

    assert ran.returncode == 0, ran.stderr
    assert "SUCCEEDED" in ran.stdout
    assert "stats: " in ran.stdout and "apiCalls " in ran.stdout
    ref = f"resource:aws-{ACCOUNT}/sqs-orders-{REGION}"
    assert asyncio.run(_stored(store_url, ref))
