"""Footprints JSON API (blueprint ``footprints_api``), for mini-programs.

Everything is the signed-in buyer's (the principal), never a user from the
request: ``GET /footprints`` (newest first; ``before``: the page's
``next_before`` for the next one), ``DELETE /footprints/products/<id>``
(forget one) and ``DELETE /footprints`` (forget all), both 204 whether or
not there was anything to forget.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import Blueprint, DateTime, ListedProductSchema, login_required
from jishi.db import commit
from marshmallow import Schema, fields, validate

from jishi_footprints import service

blp = Blueprint("footprints_api", __name__, url_prefix="/api/v1", description="Footprints (浏览足迹)")


class FootprintListArgs(Schema):
    before = fields.String(
        validate=validate.Regexp(r"^[0-9]{1,12}\.[0-9]{1,10}$"),
        metadata={"description": "the page before's next_before (opaque)"},
    )
    limit = fields.Integer(load_default=service.PAGE, validate=validate.Range(min=1, max=100))


class FootprintSchema(ListedProductSchema):
    id = fields.Integer()
    viewed_at = DateTime(metadata={"description": "the last time the buyer opened it"})


class FootprintPage(Schema):
    items = fields.List(fields.Nested(FootprintSchema))
    next_before = fields.String(allow_none=True, metadata={"description": "null: the last page"})
    total = fields.Integer(metadata={"description": "how many footprints the buyer has"})


@blp.get("/footprints")
@login_required
@blp.arguments(FootprintListArgs, location="query")
@blp.response(200, FootprintPage)
@blp.alt_response(422, description="invalid: a before that is no page's")
def footprints(args):
    """The products the signed-in buyer opened, newest first, with their
    price now and whether they can still be bought (a view shows here
    within seconds: views are written in batches)."""
    items, next_before = service.seen(current_user, before=args.get("before"), limit=args["limit"])
    return {
        "items": [item.__dict__ for item in items],
        "next_before": next_before,
        "total": service.count(current_user),
    }


@blp.delete("/footprints/products/<int:product_id>")
@login_required
@blp.response(204)
def forget(product_id):
    """Forget one footprint (删除): 204 whether or not there was one."""
    service.remove(current_user, product_id)
    commit()


@blp.delete("/footprints")
@login_required
@blp.response(204)
def forget_all():
    """Forget every footprint of the signed-in buyer (清空)."""
    service.clear(current_user)
    commit()
