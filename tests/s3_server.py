"""An S3-compatible store on 127.0.0.1 (moto in server mode, in this process's threads),
and the STORAGES["artifacts"] setting config/settings.py builds for ARTIFACTS_S3_BUCKET."""

from __future__ import annotations

import socket

import boto3
import pytest

KEY_ID, SECRET = "testing", "testing-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    """Environment a process needs to use the bucket as its artifact store."""
    return {
        "ARTIFACTS_S3_BUCKET": bucket,
        "ARTIFACTS_S3_ENDPOINT_URL": endpoint,
        "ARTIFACTS_S3_REGION": "us-east-1",
        "ARTIFACTS_S3_ACCESS_KEY_ID": KEY_ID,
        "ARTIFACTS_S3_SECRET_ACCESS_KEY": SECRET,
    }


def s3_storage_setting(endpoint: str, bucket: str) -> dict:
    """STORAGES["artifacts"] as config/settings.py sets it from s3_env(...)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": "models",
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "access_key": KEY_ID,
            "secret_key": SECRET,
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": False,
        },
    }


@pytest.fixture(scope="session")
def s3_endpoint():
    """http://127.0.0.1:<port> of a moto S3 server living as long as the test session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def make_bucket(endpoint: str, name: str) -> None:
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    ).create_bucket(Bucket=name)
