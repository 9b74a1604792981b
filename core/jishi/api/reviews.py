"""Product reviews (SPEC K11, K14)."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from jishi.api.common import DateTime, StrictInt, login_required, not_found
from jishi.api.orders import Id, QueryId, ids_in_range
from jishi.db import db
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


class ReviewPageSchema(Schema):
    items = fields.List(fields.Nested(ReviewSchema))
    next_cursor = fields.String(allow_none=True)
    rating_x10 = fields.Integer(metadata={"description": "average rating times ten (45 = 4.5 stars)"})
    count = fields.Integer()


class ReviewListArgs(Schema):
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ReviewArgs(Schema):
    order_line_id = Id(required=True)
    rating = StrictInt(required=True, validate=validate.Range(min=1, max=5))
    content = fields.String(load_default="", validate=validate.Length(max=2000))
    anonymous = fields.Boolean(load_default=False)


@blp.get("/products/<int:product_id>/reviews")
@blp.arguments(ReviewListArgs, location="query")
@blp.response(200, ReviewPageSchema)
def product_reviews(args, product_id):
    """Visible reviews of a product, newest first, with the average rating."""
    rows, nxt = service.product_reviews(product_id, cursor=args.get("cursor"), limit=args["limit"])
    avg, count = service.product_rating(product_id)
    return {"items": rows, "next_cursor": nxt, "rating_x10": avg, "count": count}


@blp.post("/reviews")
@login_required
@blp.arguments(ReviewArgs)
@blp.response(201, ReviewSchema)
def post_review(args):
    """Review a received order line (once)."""
    line = db.session.get(OrderLine, args["order_line_id"])
    if line is None or line.order.user_id != current_user.id:
        not_found(_("order line"))
    return service.post_review(current_user, line, args["rating"], args["content"], args["anonymous"])
