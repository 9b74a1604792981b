"""Favorites JSON API (blueprint ``favorites_api``), for mini-programs.

Everything is the signed-in buyer's (the principal), never a user from the
request: ``GET /favorites`` (newest first, ``before`` the last id for the
next page), ``GET|PUT|DELETE /favorites/products/<id>`` (is it kept; keep
it, idempotent: 201 when added, 200 when kept already; let it go: 204).
"""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import Blueprint, DateTime, ListedProductSchema, QueryId, login_required
from jishi.db import commit
from marshmallow import Schema, fields, validate

from jishi_favorites import service

blp = Blueprint("favorites_api", __name__, url_prefix="/api/v1", description="Favorites (商品收藏)")


class FavoriteListArgs(Schema):
    before = QueryId(metadata={"description": "the last id of the page before (next_before)"})
    limit = fields.Integer(load_default=service.PAGE, validate=validate.Range(min=1, max=100))


class FavoriteSchema(ListedProductSchema):
    id = fields.Integer()
    kept_at = DateTime()


class FavoritePage(Schema):
    items = fields.List(fields.Nested(FavoriteSchema))
    next_before = fields.Integer(allow_none=True, metadata={"description": "null: the last page"})
    total = fields.Integer(metadata={"description": "how many the buyer keeps"})


class FavoriteStateSchema(Schema):
    kept = fields.Boolean(required=True)
    added = fields.Boolean(metadata={"description": "PUT: this call added it"})


@blp.get("/favorites")
@login_required
@blp.arguments(FavoriteListArgs, location="query")
@blp.response(200, FavoritePage)
def favorites(args):
    """The signed-in buyer's favorite products, newest first, with their
    price now and whether they can still be bought."""
    items, next_before = service.kept(current_user, before=args.get("before"), limit=args["limit"])
    return {
        "items": [item.__dict__ for item in items],
        "next_before": next_before,
        "total": service.count(current_user),
    }


@blp.get("/favorites/products/<int:product_id>")
@login_required
@blp.response(200, FavoriteStateSchema)
def is_kept(product_id):
    """Whether the signed-in buyer keeps the product (the heart's state)."""
    return {"kept": service.is_kept(current_user, service.checked_id(product_id))}


@blp.put("/favorites/products/<int:product_id>")
@login_required
@blp.response(200, FavoriteStateSchema)
@blp.alt_response(201, schema=FavoriteStateSchema, description="added by this call")
@blp.alt_response(404, description="not_found: a product the buyer cannot open")
@blp.alt_response(409, description="favorites_full: the buyer keeps the most there may be")
def keep(product_id):
    """Keep a product (收藏): idempotent, 201 when this call added it, 200
    when it was kept already."""
    added = service.keep(current_user, product_id)
    commit()
    return {"kept": True, "added": added}, 201 if added else 200


@blp.delete("/favorites/products/<int:product_id>")
@login_required
@blp.response(204)
def let_go(product_id):
    """Let a product go (取消收藏): 204 whether or not it was kept."""
    service.let_go(current_user, product_id)
    commit()
