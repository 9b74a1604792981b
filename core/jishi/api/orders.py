"""Buyer's orders and payments (SPEC K8, K9, K14).

The order and refund schemas here are shared by the after-sales and the
platform's order API.
"""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from jishi.aftersales.models import Refund
from jishi.api.catalog import SellerProfileSchema
from jishi.api.common import MAX_ID, Blueprint, DateTime, Id, Money, QueryId, StrictInt, login_required, not_found  # noqa: F401 - Id, QueryId: shared by the order API modules
from jishi.catalog.service import MAX_PRICE, seller_profiles
from jishi.db import db
from jishi.hookspecs import PAYMENT_CHANNELS
from jishi.i18n import gettext as _
from jishi.orders import service as orders_service
from jishi.orders import state
from jishi.orders.changes import describe as describe_event
from jishi.orders.models import Order, OrderAllocation, PaymentOrder
from jishi.web_helpers import order_notices

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders and payments (buyer)")


def ids_in_range():
    """before_request: an id in the path beyond any row is simply not found."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            not_found()


blp.before_request(ids_in_range)


# -- schemas -----------------------------------------------------------------


def _computed(name, func):
    """A read-only field computed from the object (kept as is when the
    object was already dumped to a dict)."""
    return fields.Function(lambda o: o.get(name) if isinstance(o, dict) else func(o))


class OrderAllocationSchema(Schema):
    id = fields.Integer()
    source = fields.String()
    label = fields.String()
    funded_by = fields.String()
    amount = Money()
    reversed_amount = Money()


class OrderLineSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer(allow_none=True)
    sku_id = fields.Integer(allow_none=True)
    name = fields.String()
    spec_text = fields.String()
    image = fields.String()
    base_price = Money()
    unit_price = Money()
    price_source = fields.String()
    quantity = fields.Integer()
    goods_amount = Money()
    discount_amount = Money()
    adjustment_amount = Money(
        validate=None,
        metadata={"description": "this line's share of the order's price change (fen, negative: lowered)"},
    )
    pay_amount = Money()
    refunded_quantity = fields.Integer()
    refunded_amount = Money()
    reviewed = fields.Boolean()


class OrderLineDetailSchema(OrderLineSchema):
    allocations = fields.List(fields.Nested(OrderAllocationSchema))


class OrderEventSchema(Schema):
    from_status = fields.String()
    to_status = fields.String()
    actor_id = fields.Integer(allow_none=True)
    actor_role = fields.String()
    note = fields.String()
    kind = fields.String(metadata={"description": "empty for a state move; ``price`` or ``address`` for a change"})
    data = fields.Dict(allow_none=True, metadata={"description": "a change's ``old`` and ``new`` values"})
    text = fields.Function(
        lambda e: e.get("text") if isinstance(e, dict) else describe_event(e),
        metadata={"description": "what the event says, in the reader's language (a change with its reason)"},
    )
    created_at = DateTime()


class OrderSummarySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    payment_number = _computed("payment_number", lambda o: o.payment.number if o.payment else None)
    user_id = fields.Integer()
    seller_id = fields.Integer(allow_none=True)
    group_key = fields.String()
    status = fields.String()
    payment_method = fields.String(allow_none=True)
    goods_amount = Money()
    discount_amount = Money()
    delivery_fee = Money()
    adjustment_amount = Money(
        validate=None, metadata={"description": "price change by the seller or the platform (fen, negative: lowered)"}
    )
    pay_amount = Money()
    refunded_amount = Money()
    buyer_message = fields.String()
    is_virtual = fields.Boolean()
    created_at = DateTime()
    paid_at = DateTime(allow_none=True)
    shipped_at = DateTime(allow_none=True)
    received_at = DateTime(allow_none=True)
    completed_at = DateTime(allow_none=True)
    closed_at = DateTime(allow_none=True)
    close_reason = fields.String()


class OrderListItemSchema(OrderSummarySchema):
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderPageSchema(Schema):
    items = fields.List(fields.Nested(OrderListItemSchema))
    next_cursor = fields.String(allow_none=True)


class OrderDeliverySchema(Schema):
    method = fields.String()
    label = fields.String()
    data = fields.Dict()
    carrier = fields.String()
    tracking_no = fields.String()


class AddressSnapshotSchema(Schema):
    name = fields.String()
    phone = fields.String()
    province = fields.String()
    city = fields.String()
    district = fields.String()
    detail = fields.String()


class PriceChangeArgs(Schema):
    pay_amount = StrictInt(
        required=True,
        validate=validate.Range(min=1, max=MAX_PRICE),  # (an order's amount holds no more)
        metadata={"description": "the order's new payable amount in fen (at least the delivery fee)"},
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AddressArgsSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    phone = fields.String(required=True, validate=validate.Length(min=1, max=20))
    province = fields.String(required=True, validate=validate.Length(min=1, max=30))
    city = fields.String(required=True, validate=validate.Length(min=1, max=30))
    district = fields.String(load_default="", validate=validate.Length(max=30))
    detail = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))


class AddressChangeArgs(Schema):
    address = fields.Nested(AddressArgsSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RefundLineSchema(Schema):
    id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = fields.Integer()
    amount = Money()
    name = _computed("name", lambda rl: rl.order_line.name if rl.order_line else "")


class RefundSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    order_id = fields.Integer()
    user_id = fields.Integer()
    seller_id = fields.Integer(allow_none=True)
    kind = fields.String()
    status = fields.String()
    reason = fields.String()
    reject_reason = fields.String()
    amount = Money()
    return_carrier = fields.String()
    return_tracking_no = fields.String()
    created_at = DateTime()
    decided_at = DateTime(allow_none=True)
    refunded_at = DateTime(allow_none=True)
    lines = fields.List(fields.Nested(RefundLineSchema))


class OrderDetailSchema(OrderSummarySchema):
    seller = fields.Nested(
        SellerProfileSchema, allow_none=True, metadata={"description": "the seller (null: the shop itself)"}
    )
    notices = fields.List(
        fields.String(), metadata={"description": "notices plugins attach (e.g. the shop has closed)"}
    )
    lines = fields.List(fields.Nested(OrderLineDetailSchema))
    events = fields.List(fields.Nested(OrderEventSchema))
    delivery = fields.Nested(OrderDeliverySchema)
    address = fields.Nested(AddressSnapshotSchema, allow_none=True)
    refunds = fields.List(fields.Nested(RefundSchema))


class PaymentOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    amount = Money()
    status = fields.String()
    method = fields.String(allow_none=True)
    created_at = DateTime()
    paid_at = DateTime(allow_none=True)
    orders = fields.List(fields.Nested(OrderSummarySchema))


class PaymentPayArgsSchema(Schema):
    method = fields.String(required=True, validate=validate.Length(min=1, max=30))
    channel = fields.String(
        load_default="h5",
        validate=validate.OneOf(PAYMENT_CHANNELS),
        metadata={
            "description": "The client: `mini_program` (WeChat/Alipay mini-program: answers `client_params` "
            "for `wx.requestPayment` / `my.tradePay`), `app`, `h5` (a phone browser: `redirect_url`), "
            "`pc` (`redirect_url`), `native` (`qr_code` to show), `jsapi` (inside WeChat's browser)."
        },
    )
    openid = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The payer's id under the paying app (WeChat openid, Alipay buyer id)."},
    )


class PaymentPayResultSchema(Schema):
    redirect_url = fields.String(allow_none=True, metadata={"description": "Send the browser here."})
    qr_code = fields.String(allow_none=True, metadata={"description": "Show this as a QR code to scan."})
    client_params = fields.Dict(
        allow_none=True, metadata={"description": "Pass to `wx.requestPayment` / `my.tradePay` as they are."}
    )
    offline = fields.Boolean(metadata={"description": "Nothing to pay online now (cash on delivery)."})
    test_mode = fields.Boolean(metadata={"description": "The gateway is a test one: no real money."})


class PaymentMethodSchema(Schema):
    code = fields.String()
    label = fields.String()
    online = fields.Boolean()
    channels = fields.List(fields.String())
    test_mode = fields.Boolean()


class PaymentMethodListSchema(Schema):
    items = fields.List(fields.Nested(PaymentMethodSchema))


class PaymentMethodArgs(Schema):
    channel = fields.String(load_default=None, validate=validate.OneOf(PAYMENT_CHANNELS))


class OrderListArgs(Schema):
    status = fields.String(validate=validate.OneOf(state.STATUSES))
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


# -- helpers used by the other order modules ----------------------------------


def schema_values(obj, schema_cls, **extra) -> dict:
    """The object's values for ``schema_cls`` (not yet serialized), plus
    ``extra``: dump it with the schema, or with a schema derived from it."""
    out = {}
    for name in schema_cls._declared_fields:
        if name in extra:
            continue
        if name == "payment_number":
            out[name] = obj.payment.number if obj.payment else None
        elif hasattr(obj, name):
            out[name] = getattr(obj, name)
    out.update(extra)
    return out


def order_detail(order: Order) -> dict:
    """An order with lines, allocations, history, delivery and refunds (4 queries)."""
    allocs: dict[int, list] = {}
    for a in db.session.execute(
        select(OrderAllocation).where(OrderAllocation.order_id == order.id).order_by(OrderAllocation.id)
    ).scalars():
        allocs.setdefault(a.order_line_id, []).append(a)
    lines = [schema_values(line, OrderLineSchema, allocations=allocs.get(line.id, [])) for line in order.lines]
    refunds = list(
        db.session.execute(
            select(Refund).options(selectinload(Refund.lines)).where(Refund.order_id == order.id).order_by(Refund.id)
        ).scalars()
    )
    return schema_values(
        order,
        OrderSummarySchema,
        lines=lines,
        events=list(order.events),
        delivery={
            "method": order.delivery_method,
            "label": order.delivery_label,
            "data": order.delivery_data or {},
            "carrier": order.carrier,
            "tracking_no": order.tracking_no,
        },
        address=order.address,
        refunds=refunds,
        seller=seller_profiles([order.seller_id]).get(order.seller_id),
        notices=order_notices(order),
    )


def order_page(query, cursor, limit) -> dict:
    """Keyset page of orders (id descending) with their lines (2 queries)."""
    query = query.options(selectinload(Order.payment)).order_by(Order.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(Order.id < cursor)
    rows = list(db.session.execute(query).scalars())
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = str(rows[-1].id)
    lines = orders_service.lines_of([o.id for o in rows])
    return {
        "items": [schema_values(o, OrderSummarySchema, lines=lines.get(o.id, [])) for o in rows],
        "next_cursor": nxt,
    }


def func(order, **kwargs):
    func(order, **kwargs)


def _own_order(order_id: int) -> Order:
    order = orders_service.buyer_order(current_user, order_id)
    if order is None:
        not_found(_("order"))
    return order


def _own_payment(number: str) -> PaymentOrder:
    payment = db.session.execute(select(PaymentOrder).where(PaymentOrder.number == number)).scalar_one_or_none()
    if payment is None or payment.user_id != current_user.id:
        not_found(_("payment"))
    return payment


# -- endpoints -----------------------------------------------------------------


@blp.get("/orders")
@login_required
@blp.arguments(OrderListArgs, location="query")
@blp.response(200, OrderPageSchema)
def list_orders(args):
    """The buyer's orders, newest first (keyset: pass ``next_cursor`` back as ``cursor``)."""
    q = select(Order).where(Order.user_id == current_user.id)
    if args.get("status"):
        q = q.where(Order.status == args["status"])
    return order_page(q, args.get("cursor"), args["limit"])


