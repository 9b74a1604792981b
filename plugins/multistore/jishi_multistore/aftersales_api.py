"""Merchant after-sales API: ``/merchant/refunds...`` for merchant staff
holding the ``aftersales`` permission (admins and clerks). Another merchant's
request answers 404; the platform keeps ``/admin/refunds``."""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import QueryId
from jishi.api.schemas import RefundSchema
from marshmallow import Schema, fields, validate

from jishi_multistore import aftersales as svc
from jishi_multistore.blueprints import api
from jishi_multistore.principal import merchant, merchant_api


class MerchantRefundListArgs(Schema):
    status = fields.String(validate=validate.OneOf(svc.STATUSES))
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class MerchantRefundPageSchema(Schema):
    items = fields.List(fields.Nested(RefundSchema))
    next_cursor = fields.String(allow_none=True)


class MerchantRefundNoteArgs(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=200))


class MerchantRefundRejectArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


@api.get("/merchant/refunds")
@merchant_api("aftersales")
@api.arguments(MerchantRefundListArgs, location="query")
@api.response(200, MerchantRefundPageSchema)
def merchant_list_refunds(args):
    """The merchant's after-sales requests, newest first; filter by status."""
    rows, nxt = svc.list_refunds(merchant().id, args.get("status"), args.get("cursor"), args["limit"])
    return {"items": rows, "next_cursor": nxt}


@api.get("/merchant/refunds/<int:refund_id>")
@merchant_api("aftersales")
@api.response(200, RefundSchema)
def merchant_get_refund(refund_id):
    return svc.merchant_refund(merchant().id, refund_id)


@api.post("/merchant/refunds/<int:refund_id>/approve")
@merchant_api("aftersales")
@api.arguments(MerchantRefundNoteArgs)
@api.response(200, RefundSchema)
def merchant_approve_refund(args, refund_id):
    """Approve: a refund-only request is paid back at once; a return waits for the goods."""
    refund = svc.merchant_refund(merchant().id, refund_id)
    return svc.act(refund, "approve", actor=current_user, text=args["note"])


@api.post("/merchant/refunds/<int:refund_id>/reject")
@merchant_api("aftersales")
@api.arguments(MerchantRefundRejectArgs)
@api.response(200, RefundSchema)
def merchant_reject_refund(args, refund_id):
    refund = svc.merchant_refund(merchant().id, refund_id)
    return svc.act(refund, "reject", actor=current_user, text=args["reason"])


@api.post("/merchant/refunds/<int:refund_id>/confirm-returned")
@merchant_api("aftersales")
@api.arguments(MerchantRefundNoteArgs)
@api.response(200, RefundSchema)
def merchant_confirm_returned(args, refund_id):
    """The returned goods arrived: restock them and pay the refund."""
    refund = svc.merchant_refund(merchant().id, refund_id)
    return svc.act(refund, "confirm-returned", actor=current_user, text=args["note"])
