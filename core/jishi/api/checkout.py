"""Checkout preview and placement (SPEC K7, K14).

Both endpoints take the same body and go through
:func:`jishi.checkout.service.build_checkout`, so the preview shows exactly
what placing would write. Placing needs an ``Idempotency-Key`` header: a
retried request with the same key answers the first placement (200) and
writes nothing.
"""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from marshmallow import Schema, fields, missing, validate

from jishi.api.common import (
    MAX_ID,
    Blueprint,
    ErrorSchema,
    Money,
    StrictInt,
    fail,
    idempotency_key,
    json_response,
    login_required,
)
from jishi.api.fastload import FastLoadSchema, int_in, str_dict
from jishi.api.orders import Id, OrderSummarySchema, PaymentOrderSchema, ids_in_range
from jishi.catalog.service import MAX_PRICE
from jishi.checkout import service as checkout_service
from jishi.checkout.errors import TotalChanged
from jishi.db import db, reads_first
from jishi.i18n import gettext as _

blp = Blueprint("checkout", __name__, url_prefix="/api/v1", description="Checkout")
blp.before_request(ids_in_range)


class CheckoutItemSchema(Schema):
    sku_id = Id(required=True)
    quantity = StrictInt(required=True, validate=validate.Range(min=1, max=9999))


class CheckoutArgsSchema(FastLoadSchema):
    items = fields.List(
        fields.Nested(CheckoutItemSchema),
        validate=validate.Length(min=1, max=100),
        metadata={"description": "absent: the selected cart lines"},
    )
    address_id = Id(allow_none=True)
    delivery = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "group key -> delivery code"}
    )
    messages = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=validate.Length(max=200)),
        metadata={"description": "group key -> buyer message"},
    )
    options = fields.Dict(metadata={"description": 'read by marketing plugins, e.g. {"coupons": [...]}'})

    #: the keys this schema loads (any other: marshmallow answers it)
    _FAST_KEYS = frozenset(("items", "address_id", "delivery", "messages", "options"))

    def fast_load(self, data: dict) -> dict | None:
        """What ``load`` answers for a plainly valid body (see
        :mod:`jishi.api.fastload`), else None."""
        if not self._FAST_KEYS.issuperset(data):
            return None
        out: dict = {}
        if "items" in data:
            items = data["items"]
            if type(items) is not list or not 1 <= len(items) <= 100:
                return None
            loaded = []
            for item in items:
                if type(item) is not dict or len(item) != 2:
                    return None
                sku_id, quantity = item.get("sku_id"), item.get("quantity")
                if not int_in(sku_id, 1, MAX_ID) or not int_in(quantity, 1, 9999):
                    return None
                loaded.append({"sku_id": sku_id, "quantity": quantity})
            out["items"] = loaded
        if "address_id" in data:
            address_id = data["address_id"]
            if address_id is not None and not int_in(address_id, 1, MAX_ID):
                return None
            out["address_id"] = address_id
        if "delivery" in data:
            delivery = str_dict(data["delivery"])
            if delivery is None:
                return None
            out["delivery"] = delivery
        if "messages" in data:
            messages = str_dict(data["messages"], 200)
            if messages is None:
                return None
            out["messages"] = messages
        if "options" in data:
            if type(data["options"]) is not dict:
                return None
            out["options"] = dict(data["options"])
        return out


class CheckoutLineAllocationSchema(Schema):
    source = fields.String()
    label = fields.String()
    amount = Money()


class CheckoutPreviewLineSchema(Schema):
    key = fields.String()
    sku_id = fields.Integer()
    product_id = fields.Integer()
    name = fields.String()
    spec_text = fields.String()
    image = fields.String()
    quantity = fields.Integer()
    stock = fields.Integer()
    base_price = Money()
    unit_price = Money()
    price_source = fields.String()
    price_label = fields.String()
    goods_amount = Money()
    discount = Money()
    payable = Money()
    allocations = fields.List(fields.Nested(CheckoutLineAllocationSchema))


class CheckoutDeliveryOptionSchema(Schema):
    code = fields.String()
    label = fields.String()
    fee = Money()
    available = fields.Boolean()
    reason = fields.String()
    needs_address = fields.Boolean()


