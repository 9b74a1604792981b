"""Issue 13 B: the S3-compatible storage, against moto's server on
127.0.0.1 (the real S3 wire protocol through boto3): uploads land in the
bucket with their content type and long Cache-Control, the library answers
the object store's addresses, and products accept them as the owner's."""

from __future__ import annotations

import io
import socket

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

BUCKET = "jishi-media"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    server.stop()


@pytest.fixture
def app_config(s3_endpoint):
    endpoint, _client = s3_endpoint
    return {
        "JISHI_MEDIA_STORAGE": "s3",
        "JISHI_MEDIA_S3_BUCKET": BUCKET,
        "JISHI_MEDIA_S3_ENDPOINT_URL": endpoint,
        "JISHI_MEDIA_S3_REGION": "us-east-1",
        "JISHI_MEDIA_S3_ACCESS_KEY": "k",
        "JISHI_MEDIA_S3_SECRET_KEY": "s",
        "JISHI_MEDIA_S3_PUBLIC_URL": "https://img.example.com",
    }


def test_upload_goes_to_the_bucket(app, api, factory, s3_endpoint):
    """B: with JISHI_MEDIA_STORAGE="s3" every size is an object of the
    bucket (WebP, year-long Cache-Control), addressed at the public URL;
    nothing is written to the instance folder; the kernel's /media/ route
    sends the client on to the store."""
    from pathlib import Path

    _endpoint, client = s3_endpoint
    admin = factory.admin()
    data = factory.image_bytes("JPEG", size=(900, 300))
    resp = api.post(
        "/seller/media", user=admin, data={"file": (io.BytesIO(data), "a.jpg")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 201, resp.json
    urls = resp.json["urls"]
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    assert urls["medium"] == f"https://img.example.com/media/{digest}-600.webp"
    for label, width in (("thumb", 200), ("medium", 600), ("large", 900)):
        key = urls[label].removeprefix("https://img.example.com/")
        obj = client.get_object(Bucket=BUCKET, Key=key)
        assert obj["ContentType"] == "image/webp"
        assert obj["CacheControl"] == "public, max-age=31536000, immutable"
        from PIL import Image

        assert Image.open(io.BytesIO(obj["Body"].read())).size[0] == width
    assert not (Path(app.instance_path) / "media").exists()
    moved = api.client.get(f"/media/{digest}-600.webp")
    assert moved.status_code == 301 and moved.headers["Location"] == urls["medium"]

    from jishi.catalog import service

    product = factory.product()
    saved = service.save_product({"images": [urls["large"]]}, product)
    assert saved.image == urls["large"]
    # a file that is not an image writes no object
    before = client.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    bad = api.post(
        "/seller/media",
        user=admin,
        data={"file": (io.BytesIO(b"%PDF-1.4"), "b.jpg")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and bad.json["field"] == "file"
    assert client.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before
