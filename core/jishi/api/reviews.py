"""Product reviews (SPEC K11, K14), with pictures (晒图): a buyer uploads
each picture (``POST /reviews/images``, multipart) and names the answered
ids in the review's ``images``."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from jishi import media
from jishi.api.common import Blueprint, DateTime, StrictBool, StrictInt, login_required, not_found
from jishi.api.orders import Id, QueryId, ids_in_range
from jishi.db import db
from jishi.extensions import limiter
from jishi.i18n import gettext as _
from jishi.orders.models import OrderLine
from jishi.reviews import service

blp = Blueprint("reviews", __name__, url_prefix="/api/v1", description="Reviews")
blp.before_request(ids_in_range)


def _author(review) -> str:
    if review.is_anonymous or review.user is None:
        return _("Anonymous")
    name = review.user.name or review.user.phone
    return name if review.user.name else name[:3] + "****" + name[-4:]


class ReviewPictureSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "the media asset's id"})
    thumb = fields.String()
    medium = fields.String()
    large = fields.String()


class ReviewSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer(allow_none=True)
    order_line_id = fields.Integer()
    rating = fields.Integer()
    content = fields.String()
    is_anonymous = fields.Boolean()
    is_visible = fields.Boolean()
    author = fields.Function(_author)
    reply = fields.String()
    replied_at = DateTime(allow_none=True)
    created_at = DateTime()
    images = fields.List(
        fields.Nested(ReviewPictureSchema), attribute="pictures", metadata={"description": "the pictures, in order"}
    )


class ReviewPageSchema(Schema):
    items = fields.List(fields.Nested(ReviewSchema))
    next_cursor = fields.String(allow_none=True)
    rating_x10 = fields.Integer(metadata={"description": "average rating times ten (45 = 4.5 stars)"})
    count = fields.Integer()
    with_pictures_count = fields.Integer(metadata={"description": "visible reviews with pictures (有图)"})


class ReviewListArgs(Schema):
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    with_pictures = fields.Boolean(load_default=False, metadata={"description": "only reviews with pictures (有图)"})


class ReviewArgs(Schema):
    order_line_id = Id(required=True)
    rating = StrictInt(required=True, validate=validate.Range(min=1, max=5))
    content = fields.String(load_default="", validate=validate.Length(max=2000))
    anonymous = StrictBool(load_default=False)
    images = fields.List(
        Id(),
        load_default=list,
        validate=validate.Length(max=service.MAX_IMAGES),
        metadata={"description": "ids of the buyer's uploaded pictures (POST /reviews/images), at most 9, in order"},
    )


class ReviewImageUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "a JPEG, PNG, WebP or GIF image (checked by content)"})


class ReviewImageUrlsSchema(Schema):
    thumb = fields.String()
    medium = fields.String()
    large = fields.String()


class ReviewImageSchema(Schema):
    id = fields.Integer(metadata={"description": "name it in a review's images"})
    width = fields.Integer()
    height = fields.Integer()
    urls = fields.Nested(ReviewImageUrlsSchema)


def _upload_limit() -> str:
    return current_app.config["JISHI_REVIEW_IMAGE_RATE_LIMIT"]


def _upload_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


@blp.get("/products/<int:product_id>/reviews")
@blp.arguments(ReviewListArgs, location="query")
@blp.response(200, ReviewPageSchema)
def product_reviews(args, product_id):
    """Visible reviews of a product, newest first, with the average rating."""
    rows, nxt = service.product_reviews(
        product_id, cursor=args.get("cursor"), limit=args["limit"], with_pictures=args["with_pictures"]
    )
    avg, count, pics = service.product_review_summary(product_id)
    return {"items": rows, "next_cursor": nxt, "rating_x10": avg, "count": count, "with_pictures_count": pics}


@blp.post("/reviews/images")
@login_required
@limiter.limit(_upload_limit, key_func=_upload_key)
@blp.arguments(ReviewImageUploadSchema, location="files")
@blp.response(201, ReviewImageSchema)
@blp.alt_response(413, description="The file is larger than JISHI_MEDIA_MAX_BYTES (field: file).")
def upload_image(files):
    """Upload a picture for a review (``multipart/form-data``, field
    ``file``), as the signed-in buyer: checked by its content (JPEG, PNG,
    WebP, GIF), at most ``JISHI_MEDIA_MAX_BYTES`` (else 413) and
    ``JISHI_MEDIA_MAX_PIXELS`` (else 422), re-encoded to the standard sizes
    without its metadata. Private to the buyer until a review names it;
    the same bytes again answer the same id. Rate-limited per buyer
    (``JISHI_REVIEW_IMAGE_RATE_LIMIT``)."""
    asset = media.upload(files["file"], media.buyer_owner(current_user.id), user_id=current_user.id, field="file")
    return {"id": asset.id, "width": asset.width, "height": asset.height, "urls": media.asset_urls(asset)}


@blp.post("/reviews")
@login_required
@blp.arguments(ReviewArgs)
@blp.response(201, ReviewSchema)
def post_review(args):
    """Review a received order line (once)."""
    line = db.session.get(OrderLine, args["order_line_id"])
    if line is None or line.order.user_id != current_user.id:
        not_found(_("order line"))
    return service.post_review(
        current_user, line, args["rating"], args["content"], args["anonymous"], images=args["images"]
    )
