"""Local delivery's JSON API (``/api/v1``).

- ``/seller/local/settings`` GET/PUT: the signed-in seller's settings
  (permission ``settings``);
- ``/seller/local/orders`` GET, ``.../<id>/dispatch`` and ``.../<id>/deliver``
  POST: the seller's local orders (permission ``orders``); another seller's
  order answers 404;
- ``/local/slots`` GET (public): a seller's bookable slots with their
  remaining capacity, for mini-program clients.

The seller always comes from the principal (:mod:`jishi.sellers`).
"""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import Blueprint, DateTime, Money, QueryId, StrictBool, StrictInt, fail
from jishi.db import commit
from jishi.i18n import gettext as _
from jishi.orders import state
from jishi.sellers import current_scope, seller_api
from marshmallow import Schema, fields, validate

from jishi_delivery_local import rules, service

api = Blueprint(
    "delivery_local_api",
    __name__,
    url_prefix="/api/v1",
    description="Local delivery (同城配送): settings, slots, dispatch.",
)


# -- schemas -------------------------------------------------------------------


def _bounds(low: int, high: int) -> dict:
    """A number's range for the OpenAPI document: the service refuses one
    outside it naming the field in this plugin's words (not the schema's)."""
    return {"minimum": low, "maximum": high}


class TierSchema(Schema):
    max_distance_m = StrictInt(
        required=True,
        metadata={"description": "distances up to this many metres (inclusive)", **_bounds(1, service.MAX_RADIUS_M)},
    )
    fee = Money(required=True, metadata=_bounds(0, service.MAX_FEE))


class WindowSchema(Schema):
    start = fields.String(required=True, metadata={"description": "HH:MM, shop local time"})
    end = fields.String(required=True, metadata={"description": "HH:MM"})
    capacity = StrictInt(
        required=True, metadata={"description": "orders per slot and day", **_bounds(1, service.MAX_CAPACITY)}
    )


class SettingsSchema(Schema):
    enabled = StrictBool(load_default=False)
    lat = fields.Float(
        allow_none=True, load_default=None, allow_nan=False, metadata={"description": "shop latitude, degrees"}
    )
    lng = fields.Float(
        allow_none=True, load_default=None, allow_nan=False, metadata={"description": "shop longitude, degrees"}
    )
    radius_m = StrictInt(
        load_default=rules.DEFAULT_RADIUS_M,
        metadata={"description": "service radius in metres", **_bounds(1, service.MAX_RADIUS_M)},
    )
    tiers = fields.List(fields.Nested(TierSchema), load_default=list, validate=validate.Length(max=service.MAX_TIERS))
    min_amount = Money(
        load_default=0,
        metadata={"description": "minimum goods amount of an order, fen", **_bounds(0, service.MAX_AMOUNT)},
    )
    free_over = Money(
        allow_none=True,
        load_default=None,
        metadata={
            "description": "free delivery from this goods amount (fen); null: never",
            **_bounds(1, service.MAX_AMOUNT),
        },
    )
    slots = fields.List(
        fields.Nested(WindowSchema), load_default=list, validate=validate.Length(max=service.MAX_WINDOWS)
    )
    days_ahead = StrictInt(load_default=rules.DEFAULT_DAYS_AHEAD, metadata=_bounds(1, 14))
    lead_minutes = StrictInt(load_default=rules.DEFAULT_LEAD_MINUTES, metadata=_bounds(0, 1440))


class SlotSchema(Schema):
    id = fields.String(metadata={"description": "send as options.local_slot.<group key> at checkout"})
    date = fields.String()
    start = fields.String()
    end = fields.String()
    capacity = fields.Integer()
    remaining = fields.Integer()
    available = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={"description": "too_soon or full when not available"})


class SlotsArgs(Schema):
    seller_id = QueryId(load_default=None, metadata={"description": "the merchant; absent: the shop itself"})
    date = fields.Date(load_default=None, metadata={"description": "YYYY-MM-DD; absent: every bookable day"})


class SlotsSchema(Schema):
    seller_id = fields.Integer(allow_none=True)
    radius_m = fields.Integer()
    min_amount = Money()
    free_over = Money(allow_none=True)
    slots = fields.List(fields.Nested(SlotSchema))


class LocalOrderSchema(Schema):
    order_id = fields.Integer()
    number = fields.String()
    status = fields.String()
    slot = fields.String()
    distance_m = fields.Integer()
    courier_name = fields.String()
    courier_phone = fields.String()
    goods_amount = Money()
    delivery_fee = Money()
    pay_amount = Money()
    address = fields.Dict(allow_none=True)
    slot_released = fields.Boolean()
    dispatched_at = DateTime(allow_none=True)
    delivered_at = DateTime(allow_none=True)