@blp.get("/orders/<int:order_id>")
@login_required
@blp.response(200, OrderDetailSchema)
def get_order(order_id):
    """One of the buyer's orders with lines, allocations, history and refunds."""
    return order_detail(_own_order(order_id))


@blp.post("/orders/<int:order_id>/cancel")
@login_required
@blp.response(200, OrderDetailSchema)
def cancel_order(order_id):
    """Cancel an unpaid order (stock goes back)."""
    order = _own_order(order_id)
    orders_service.cancel(order, actor=current_user, actor_kind="buyer")
    return order_detail(order)


@blp.post("/orders/<int:order_id>/receive")
@login_required
@blp.response(200, OrderDetailSchema)
def receive_order(order_id):
    """Confirm receipt of a shipped order."""
    order = _own_order(order_id)
    orders_service.receive(order, actor=current_user, actor_kind="buyer")
    return order_detail(order)


@blp.get("/payments/<number>")
@login_required
@blp.response(200, PaymentOrderSchema)
def get_payment(number):
    """A payment order (合并支付) and the orders it pays for."""
    return _own_payment(number)


@blp.post("/payments/<number>/pay")
@login_required
@blp.arguments(PaymentPayArgsSchema)
@blp.response(200, PaymentPayResultSchema)
def pay(args, number):
    """Start paying with ``method`` on the client's ``channel``. Online
    methods answer one of: ``redirect_url`` (pc, h5: the gateway's cashier
    page), ``qr_code`` (native: show it to scan), ``client_params``
    (mini_program, app, jsapi: pass them to ``wx.requestPayment`` /
    ``my.tradePay``); the payment is done when the gateway's notification
    arrives (poll ``GET /payments/<number>``). Cash on delivery answers
    ``offline`` true and the orders go to shipping. 422 naming ``method``
    when the method is not offered on that channel."""
    from jishi.hookspecs import Payer
    from jishi.payments import service as payments

    payment = _own_payment(number)
    hook = current_app.extensions["jishi"].hook
    openid = hook.payer_openid(user=current_user, channel=args["channel"]) or args.get("openid")
    payer = Payer(user=current_user, client_ip=request.remote_addr or "", openid=openid)
    gw = payments.gateway(args["method"])
    started = payments.start(payment, args["method"], args["channel"], payer)
    url = started.redirect_url
    if url and url.startswith("/"):
        url = request.host_url.rstrip("/") + url  # app clients need an absolute address
    return {
        "redirect_url": url,
        "qr_code": started.qr_code,
        "client_params": dict(started.client_params) if started.client_params is not None else None,
        "offline": started.offline,
        "test_mode": bool(gw is not None and gw.test_mode),
    }


@blp.get("/payment-methods")
@blp.arguments(PaymentMethodArgs, location="query")
@blp.response(200, PaymentMethodListSchema)
def payment_methods(args):
    """The ways to pay this shop offers (for ``channel``, when given)."""
    from jishi.payments import service as payments

    items = [
        {
            "code": g.code,
            "label": str(g.label),
            "online": g.online,
            "channels": list(g.channels),
            "test_mode": g.test_mode,
        }
        for g in payments.offered(args.get("channel"))
    ]
    return {"items": items}
