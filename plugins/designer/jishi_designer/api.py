"""Designer JSON API, under ``/api/v1``.

- ``GET /pages/<slug>`` (anyone): the live page as ONE document a
  mini-program renders: ``version`` (the revision number), ``etag`` and
  ``blocks``, each with its ``settings`` (links carry their ``url``) and its
  resolved ``data`` (products with current prices; items that cannot be
  shown are left out and listed in ``skipped`` with a reason). The response
  has an ``ETag``; a client sending it back in ``If-None-Match`` gets
  ``304`` while nothing changed (layout, prices, stock). ``lat``/``lng``
  (the visitor's location) let blocks sort by distance. The home page is
  ``home``, a merchant's shop page ``shop-<merchant id>`` (with ``seller``,
  the merchant as buyers see it; 404 once the merchant is shut or deleted).
"""

from __future__ import annotations

from flask import request
from flask_login import current_user
from jishi.api.common import Blueprint, json_response, not_found
from jishi.db import utcnow
from jishi.hookspecs import BlockContext
from marshmallow import Schema, fields, validate

from jishi_designer import service
from jishi_designer.models import KIND_SHOP

blp = Blueprint(
    "designer_api", __name__, url_prefix="/api/v1", description="Designed pages (店铺装修) for mini-program clients."
)


class PageQuery(Schema):
    lat = fields.Float(validate=validate.Range(min=-90, max=90), metadata={"description": "visitor latitude"})
    lng = fields.Float(validate=validate.Range(min=-180, max=180), metadata={"description": "visitor longitude"})


class BlockSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "the block type's code, e.g. designer.banner"})
    settings = fields.Dict(required=True)
    data = fields.Dict(required=True, metadata={"description": "the block's resolved data (items, skipped...)"})


class SellerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    url = fields.String(required=True)
    logo = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    can_sell = fields.Boolean(required=True)


class PageSchema(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "the published revision's number"})
    etag = fields.String(required=True)
    seller = fields.Nested(
        SellerSchema, allow_none=True, required=True, metadata={"description": "a shop page's merchant (else null)"}
    )
    blocks = fields.List(fields.Nested(BlockSchema), required=True)


@blp.get("/pages/<slug>")
@blp.arguments(PageQuery, location="query")
@blp.response(200, PageSchema)
@blp.alt_response(304, description="not modified (If-None-Match matched the page's ETag)")
def page(query, slug):
    found = service.live(slug)
    if found is None:
        not_found("page")
    pg, number, title, blocks = found
    seller = service.shop_owner(pg)
    if pg.kind == KIND_SHOP and seller is None:
        not_found("page")  # the merchant is gone or shut: so is its page
    location = (query["lat"], query["lng"]) if "lat" in query and "lng" in query else None
    user = current_user._get_current_object() if current_user.is_authenticated else None
    context = BlockContext(seller_id=pg.seller_id, user=user, location=location, now=utcnow())
    resolved = service.document(blocks, context)
    tag = service.etag(number, [seller, *resolved])
    if tag in request.if_none_match:
        from flask import current_app

        resp = current_app.response_class(status=304)
        resp.set_etag(tag)
        return resp
    body = {"slug": slug, "title": title, "version": number, "etag": tag, "seller": seller, "blocks": resolved}
    resp = json_response(body)
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "no-cache"
    return resp
