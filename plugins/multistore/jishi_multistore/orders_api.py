"""Merchant orders API (MS10): ``/merchant/orders...`` for merchant staff
holding the ``orders`` permission (admins and clerks), ``/admin/multistore/
orders...`` for the platform. Another merchant's order answers 404."""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import Id, QueryId
from jishi.api.schemas import (
    AddressChangeArgs,
    OrderDetailSchema,
    OrderListItemSchema,
    PriceChangeArgs,
    order_detail,
    schema_values,
)
from jishi.db import db
from jishi.i18n import gettext as _
from jishi.orders import service as orders_service
from jishi.orders import state
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from jishi_multistore import orders as svc
from jishi_multistore.blueprints import api
from jishi_multistore.principal import merchant, merchant_api

# -- schemas -----------------------------------------------------------------


class MerchantOrderListArgs(Schema):
    status = fields.String(validate=validate.OneOf(state.STATUSES))
    start = fields.Date(metadata={"description": "placed on or after this day (YYYY-MM-DD)"})
    end = fields.Date(metadata={"description": "placed on or before this day, inclusive"})
    number = fields.String(validate=validate.Length(max=32))
    phone = fields.String(validate=validate.Length(max=20), metadata={"description": "the buyer's phone"})
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("The start is after the end."), "start")


class MsAdminOrderListArgs(MerchantOrderListArgs):
    merchant_id = QueryId()


class MerchantOrderItemSchema(OrderListItemSchema):
    merchant_name = fields.String(allow_none=True)


class MerchantOrderPageSchema(Schema):
    items = fields.List(fields.Nested(MerchantOrderItemSchema))
    next_cursor = fields.String(allow_none=True)


class MerchantOrderDetailSchema(OrderDetailSchema):
    merchant_name = fields.String(allow_none=True)
    moves = fields.List(fields.String(), metadata={"description": "status changes the merchant may make now"})


class MerchantShipArgs(Schema):
    carrier = fields.String(load_default="", validate=validate.Length(max=40))
    tracking_no = fields.String(load_default="", validate=validate.Length(max=60))


class MerchantShipItemArgs(MerchantShipArgs):
    order_id = Id(required=True)


class MerchantShipBatchArgs(Schema):
    items = fields.List(fields.Nested(MerchantShipItemArgs), required=True, validate=validate.Length(min=1, max=200))


class MerchantShipResultSchema(Schema):
    order_id = fields.Integer()
    ok = fields.Boolean()
    status = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class MerchantShipBatchResultSchema(Schema):
    items = fields.List(fields.Nested(MerchantShipResultSchema))
    shipped = fields.Integer()
    failed = fields.Integer()


class MerchantOrderMoveArgs(MerchantShipArgs):
    name = fields.String(required=True, validate=validate.OneOf(("ship", *svc.SELLER_MOVES)))
    note = fields.String(load_default="", validate=validate.Length(max=200))


class MerchantOrderExportArgs(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))
    status = fields.String(validate=validate.OneOf(state.STATUSES))
    start = fields.Date()
    end = fields.Date()

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("The start is after the end."), "start")


class MsAdminOrderExportArgs(MerchantOrderExportArgs):
    merchant_id = QueryId()


# -- helpers -----------------------------------------------------------------


def _filter(args) -> svc.OrderFilter:
    return svc.OrderFilter(
        status=args.get("status"),
        start=args.get("start"),
        end=args.get("end"),
        number=args.get("number"),
        phone=args.get("phone"),
        merchant_id=args.get("merchant_id"),
    )


def _page(rows, nxt) -> dict:
    lines = orders_service.lines_of([o.id for o in rows])
    names = svc.merchant_names(o.seller_id for o in rows)
    items = [
        schema_values(o, MerchantOrderItemSchema, lines=lines.get(o.id, []), merchant_name=names.get(o.seller_id))
        for o in rows
    ]
    return {"items": items, "next_cursor": str(nxt) if nxt else None}


def _detail(order) -> dict:
    data = order_detail(order)
    data["merchant_name"] = svc.merchant_names([order.seller_id]).get(order.seller_id)
    data["moves"] = svc.seller_moves(order)
    return data


def _file(args, merchant_id):
    body, mimetype, name = svc.export(
        merchant_id, args["format"], args.get("start"), args.get("end"), args.get("status")
    )
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- merchant staff -------------------------------------------------------------


@api.get("/merchant/orders")
@merchant_api("orders")
@api.arguments(MerchantOrderListArgs, location="query")
@api.response(200, MerchantOrderPageSchema)
def merchant_list_orders(args):
    """The merchant's orders, newest first; filter by status, days, number, buyer phone."""
    rows, nxt = svc.list_orders(
        _filter(args), merchant_id=merchant().id, cursor=args.get("cursor"), limit=args["limit"]
    )
    return _page(rows, nxt)