class CheckoutPreviewGroupSchema(Schema):
    key = fields.String()
    title = fields.String()
    seller_id = fields.Integer(allow_none=True)
    tags = fields.List(fields.String())
    lines = fields.List(fields.Nested(CheckoutPreviewLineSchema))
    delivery_options = fields.List(fields.Nested(CheckoutDeliveryOptionSchema))
    delivery = fields.String(allow_none=True)
    message = fields.String()
    goods_amount = Money()
    discount_amount = Money()
    delivery_fee = Money()
    pay_amount = Money()


class CheckoutDiscountSchema(Schema):
    source = fields.String()
    label = fields.String()
    amount = Money()
    funded_by = fields.String()


class CheckoutTotalsSchema(Schema):
    goods_amount = Money()
    discount_amount = Money()
    delivery_fee = Money()
    pay_amount = Money()


class CheckoutProblemSchema(Schema):
    code = fields.String()
    message = fields.String()
    field = fields.String(allow_none=True)
    line = fields.String(allow_none=True)
    group = fields.String(allow_none=True)


class CheckoutPreviewSchema(Schema):
    groups = fields.List(fields.Nested(CheckoutPreviewGroupSchema))
    discounts = fields.List(fields.Nested(CheckoutDiscountSchema))
    totals = fields.Nested(CheckoutTotalsSchema)
    address_id = fields.Integer(allow_none=True)
    problems = fields.List(fields.Nested(CheckoutProblemSchema))
    plugins = fields.Dict(
        keys=fields.String(), metadata={"description": "what plugins add (checkout_extras hook), by key, e.g. coupons"}
    )


class CheckoutPlaceArgsSchema(CheckoutArgsSchema):
    expected_total = Money(
        validate=validate.Range(min=0, max=MAX_PRICE),  # (a payment's amount holds no more)
        metadata={
            "description": "the total (fen) the buyer saw (the preview's totals.pay_amount); "
            "when it is not the total now, nothing is placed: 409 total_changed with the new pay_amount"
        },
    )

    _FAST_KEYS = CheckoutArgsSchema._FAST_KEYS | {"expected_total"}

    def fast_load(self, data: dict) -> dict | None:
        expected = data.get("expected_total", 0)
        if not int_in(expected, 0, MAX_PRICE):
            return None
        out = super().fast_load(data)
        if out is not None and "expected_total" in data:
            out["expected_total"] = expected
        return out


class TotalChangedSchema(ErrorSchema):
    """A 409: ``total_changed`` (nothing placed) names the total now in
    ``pay_amount``; other conflicts (out of stock) have no ``pay_amount``."""

    pay_amount = Money(metadata={"description": "with code total_changed: the total now, in fen"})


class CheckoutPlacedSchema(Schema):
    payments = fields.List(fields.Nested(PaymentOrderSchema))
    orders = fields.List(fields.Nested(OrderSummarySchema))
    replayed = fields.Boolean(metadata={"description": "true when this answers an earlier request with the same key"})


def checkout_args(args):
    """``(items, address_id, options)`` for ``build_checkout`` / ``place_order``
    from arguments loaded with :class:`CheckoutArgsSchema` (``delivery`` and
    ``messages`` go into the options, as the checkout expects)."""
    items = args.get("items")
    if items is not None:
        items = [(i["sku_id"], i["quantity"]) for i in items]
    options = dict(args.get("options") or {})
    options["delivery"] = dict(args.get("delivery") or {})
    options["messages"] = dict(args.get("messages") or {})
    return items, args.get("address_id"), options


def _int(v):
    return None if v is None else int(v)


def _str(v):
    return None if v is None else (v.decode("utf-8") if isinstance(v, bytes) else str(v))


def _bool(v):
    return _BOOLEAN._serialize(v, None, None)  # its truthy / falsy sets, as its dump


