"""Record the payload the transform tests read: ``python -m tests.ingestors.aws.record``.

Builds the estate of :mod:`tests.ingestors.aws.estate` in a fresh moto server, reads it
with the source's own ``get_*`` functions and writes tests/fixtures/aws/account.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from moto.server import ThreadedMotoServer

from ingestors.aws.config import AwsSource
from ingestors.aws.get import CallCounter, get_account, get_buckets, get_region
from tests.ingestors.aws.estate import FAKE_KEYS, REGION, Moto

TARGET = Path(__file__).parents[2] / "fixtures" / "aws" / "account.json"


def main() -> None:
    os.environ.update(FAKE_KEYS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        Moto(url).estate()
        source = AwsSource(name="record", regions=(REGION,), endpoint_url=url)
        counter = CallCounter()
        account = get_account(source, None, counter)
        region = get_region(source, account, REGION, counter)
        buckets = get_buckets(source, account, counter)
        if region.errors or buckets.errors:
            raise SystemExit(f"moto did not answer every call: {region.errors + buckets.errors}")
        payload = {
            "accountId": account.account_id,
            "regions": {REGION: region.payload},
            "s3": buckets.payload,
        }
        TARGET.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
        print(f"{TARGET}: {counter.calls} calls")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