class LocalOrderListArgs(Schema):
    status = fields.String(
        load_default=None, validate=validate.OneOf(("paid", "shipped", "received", "completed", "closed"))
    )
    date = fields.Date(load_default=None, metadata={"description": "the slot's day"})


class LocalOrderPageSchema(Schema):
    items = fields.List(fields.Nested(LocalOrderSchema))


class DispatchArgs(Schema):
    courier_name = fields.String(required=True, validate=validate.Length(max=40))
    courier_phone = fields.String(required=True, validate=validate.Length(max=20))


# -- helpers -------------------------------------------------------------------


def slot_dict(slot: rules.Slot) -> dict:
    available = slot.bookable and not slot.full
    return {
        "id": slot.id,
        "date": slot.day.isoformat(),
        "start": f"{slot.window.start:%H:%M}",
        "end": f"{slot.window.end:%H:%M}",
        "capacity": slot.window.capacity,
        "remaining": slot.remaining,
        "available": available,
        "reason": None if available else (slot.why or "full"),
    }


def order_dict(order, delivery) -> dict:
    return {
        "order_id": order.id,
        "number": order.number,
        "status": order.status,
        "slot": f"{delivery.day.isoformat()} {delivery.slot_window}"
        if delivery
        else (order.delivery_data or {}).get("slot", ""),
        "distance_m": delivery.distance_m if delivery else (order.delivery_data or {}).get("distance_m"),
        "courier_name": delivery.courier_name if delivery else "",
        "courier_phone": delivery.courier_phone if delivery else "",
        "goods_amount": order.goods_amount,
        "delivery_fee": order.delivery_fee,
        "pay_amount": order.pay_amount,
        "address": order.address,
        "slot_released": bool(delivery and delivery.released_at),
        "dispatched_at": delivery.dispatched_at if delivery else None,
        "delivered_at": delivery.delivered_at if delivery else None,
    }


def _own_order(order_id: int):
    order = service.seller_order(current_scope("api"), order_id)
    if order is None:
        fail(404, "not_found", _("Not found: %(what)s", what=_("order")))
    return order


# -- seller --------------------------------------------------------------------


@api.get("/seller/local/settings")
@seller_api("settings")
@api.response(200, SettingsSchema)
def get_settings():
    """The signed-in seller's local delivery settings."""
    return service.settings_dict(service.config_for(current_scope("api").seller_id))


@api.put("/seller/local/settings")
@seller_api("settings")
@api.arguments(SettingsSchema)
@api.response(200, SettingsSchema)
def put_settings(args):
    """Replace the seller's settings (422 naming the first bad field)."""
    cfg = service.save(current_scope("api").seller_id, args)
    commit()
    return service.settings_dict(cfg)


@api.get("/seller/local/orders")
@seller_api("orders")
@api.arguments(LocalOrderListArgs, location="query")
@api.response(200, LocalOrderPageSchema)
def list_orders(args):
    """The seller's local orders by slot (default: paid, out for delivery, delivered)."""
    rows = service.seller_orders(current_scope("api"), args.get("status"), args.get("date"))
    return {"items": [order_dict(o, d) for o, d in rows]}


@api.post("/seller/local/orders/<int:order_id>/dispatch")
@seller_api("orders")
@api.arguments(DispatchArgs)
@api.response(200, LocalOrderSchema)
def dispatch(args, order_id):
    """Out for delivery (kernel ``ship``; carrier 同城配送, the courier as tracking)."""
    order = _own_order(order_id)
    service.dispatch(order, args["courier_name"], args["courier_phone"], actor=current_user)
    return order_dict(order, service.delivery_of(order.id))


@api.post("/seller/local/orders/<int:order_id>/deliver")
@seller_api("orders")
@api.response(200, LocalOrderSchema)
def deliver(order_id):
    """Delivered (kernel ``receive`` by the seller); 409 unless out for delivery."""
    order = _own_order(order_id)
    if not state.can(order, "receive", "seller"):
        raise state.TransitionError(order, "receive")
    service.deliver(order, actor=current_user)
    return order_dict(order, service.delivery_of(order.id))


# -- public --------------------------------------------------------------------


@api.get("/local/slots")
@api.arguments(SlotsArgs, location="query")
@api.response(200, SlotsSchema)
def public_slots(args):
    """A seller's delivery slots with remaining capacity (404 when the
    seller offers no local delivery)."""
    seller_id = args.get("seller_id")
    cfg = service.config_for(seller_id)
    if not cfg.enabled:
        fail(404, "not_found", _("This seller offers no local delivery."), "seller_id")
    slots = service.slots(seller_id, cfg)
    if args.get("date"):
        slots = [s for s in slots if s.day == args["date"]]
    return {
        "seller_id": seller_id,
        "radius_m": cfg.radius_m,
        "min_amount": cfg.min_amount,
        "free_over": cfg.free_over,
        "slots": [slot_dict(s) for s in slots],
    }
