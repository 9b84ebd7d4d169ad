"""An S3-compatible server for tests: ``moto`` on 127.0.0.1, or the one ``.ci/run`` started.

``.ci/run`` may export ``TUTOPANDA_TEST_S3_ENDPOINT`` (a ``moto_server`` it started); otherwise the first
test that needs S3 starts moto in this process on a free loopback port. Either way the standard AWS
variables point s3fs/botocore at it, so worker subprocesses inherit them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of a loopback S3 server, with the AWS variables set for this process."""
    saved = {key: os.environ.get(key) for key in (*S3_ENV, "AWS_ENDPOINT_URL_S3")}
    given = os.environ.get("TUTOPANDA_TEST_S3_ENDPOINT")
    server = None
    if given:
        endpoint = given
    else:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
    os.environ.update(S3_ENV, AWS_ENDPOINT_URL_S3=endpoint)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if server is not None:
            server.stop()


def make_bucket() -> str:
    """Create a fresh bucket (names need 3+ characters) and return its name."""
    import fsspec

    name = f"tp-{uuid.uuid4().hex[:12]}"
    fs = fsspec.filesystem("s3", use_listings_cache=False)
    fs.mkdir(name)
    return name