def preview_dict(co) -> dict:
    """The preview ``co`` as CheckoutPreviewSchema dumps it (but
    ``plugins``, see :func:`preview_response`): each value converted here
    as its field converts it (``int``, ``str``, the boolean's sets; None
    stays None), so the answer needs no second walk of a dumper (issue 20:
    that walk was ~5 % of a preview). Asserted equal to the schema's dump
    in tests/plugins/test_checkout_fastpath.py."""
    discounts = co.discounts
    groups = []
    # the amounts computed once each (the properties re-sum their parts at
    # every read: a group's pay amount summed its lines' again)
    totals = [0, 0, 0]
    for g in co.groups:
        lines = []
        g_goods = g_discount = 0
        for line in g.lines:
            goods, discount = line.goods_amount, line.discount
            g_goods += goods
            g_discount += discount
            lines.append(
                {
                    "key": _str(line.key),
                    "sku_id": _int(line.sku_id),
                    "product_id": _int(line.product_id),
                    "name": _str(line.name),
                    "spec_text": _str(line.spec_text),
                    "image": _str(line.image),
                    "quantity": _int(line.quantity),
                    "stock": _int(line.stock),
                    "base_price": _int(line.base_price),
                    "unit_price": _int(line.unit_price),
                    "price_source": _str(line.price_source),
                    "price_label": _str(line.price_label),
                    "goods_amount": _int(goods),
                    "discount": _int(discount),
                    "payable": _int(goods - discount),
                    "allocations": [
                        {
                            "source": _str(discounts[s.discount_index].discount.source),
                            "label": _str(discounts[s.discount_index].discount.label),
                            "amount": _int(s.amount),
                        }
                        for s in line.shares
                    ],
                }
            )
        fee = g.delivery_fee
        groups.append(
            {
                "key": _str(g.key),
                "title": _str(g.title),
                "seller_id": _int(g.seller_id),
                "tags": [_str(t) for t in g.tags],
                "lines": lines,
                "delivery_options": [
                    {
                        "code": _str(o.code),
                        "label": _str(o.label),
                        "fee": _int(o.fee),
                        "available": _bool(o.available),
                        "reason": _str(o.reason),
                        "needs_address": _bool(o.needs_address),
                    }
                    for o in g.delivery_options
                ],
                "delivery": _str(g.delivery.code) if g.delivery else None,
                "message": _str(g.buyer_message),
                "goods_amount": _int(g_goods),
                "discount_amount": _int(g_discount),
                "delivery_fee": _int(fee),
                "pay_amount": _int(g_goods - g_discount + fee),
            }
        )
        totals[0] += g_goods
        totals[1] += g_discount
        totals[2] += fee
    return {
        "groups": groups,
        "discounts": [
            {
                "source": _str(d.discount.source),
                "label": _str(d.discount.label),
                "amount": _int(d.amount),
                "funded_by": _str(d.discount.funded_by),
            }
            for d in discounts
            if d.amount
        ],
        "totals": {
            "goods_amount": _int(totals[0]),
            "discount_amount": _int(totals[1]),
            "delivery_fee": _int(totals[2]),
            "pay_amount": _int(totals[0] - totals[1] + totals[2]),
        },
        "address_id": _int(co.address.id) if co.address else None,
        "problems": [
            {
                "code": _str(p.code),
                "message": str(p.message),
                "field": _str(p.field),
                "line": _str(p.line_key),
                "group": _str(p.group_key),
            }
            for p in co.problems
        ],
    }


_BOOLEAN = CheckoutDeliveryOptionSchema._declared_fields["available"]


@blp.post("/checkout/preview")
@reads_first  # only reads
@login_required
@blp.arguments(CheckoutArgsSchema())  # an instance: webargs makes a class anew per request
@blp.response(200, CheckoutPreviewSchema)
def preview(args):
    """Groups, delivery options, discounts and their allocation per line,
    totals and any problems, for ``items`` (or the selected cart lines)."""
    items, address_id, options = checkout_args(args)
    session = db.session()
    held = set(session.identity_map.keys())  # the buyer (read by login_required)
    co = checkout_service.build_checkout(current_user, items, address_id, options)
    data = preview_dict(co)
    data["plugins"] = _extras(co)
    _end_preview(session, held)
    return preview_response(data)


def _end_preview(session, held: set) -> None:
    """Roll back the preview's transaction (a preview writes nothing).

    The instances the checkout's reads put in the session (its SKUs and
    products, the checkout loaders' rows: merchants, the address, delivery
    templates...) are expunged first, those unmodified: the rollback would
    expire each of them (~4.5 µs a state, sixteen states: ~5 % of a
    preview, issue 20), and nothing can reach them after the view but the
    checkout that is dropped here. A later read of the same row in this
    session reads it again, as it would refresh the expired instance. What
    the session held before the checkout (the buyer, ``current_user``) and
    anything modified are expired by the rollback as before."""
    expunge = getattr(session, "_expunge_states", None)  # (``Session.expunge`` walks cascades: dearer than the expiry)
    if expunge is not None:
        added = [s for s in session.identity_map.all_states() if s.key not in held and not s.modified]
        if added:
            expunge(added)
    session.rollback()


