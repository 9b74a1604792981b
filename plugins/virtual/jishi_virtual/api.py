"""Virtual goods API.

Buyers: ``GET /orders/<id>/virtual`` (their own order only; others 404):
the codes or link handed over. Seller staff (seller from the principal,
``jishi.sellers.seller_api``): ``GET /seller/virtual/orders/<id>`` (their
own order; the platform its own) and ``POST .../deliver`` (retry a delivery
whose codes ran out), permission ``orders``. Answers are never cached.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import login_required, not_found
from jishi.db import commit
from jishi.sellers import current_scope, seller_api
from marshmallow import Schema, fields

from jishi_virtual import service
from jishi_virtual.blueprints import api
from jishi_virtual.views import seller_order


class HandedOverSchema(Schema):
    line_id = fields.Integer()
    name = fields.String()
    spec_text = fields.String()
    kind = fields.String(metadata={"description": "codes (card codes, 卡密) or text (a link or text)"})
    codes = fields.List(fields.String(), metadata={"description": "the line's card codes, one per unit"})
    text = fields.String(allow_none=True, metadata={"description": "the link or text (kind text)"})


class OrderVirtualSchema(Schema):
    order_id = fields.Integer()
    status = fields.String(
        metadata={"description": "awaiting_payment, delivered, short (codes ran out; the merchant delivers), closed"}
    )
    missing = fields.Integer(metadata={"description": "codes still owed (status short)"})
    items = fields.List(fields.Nested(HandedOverSchema))


def _answer(order):
    row = service.delivery_of(order.id)
    return {
        "order_id": order.id,
        "status": service.status_of(order),
        "missing": row.missing if row is not None else 0,
        "items": service.handed_over(order),
    }


def _no_store(resp):
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@api.after_request
def _private(resp):
    return _no_store(resp)


@api.get("/orders/<int:order_id>/virtual")
@login_required
@api.response(200, OrderVirtualSchema)
def order_virtual(order_id):
    """What the buyer's own order of virtual goods handed over: each line's
    card codes or link/text, once paid."""
    from jishi.orders.service import buyer_order

    order = buyer_order(current_user, order_id) if order_id <= service.MAX_ID else None
    if order is None or not order.is_virtual:
        not_found("order")
    return _answer(order)


def _seller_order(order_id: int):
    order = seller_order(current_scope("api"), order_id)
    if order is None or not order.is_virtual:
        not_found("order")
    return order


@api.get("/seller/virtual/orders/<int:order_id>")
@seller_api("orders")
@api.response(200, OrderVirtualSchema)
def seller_order_virtual(order_id):
    """What the seller's order handed over (codes included: the seller's own order only)."""
    return _answer(_seller_order(order_id))


@api.post("/seller/virtual/orders/<int:order_id>/deliver")
@seller_api("orders")
@api.response(200, OrderVirtualSchema)
def seller_order_deliver(order_id):
    """Deliver again an order whose codes ran out, after adding codes: 409
    ``not_short`` (nothing waiting) or ``codes_missing`` (still short)."""
    order = _seller_order(order_id)
    service.redeliver(current_scope("api"), current_user, order)
    commit()
    return _answer(order)
