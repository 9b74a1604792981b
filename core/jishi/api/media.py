"""The media library API (for the platform's and merchants' staff, the owner
from the signed-in principal's seller scope): upload an image (multipart),
list the library. Use an item's ``urls.large`` (or ``media:<id>``) in a
product's ``images``."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from jishi import media
from jishi.api.common import Blueprint, DateTime, QueryId
from jishi.sellers import current_scope, seller_api

blp = Blueprint("media_api", __name__, url_prefix="/api/v1", description="The media library: uploaded images.")


class MediaUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "a JPEG, PNG, WebP or GIF image (checked by content)"})


class MediaListArgsSchema(Schema):
    before = QueryId(metadata={"description": "page on: items with a smaller id"})
    limit = fields.Integer(load_default=60, validate=validate.Range(min=1, max=100))


class MediaUrlsSchema(Schema):
    thumb = fields.String()
    medium = fields.String()
    large = fields.String()


class MediaAssetSchema(Schema):
    id = fields.Integer()
    ref = fields.String(metadata={"description": "media:<id>, accepted in a product's images"})
    filename = fields.String()
    source_format = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    size_bytes = fields.Integer()
    urls = fields.Nested(MediaUrlsSchema)
    created_at = DateTime()


class MediaPageSchema(Schema):
    items = fields.List(fields.Nested(MediaAssetSchema))
    next_before = fields.Integer(allow_none=True)


def _owner() -> media.Owner:
    scope = current_scope("api")
    assert scope is not None  # seller_api made sure
    return media.owner_of(scope.seller_id)


def _out(asset) -> dict:
    return {
        "id": asset.id,
        "ref": f"media:{asset.id}",
        "filename": asset.filename,
        "source_format": asset.source_format,
        "width": asset.width,
        "height": asset.height,
        "size_bytes": asset.size_bytes,
        "urls": media.asset_urls(asset),
        "created_at": asset.created_at,
    }


@blp.get("/seller/media")
@seller_api("products")
@blp.arguments(MediaListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, MediaPageSchema)
def media_list(limit: int, before: int | None = None):
    """The acting seller's media library (the platform's own, or the
    merchant's), newest first."""
    items = media.library(_owner(), limit=limit, before_id=before)
    return {"items": [_out(a) for a in items], "next_before": items[-1].id if len(items) == limit else None}


@blp.post("/seller/media")
@seller_api("products")
@blp.arguments(MediaUploadSchema, location="files")
@blp.response(201, MediaAssetSchema)
@blp.alt_response(413, description="The file is larger than JISHI_MEDIA_MAX_BYTES (field: file).")
def media_upload(files):
    """Upload an image (``multipart/form-data``, field ``file``): checked by
    its content (JPEG, PNG, WebP, GIF; not a PDF named .jpg), at most
    ``JISHI_MEDIA_MAX_BYTES`` (else 413) and ``JISHI_MEDIA_MAX_PIXELS``;
    re-encoded to the standard sizes without its metadata. The same bytes
    uploaded again answer the same item."""
    asset = media.upload(files["file"], _owner(), user_id=current_user.id, field="file")
    return _out(asset)