_PLUGINS = CheckoutPreviewSchema._declared_fields["plugins"]


def preview_response(data: dict):
    """``data`` (:func:`preview_dict` with ``plugins``) as
    CheckoutPreviewSchema dumps it, answered as UTF-8 JSON: everything but
    ``plugins`` is in its dumped form already (:func:`preview_dict`),
    ``plugins`` is serialised by its field (marshmallow's dump of ~25
    nested fields per line was a sixth of a preview, a dumper's walk of
    the built dict ~5 %); the schema still documents the response."""
    plugins = data.get("plugins", missing)
    if plugins is not missing:
        data = {**data, "plugins": _PLUGINS.serialize("plugins", data)}
    return json_response(data)


def _extras(co) -> dict:
    from flask import current_app

    extras: dict = {}
    for result in current_app.extensions["jishi"].hook.checkout_extras(checkout=co):
        for key, value in (result or {}).items():
            if key in extras:
                raise RuntimeError(f"two plugins add {key!r} to the checkout preview")
            extras[key] = value
    return extras


def _placed(payments, replayed: bool) -> dict:
    orders = [o for p in payments for o in p.orders]
    return {"payments": payments, "orders": orders, "replayed": replayed}


@blp.post("/checkout/place")
@reads_first  # the quote reads; place_order writes after jishi.db.write_from_here
@login_required
@blp.arguments(CheckoutPlaceArgsSchema())
@blp.response(201, CheckoutPlacedSchema)
@blp.alt_response(200, schema=CheckoutPlacedSchema, description="A retry with the same Idempotency-Key")
@blp.alt_response(
    409,
    schema=TotalChangedSchema,
    description="Not placed: the total is not expected_total (total_changed, with the new pay_amount), "
    "or a conflict such as out of stock",
)
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 72, "pattern": "^[^#]+$"},
            "description": "any unique string per checkout attempt; a retry sends the same one",
        }
    ]
)
def place(args):
    """Place the checkout atomically; needs an ``Idempotency-Key`` header.

    Answers 201 with the payment order(s) and orders; a retry with the same
    key answers 200 with the same ids and writes nothing. With
    ``expected_total`` (the total the buyer saw) a checkout whose total is
    now different is not placed: 409 ``total_changed`` with ``pay_amount``.
    A payment of 0 (a coupon or points paid it all) is paid at placement:
    answered ``status`` ``paid``, ``method`` ``free``; nothing to start.
    """
    key = idempotency_key()
    if not key:
        fail(400, "invalid", _("The Idempotency-Key header is required."), "Idempotency-Key")
    items, address_id, options = checkout_args(args)
    try:
        payments = checkout_service.place_order(
            current_user, items, address_id, options, idempotency_key=key, expected_total=args.get("expected_total")
        )
    except TotalChanged as exc:
        resp = jsonify({"code": exc.code, "message": exc.message, "field": exc.field, "pay_amount": exc.pay_amount})
        resp.status_code = 409
        return resp
    # place_order answers an earlier placement with this key as it was
    return placed_response(payments, payments.replayed)


_dump_payment = None


def placed_response(payments, replayed: bool):
    """The placement's answer (201, or 200 for a replay) as
    CheckoutPlacedSchema dumps it, by a dumper made once from
    PaymentOrderSchema (:func:`jishi.api.catalog.dumper`); the schema still
    documents the response. ``orders`` are the orders of ``payments`` in
    order (:func:`_placed`), so their dumps are the ones nested in the
    payments' (each order was dumped twice: its date-times through their
    fields, a third of a placement's answer)."""
    global _dump_payment
    if _dump_payment is None:
        from jishi.api.catalog import dumper

        _dump_payment = dumper(PaymentOrderSchema)
    dumped = [_dump_payment(p) for p in payments]
    body = {
        "payments": dumped,
        "orders": [o for d in dumped for o in d["orders"]],
        "replayed": _REPLAYED._serialize(replayed, None, None),
    }
    return json_response(body, 200 if replayed else 201)


_REPLAYED = CheckoutPlacedSchema._declared_fields["replayed"]
