"""The platform's orders, after-sales, reviews and reports (SPEC K8, K10,
K11, K15, K16). Platform staff only: buyers get 403, visitors 401."""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from jishi.access import platform_api
from jishi.accounts.models import User
from jishi.aftersales import service as aftersales
from jishi.aftersales.models import Refund
from jishi.api.common import Blueprint, DateTime, Money, fail, get_or_404
from jishi.api.orders import (
    AddressChangeArgs,
    Id,
    OrderDetailSchema,
    OrderPageSchema,
    PriceChangeArgs,
    QueryId,
    RefundSchema,
    ids_in_range,
    order_detail,
    order_page,
)
from jishi.api.report_schemas import ReportArgs, ReportExportArgs, ReportSchema, report_export_response, report_range
from jishi.api.reviews import ReviewSchema
from jishi.db import db
from jishi.errors import DomainError
from jishi.i18n import N_
from jishi.i18n import gettext as _
from jishi.orders import changes, state
from jishi.orders import service as orders_service
from jishi.orders.models import Order
from jishi.reports import service as reports
from jishi.reviews import service as reviews
from jishi.reviews.models import Review

blp = Blueprint(
    "admin_orders", __name__, url_prefix="/api/v1/admin", description="Platform: orders, after-sales, reviews, reports"
)
blp.before_request(ids_in_range)


# -- schemas -----------------------------------------------------------------


class ReportRangeArgs(Schema):
    seller_id = QueryId(metadata={"description": "one store's figures (multi-store shops)"})
    start = fields.Date(metadata={"description": "first day (YYYY-MM-DD), default 29 days ago"})
    end = fields.Date(metadata={"description": "last day, inclusive (YYYY-MM-DD), default today"})

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("The start is after the end."), "start")


class AdminOrderListArgs(ReportRangeArgs):
    status = fields.String(validate=validate.OneOf(state.STATUSES))
    number = fields.String(validate=validate.Length(max=32))
    phone = fields.String(validate=validate.Length(max=20), metadata={"description": "the buyer's phone"})
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class AdminShipArgs(Schema):
    carrier = fields.String(required=True, validate=validate.Length(min=1, max=40))
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=60))


class AdminShipItemArgs(AdminShipArgs):
    order_id = Id(required=True)


class AdminShipBatchArgs(Schema):
    items = fields.List(fields.Nested(AdminShipItemArgs), required=True, validate=validate.Length(min=1, max=500))


class AdminShipResultSchema(Schema):
    order_id = fields.Integer()
    ok = fields.Boolean()
    status = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class AdminShipBatchResultSchema(Schema):
    items = fields.List(fields.Nested(AdminShipResultSchema))
    shipped = fields.Integer()


class AdminRefundListArgs(Schema):
    status = fields.String()
    order_id = QueryId()
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class AdminRefundPageSchema(Schema):
    items = fields.List(fields.Nested(RefundSchema))
    next_cursor = fields.String(allow_none=True)


class AdminNoteArgs(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class AdminRejectArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AdminReviewListArgs(Schema):
    visible = fields.Boolean()
    product_id = QueryId()
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class AdminReviewSchema(ReviewSchema):
    user_id = fields.Integer()
    deleted_at = DateTime(allow_none=True)
    deleted_by = fields.String()


class AdminReviewPageSchema(Schema):
    items = fields.List(fields.Nested(AdminReviewSchema))
    next_cursor = fields.String(allow_none=True)


class AdminReplyArgs(Schema):
    reply = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReportOverviewSchema(Schema):
    orders = fields.Integer()
    paid_orders = fields.Integer()
    paid_amount = Money()
    buyers = fields.Integer()
    items = fields.Integer()
    refunds_amount = Money()
    net_amount = Money(validate=None)
    visits = fields.Integer()
    new_users = fields.Integer()


class ReportFunnelSchema(Schema):
    visits = fields.Integer()
    ordered = fields.Integer()
    paid = fields.Integer()
    order_rate_permille = fields.Integer()
    pay_rate_permille = fields.Integer()


class ReportDaySchema(Schema):
    day = fields.String()
    orders = fields.Integer()
    amount = Money()


class ReportSalesSchema(Schema):
    items = fields.List(fields.Nested(ReportDaySchema))


class ReportTopProductSchema(Schema):
    product_id = fields.Integer(allow_none=True)
    name = fields.String()
    quantity = fields.Integer()
    amount = Money()


class ReportTopProductsSchema(Schema):
    items = fields.List(fields.Nested(ReportTopProductSchema))


class OrderExportArgs(ReportRangeArgs):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))
    status = fields.String(validate=validate.OneOf(state.STATUSES))


