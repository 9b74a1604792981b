"""Where the media library's files live: a :class:`Storage`.

Two implementations, chosen by ``JISHI_MEDIA_STORAGE``:

- ``"local"`` (default), :class:`LocalStorage`: a folder (``media/`` in the
  instance folder unless ``JISHI_MEDIA_ROOT`` says otherwise), served by the
  kernel at ``JISHI_MEDIA_URL`` (``/media/<name>``) with a year-long
  ``Cache-Control`` and an ``ETag`` (names are content-addressed, so a name
  never changes content);
- ``"s3"``, :class:`S3Storage`: an S3-compatible object store through boto3
  (``pip install jishi[s3]``); images are served by the store at
  ``JISHI_MEDIA_S3_PUBLIC_URL`` (default: ``<endpoint>/<bucket>``), each
  object written with the same long ``Cache-Control``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from flask import current_app

#: a stored name: the upload's sha256, the longest side in pixels, the format
NAME = re.compile(r"^[0-9a-f]{64}-[0-9]{1,5}\.(webp|jpg)$")
CACHE_CONTROL = "public, max-age=31536000, immutable"
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}


class Storage(Protocol):
    """What the media library needs of a storage."""

    def save(self, name: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``name`` (overwriting is harmless: same name, same bytes)."""

    def load(self, name: str) -> bytes | None:
        """The bytes stored under ``name``, or None."""

    def url(self, name: str) -> str:
        """The address buyers load ``name`` from."""

    def name_from_url(self, url: str) -> str | None:
        """The stored name ``url`` points at, when it is one of this storage's."""


def content_type(name: str) -> str:
    return CONTENT_TYPES[name.rsplit(".", 1)[-1]]


def _name_after(url: str, base: str) -> str | None:
    if not base or not url.startswith(base):
        return None
    name = url[len(base) :]
    return name if NAME.match(name) else None


class LocalStorage:
    """Files in a folder, two levels deep (``ab/abcd...-600.webp``)."""

    def __init__(self, root: str | Path, base_url: str = "/media/"):
        self.root = Path(root)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    def _path(self, name: str) -> Path:
        if not NAME.match(name):
            raise ValueError(f"not a media name: {name!r}")
        return self.root / name[:2] / name

    def save(self, name: str, data: bytes, content_type: str) -> None:
        path = self._path(name)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)

    def load(self, name: str) -> bytes | None:
        path = self._path(name)
        return path.read_bytes() if path.is_file() else None

    def url(self, name: str) -> str:
        return self.base_url + name

    def name_from_url(self, url: str) -> str | None:
        return _name_after(url, self.base_url)


class S3Storage:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, OSS/COS in S3 mode...)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        public_url: str | None = None,
        prefix: str = "media/",
        client=None,
    ):
        if client is None:
            try:
                import boto3
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise RuntimeError("JISHI_MEDIA_STORAGE='s3' needs boto3: pip install 'jishi[s3]'") from exc
            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        if not public_url:
            base = (endpoint_url or f"https://{bucket}.s3.amazonaws.com").rstrip("/")
            public_url = f"{base}/{bucket}" if endpoint_url else base
        self.base_url = public_url.rstrip("/") + "/" + prefix

    def save(self, name: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + name,
            Body=data,
            ContentType=content_type,
            CacheControl=CACHE_CONTROL,
        )

    def load(self, name: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def url(self, name: str) -> str:
        return self.base_url + name

    def name_from_url(self, url: str) -> str | None:
        return _name_after(url, self.base_url)


def build_storage(app) -> Storage:
    """The storage ``app``'s configuration asks for."""
    cfg = app.config
    kind = (cfg.get("JISHI_MEDIA_STORAGE") or "local").lower()
    if kind == "local":
        root = cfg.get("JISHI_MEDIA_ROOT") or str(Path(app.instance_path) / "media")
        return LocalStorage(root, cfg.get("JISHI_MEDIA_URL") or "/media/")
    if kind == "s3":
        if not cfg.get("JISHI_MEDIA_S3_BUCKET"):
            raise RuntimeError("JISHI_MEDIA_STORAGE='s3' needs JISHI_MEDIA_S3_BUCKET")
        return S3Storage(
            cfg["JISHI_MEDIA_S3_BUCKET"],
            endpoint_url=cfg.get("JISHI_MEDIA_S3_ENDPOINT_URL"),
            region=cfg.get("JISHI_MEDIA_S3_REGION"),
            access_key=cfg.get("JISHI_MEDIA_S3_ACCESS_KEY"),
            secret_key=cfg.get("JISHI_MEDIA_S3_SECRET_KEY"),
            public_url=cfg.get("JISHI_MEDIA_S3_PUBLIC_URL"),
            prefix=cfg.get("JISHI_MEDIA_S3_PREFIX", "media/"),
        )
    raise RuntimeError(f"JISHI_MEDIA_STORAGE must be 'local' or 's3', not {kind!r}")


def storage() -> Storage:
    """The current app's storage (built once per app)."""
    ext = current_app.extensions
    if "jishi_media_storage" not in ext:
        ext["jishi_media_storage"] = build_storage(current_app)
    return ext["jishi_media_storage"]
