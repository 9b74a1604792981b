"""Buyer's after-sales requests (SPEC K10, K14)."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from jishi.aftersales import service
from jishi.aftersales.models import KIND_REFUND, KIND_RETURN
from jishi.api.common import Blueprint, Money, StrictInt, login_required, not_found
from jishi.api.orders import Id, QueryId, RefundSchema, _own_order, ids_in_range
from jishi.i18n import gettext as _

blp = Blueprint("aftersales", __name__, url_prefix="/api/v1", description="After-sales (buyer)")
blp.before_request(ids_in_range)


class RefundableLineSchema(Schema):
    order_line_id = fields.Integer()
    name = fields.String()
    spec_text = fields.String()
    quantity = fields.Integer()
    refunded_quantity = fields.Integer()
    max_quantity = fields.Integer()
    max_amount = Money()


class RefundableSchema(Schema):
    order_id = fields.Integer()
    lines = fields.List(fields.Nested(RefundableLineSchema))


class RefundLineArgs(Schema):
    order_line_id = Id(required=True)
    quantity = StrictInt(required=True, validate=validate.Range(min=1, max=9999))


class RefundArgs(Schema):
    order_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf((KIND_REFUND, KIND_RETURN)))
    lines = fields.List(fields.Nested(RefundLineArgs), required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class ShipBackArgs(Schema):
    carrier = fields.String(required=True, validate=validate.Length(min=1, max=40))
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=60))


class RefundListArgs(Schema):
    status = fields.String()
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class RefundPageSchema(Schema):
    items = fields.List(fields.Nested(RefundSchema))
    next_cursor = fields.String(allow_none=True)


def _own_refund(refund_id: int):
    refund = service.buyer_refund(current_user, refund_id)
    if refund is None:
        not_found(_("refund"))
    return refund


@blp.get("/orders/<int:order_id>/refundable")
@login_required
@blp.response(200, RefundableSchema)
def refundable(order_id):
    """What of an order can still be refunded: units and amount per line."""
    order = _own_order(order_id)
    return {
        "order_id": order.id,
        "lines": [
            {
                "order_line_id": line.id,
                "name": line.name,
                "spec_text": line.spec_text,
                "quantity": line.quantity,
                "refunded_quantity": line.refunded_quantity,
                "max_quantity": q,
                "max_amount": amount,
            }
            for line, q, amount in service.refundable_lines(order)
        ],
    }


@blp.post("/refunds")
@login_required
@blp.arguments(RefundArgs)
@blp.response(201, RefundSchema)
def create_refund(args):
    """Ask for a refund (``refund_only``) or a return (``return_refund``) of
    some units of some lines."""
    order = _own_order(args["order_id"])
    return service.request_refund(
        current_user,
        order,
        args["kind"],
        [(li["order_line_id"], li["quantity"]) for li in args["lines"]],
        args["reason"],
    )


@blp.get("/refunds")
@login_required
@blp.arguments(RefundListArgs, location="query")
@blp.response(200, RefundPageSchema)
def list_refunds(args):
    """The buyer's refund requests, newest first (keyset)."""
    rows, nxt = service.list_refunds(
        user_id=current_user.id, status=args.get("status"), cursor=args.get("cursor"), limit=args["limit"]
    )
    return {"items": rows, "next_cursor": nxt}


@blp.get("/refunds/<int:refund_id>")
@login_required
@blp.response(200, RefundSchema)
def get_refund(refund_id):
    return _own_refund(refund_id)


@blp.post("/refunds/<int:refund_id>/ship-back")
@login_required
@blp.arguments(ShipBackArgs)
@blp.response(200, RefundSchema)
def ship_back(args, refund_id):
    """The buyer sent the goods back (return-and-refund, after approval)."""
    refund = _own_refund(refund_id)
    return service.buyer_ship_back(refund, current_user, args["carrier"], args["tracking_no"])


@blp.post("/refunds/<int:refund_id>/cancel")
@login_required
@blp.response(200, RefundSchema)
def cancel(refund_id):
    refund = _own_refund(refund_id)
    return service.cancel_request(refund, current_user)