# -- orders ---------------------------------------------------------------------


def _order(order_id: int) -> Order:
    return get_or_404(Order, order_id, _("order"))


def _span(args):
    from jishi.i18n import shop_day_bounds

    return shop_day_bounds(args.get("start") or None, args.get("end") or None)


@blp.get("/orders")
@platform_api("orders")
@blp.arguments(AdminOrderListArgs, location="query")
@blp.response(200, OrderPageSchema)
def list_orders(args):
    """Every order, newest first; filter by status, number, buyer phone, days."""
    q = select(Order)
    if args.get("status"):
        q = q.where(Order.status == args["status"])
    if args.get("number"):
        q = q.where(Order.number == args["number"])
    if args.get("seller_id"):
        q = q.where(Order.seller_id == args["seller_id"])
    if args.get("phone"):
        q = q.where(Order.user_id.in_(select(User.id).where(User.phone == args["phone"])))
    start, end = _span(args)
    if start:
        q = q.where(Order.created_at >= start)
    if end:
        q = q.where(Order.created_at < end)
    return order_page(q, args.get("cursor"), args["limit"])


@blp.get("/orders/export")
@platform_api("orders")
@blp.arguments(OrderExportArgs, location="query")
@blp.response(200, description="CSV or XLSX file of the orders placed in the range")
def export_orders(args):
    """Download the orders placed in a range as CSV or XLSX."""
    start, end = reports.report_range(args.get("start"), args.get("end"))  # the shop's days, not the server's
    name = f"orders-{start.isoformat()}-{end.isoformat()}"
    if args["format"] == "xlsx":
        body = reports.export_xlsx(start, end, args.get("status"), args.get("seller_id"))
        return Response(
            body,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    body = "\ufeff" + reports.export_csv(start, end, args.get("status"), args.get("seller_id"))
    return Response(
        body.encode("utf-8"), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
    )


@blp.get("/orders/<int:order_id>")
@platform_api("orders")
@blp.response(200, OrderDetailSchema)
def get_order(order_id):
    return order_detail(_order(order_id))


@blp.post("/orders/<int:order_id>/ship")
@platform_api("orders")
@blp.arguments(AdminShipArgs)
@blp.response(200, OrderDetailSchema)
def ship(args, order_id):
    """Mark a paid order shipped with its carrier and tracking number."""
    order = _order(order_id)
    orders_service.check_shipment(order, args["carrier"], args["tracking_no"])
    orders_service.ship(
        order, carrier=args["carrier"], tracking_no=args["tracking_no"], actor=current_user, actor_kind="platform"
    )
    return order_detail(order)


@blp.post("/orders/<int:order_id>/price")
@platform_api("orders")
@blp.arguments(PriceChangeArgs)
@blp.response(200, OrderDetailSchema)
def change_price(args, order_id):
    """Change an unpaid order's payable amount (改价) with the reason: its
    payment asks the new amount at once (a notification for the old one is
    refused); 409 once paid."""
    order = _order(order_id)
    changes.change_price(order, args["pay_amount"], args["reason"], actor=current_user, actor_kind="platform")
    return order_detail(order)


@blp.post("/orders/<int:order_id>/address")
@platform_api("orders")
@blp.arguments(AddressChangeArgs)
@blp.response(200, OrderDetailSchema)
def change_address(args, order_id):
    """Change the delivery address of an order not shipped yet, with the
    reason; 409 once shipped."""
    order = _order(order_id)
    changes.change_address(order, args["address"], args["reason"], actor=current_user, actor_kind="platform")
    return order_detail(order)


@blp.post("/orders/ship-batch")
@platform_api("orders")
@blp.arguments(AdminShipBatchArgs)
@blp.response(200, AdminShipBatchResultSchema)
def ship_batch(args):
    """Ship many orders; each item succeeds or fails on its own."""
    ids = [i["order_id"] for i in args["items"]]
    orders = {o.id: o for o in db.session.execute(select(Order).where(Order.id.in_(ids))).scalars()}
    results, shipped = [], 0
    for item in args["items"]:
        order = orders.get(item["order_id"])
        if order is None:
            results.append(
                {
                    "order_id": item["order_id"],
                    "ok": False,
                    "status": None,
                    "error": _("Not found: %(what)s", what=_("order")),
                }
            )
            continue
        try:
            orders_service.check_shipment(order, item["carrier"], item["tracking_no"])
            orders_service.ship(
                order,
                carrier=item["carrier"],
                tracking_no=item["tracking_no"],
                actor=current_user,
                actor_kind="platform",
            )
        except DomainError as exc:
            db.session.rollback()
            results.append({"order_id": order.id, "ok": False, "status": order.status, "error": str(exc.message)})
            continue
        shipped += 1
        results.append({"order_id": order.id, "ok": True, "status": order.status, "error": None})
    return {"items": results, "shipped": shipped}


@blp.post("/orders/<int:order_id>/complete")
@platform_api("orders")
@blp.response(200, OrderDetailSchema)
def complete(order_id):
    """Move a paid, shipped or received order to completed (noted as the platform's)."""
    order = _order(order_id)
    orders_service.force_complete(order, actor=current_user)
    return order_detail(order)


@blp.post("/orders/<int:order_id>/close")
@platform_api("orders")
@blp.response(200, OrderDetailSchema)
def close(order_id):
    """Close an unpaid order (stock goes back). A paid order is closed by a full refund."""
    order = _order(order_id)
    if order.status != state.PENDING:
        fail(409, "conflict", _("Only unpaid orders can be closed; refund a paid order instead."), "status")
    orders_service.cancel(order, actor=current_user, actor_kind="platform", note=N_("closed by the platform"))
    return order_detail(order)


# -- after-sales -------------------------------------------------------------------


def _refund(refund_id: int) -> Refund:
    return get_or_404(Refund, refund_id, _("refund"))


def _do(func, *a, **kw):
    return func(*a, **kw)


@blp.get("/refunds")
@platform_api("aftersales")
@blp.arguments(AdminRefundListArgs, location="query")
@blp.response(200, AdminRefundPageSchema)
def list_refunds(args):
    rows, nxt = aftersales.list_refunds(
        status=args.get("status"), order_id=args.get("order_id"), cursor=args.get("cursor"), limit=args["limit"]
    )
    return {"items": rows, "next_cursor": nxt}


@blp.get("/refunds/<int:refund_id>")
@platform_api("aftersales")
@blp.response(200, RefundSchema)
def get_refund(refund_id):
    return _refund(refund_id)


@blp.post("/refunds/<int:refund_id>/approve")
@platform_api("aftersales")
@blp.arguments(AdminNoteArgs)
@blp.response(200, RefundSchema)
def approve_refund(args, refund_id):
    """Approve: a refund-only request is paid back at once; a return waits for the goods."""
    return _do(aftersales.approve, _refund(refund_id), current_user, args["note"])


@blp.post("/refunds/<int:refund_id>/reject")
@platform_api("aftersales")
@blp.arguments(AdminRejectArgs)
@blp.response(200, RefundSchema)
def reject_refund(args, refund_id):
    return _do(aftersales.reject, _refund(refund_id), current_user, args["reason"])


@blp.post("/refunds/<int:refund_id>/confirm-returned")
@platform_api("aftersales")
@blp.arguments(AdminNoteArgs)
@blp.response(200, RefundSchema)
def confirm_returned(args, refund_id):
    """The returned goods arrived: restock them and pay the refund."""
    return _do(aftersales.confirm_returned, _refund(refund_id), current_user, args["note"])


# -- reviews -----------------------------------------------------------------------


def _review(review_id: int) -> Review:
    return get_or_404(Review, review_id, _("review"))


@blp.get("/reviews")
@platform_api("comments")
@blp.arguments(AdminReviewListArgs, location="query")
@blp.response(200, AdminReviewPageSchema)
def list_reviews(args):
    rows, nxt = reviews.list_reviews(
        visible=args.get("visible"), product_id=args.get("product_id"), cursor=args.get("cursor"), limit=args["limit"]
    )
    return {"items": rows, "next_cursor": nxt}


@blp.post("/reviews/<int:review_id>/reply")
@platform_api("comments")
@blp.arguments(AdminReplyArgs)
@blp.response(200, AdminReviewSchema)
def reply_review(args, review_id):
    return _do(reviews.reply, _review(review_id), current_user, args["reply"])


@blp.post("/reviews/<int:review_id>/delete")
@platform_api("comments")
@blp.response(200, AdminReviewSchema)
def delete_review(review_id):
    return _do(reviews.delete, _review(review_id), current_user)


@blp.post("/reviews/<int:review_id>/approve")
@platform_api("comments")
@blp.response(200, AdminReviewSchema)
def approve_review(review_id):
    return _do(reviews.approve, _review(review_id), current_user)


# -- reports -----------------------------------------------------------------------


@blp.get("/reports/overview")
@platform_api("data")
@blp.arguments(ReportRangeArgs, location="query")
@blp.response(200, ReportOverviewSchema)
def report_overview(args):
    """Orders, paid orders and amount, buyers, items, refunds, visits and new users."""
    return reports.overview(args.get("start"), args.get("end"), seller_id=args.get("seller_id"))


@blp.get("/reports/funnel")
@platform_api("data")
@blp.arguments(ReportRangeArgs, location="query")
@blp.response(200, ReportFunnelSchema)
def report_funnel(args):
    """Visits -> buyers who ordered -> buyers who paid."""
    return reports.funnel(args.get("start"), args.get("end"), seller_id=args.get("seller_id"))


@blp.get("/reports/sales")
@platform_api("data")
@blp.arguments(ReportRangeArgs, location="query")
@blp.response(200, ReportSalesSchema)
def report_sales(args):
    """Paid orders and amount per day."""
    return {"items": reports.sales_by_day(args.get("start"), args.get("end"), seller_id=args.get("seller_id"))}


@blp.get("/reports/top-products")
@platform_api("data")
@blp.arguments(ReportRangeArgs, location="query")
@blp.response(200, ReportTopProductsSchema)
def report_top_products(args):
    """Best-selling products by amount paid (net of refunds)."""
    return {"items": reports.top_products(args.get("start"), args.get("end"), seller_id=args.get("seller_id"))}


class PlatformReportArgs(ReportArgs):
    seller_id = QueryId(metadata={"description": "one store's reports (multi-store shops); default the platform's"})


class PlatformReportExportArgs(ReportExportArgs):
    seller_id = QueryId(metadata={"description": "one store's reports (multi-store shops); default the platform's"})


@blp.get("/reports/analytics")
@platform_api("data")
@blp.arguments(PlatformReportArgs, location="query")
@blp.response(200, ReportSchema)
def report_analytics(args):
    """Issue 19: overview with the previous period, trend, funnel by unique
    visitor, product analysis and the plugins' sections, from the daily
    aggregates (written every 5 minutes by the worker)."""
    start, end = report_range(args)
    return reports.report_data(start, end, args.get("seller_id") or 0, args["grain"])


@blp.get("/reports/analytics/export")
@platform_api("data")
@blp.arguments(PlatformReportExportArgs, location="query")
@blp.response(200, description="CSV or XLSX file of one report section")
def report_analytics_export(args):
    """Download one report section (overview, trend, funnel, products or a
    plugin's, e.g. coupons) as CSV or XLSX."""
    return report_export_response(args, args.get("seller_id") or 0)