@api.get("/merchant/orders/export")
@merchant_api("orders")
@api.arguments(MerchantOrderExportArgs, location="query")
@api.response(200, description="CSV or XLSX file of the merchant's orders placed in the range")
def merchant_export_orders(args):
    """Download the merchant's orders (default: the last 30 days) as CSV or XLSX."""
    return _file(args, merchant().id)


@api.get("/merchant/orders/<int:order_id>")
@merchant_api("orders")
@api.response(200, MerchantOrderDetailSchema)
def merchant_get_order(order_id):
    return _detail(svc.merchant_order(merchant().id, order_id))


@api.post("/merchant/orders/<int:order_id>/ship")
@merchant_api("orders")
@api.arguments(MerchantShipArgs)
@api.response(200, MerchantOrderDetailSchema)
def merchant_ship_order(args, order_id):
    """Ship a paid order with its carrier and tracking number."""
    order = svc.merchant_order(merchant().id, order_id)
    svc.ship(order, args["carrier"], args["tracking_no"], actor=current_user)
    return _detail(order)


@api.post("/merchant/orders/ship-batch")
@merchant_api("orders")
@api.arguments(MerchantShipBatchArgs)
@api.response(200, MerchantShipBatchResultSchema)
def merchant_ship_batch(args):
    """Ship many orders, each with its own carrier and tracking number; each
    succeeds or fails on its own (the result says which and why)."""
    results = svc.ship_batch(merchant().id, args["items"], actor=current_user)
    shipped = sum(1 for r in results if r["ok"])
    return {"items": results, "shipped": shipped, "failed": len(results) - shipped}


@api.post("/merchant/orders/<int:order_id>/price")
@merchant_api("orders")
@api.arguments(PriceChangeArgs)
@api.response(200, MerchantOrderDetailSchema)
def merchant_change_price(args, order_id):
    """Change the payable amount of the merchant's unpaid order (改价) with
    the reason: its payment asks the new amount at once; 409 once paid."""
    order = svc.merchant_order(merchant().id, order_id)
    orders_service.change_price(order, args["pay_amount"], args["reason"], actor=current_user, actor_kind="seller")
    return _detail(order)


@api.post("/merchant/orders/<int:order_id>/address")
@merchant_api("orders")
@api.arguments(AddressChangeArgs)
@api.response(200, MerchantOrderDetailSchema)
def merchant_change_address(args, order_id):
    """Change the delivery address of the merchant's order not shipped yet,
    with the reason; 409 once shipped."""
    order = svc.merchant_order(merchant().id, order_id)
    orders_service.change_address(order, args["address"], args["reason"], actor=current_user, actor_kind="seller")
    return _detail(order)


@api.post("/merchant/orders/<int:order_id>/status")
@merchant_api("orders")
@api.arguments(MerchantOrderMoveArgs)
@api.response(200, MerchantOrderDetailSchema)
def merchant_move_order(args, order_id):
    """Change the status along the state machine: ``ship``, ``receive``
    (shipped → received) or ``cancel`` (an unpaid order)."""
    order = svc.merchant_order(merchant().id, order_id)
    svc.move(
        order,
        args["name"],
        actor=current_user,
        note=args["note"],
        carrier=args["carrier"],
        tracking_no=args["tracking_no"],
    )
    return _detail(order)


# -- the platform -----------------------------------------------------------------


@api.get("/admin/multistore/orders")
@platform_api("orders")
@api.arguments(MsAdminOrderListArgs, location="query")
@api.response(200, MerchantOrderPageSchema)
def admin_list_orders(args):
    """Every merchant's orders with the merchant's name; filter by merchant,
    status, days, number, buyer phone."""
    rows, nxt = svc.list_orders(_filter(args), cursor=args.get("cursor"), limit=args["limit"])
    return _page(rows, nxt)


@api.get("/admin/multistore/orders/export")
@platform_api("orders")
@api.arguments(MsAdminOrderExportArgs, location="query")
@api.response(200, description="CSV or XLSX file of one merchant's (or every) order placed in the range")
def admin_export_orders(args):
    return _file(args, args.get("merchant_id"))


@api.get("/admin/multistore/orders/<int:order_id>")
@platform_api("orders")
@api.response(200, MerchantOrderDetailSchema)
def admin_get_order(order_id):
    return _detail(svc.platform_order(order_id))


@api.post("/admin/multistore/orders/<int:order_id>/complete")
@platform_api("orders")
@api.response(200, MerchantOrderDetailSchema)
def admin_complete_order(order_id):
    """Move a paid, shipped or received order to completed (history notes
    "moved to completed by the platform")."""
    order = svc.platform_order(order_id)
    svc.platform_complete(order, actor=current_user)
    return _detail(order)


@api.post("/admin/multistore/orders/<int:order_id>/close")
@platform_api("orders")
@api.response(200, MerchantOrderDetailSchema)
def admin_close_order(order_id):
    """Close an order: unpaid ones are cancelled (stock back); paid, shipped
    or received ones are refunded in full and closed."""
    order = svc.platform_order(order_id)
    svc.platform_close(order, actor=current_user)
    db.session.refresh(order)
    return _detail(order)
