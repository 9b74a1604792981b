"""Pickup API (PU).

Seller staff (seller from the principal, ``jishi.sellers.seller_api``):
``/seller/pickup/points`` CRUD (permission ``settings``; another seller's
point is 404) and ``POST /seller/pickup/verify`` (permission ``orders``,
rate-limited per user). Buyers: ``GET /orders/<id>/pickup`` and its QR image
``/orders/<id>/pickup/qr.svg`` (own orders only; others 404).
"""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from jishi.api.common import DateTime, fail, login_required, not_found
from jishi.db import commit
from jishi.i18n import gettext as _
from jishi.sellers import current_scope, seller_api
from marshmallow import Schema, fields

from jishi_pickup import service
from jishi_pickup.blueprints import api
from jishi_pickup.views import qr_response, verify_rate_limit

# -- schemas ---------------------------------------------------------------------


class PickupPointSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    hours = fields.String(metadata={"description": "opening hours, free text (e.g. 09:00-21:00)"})
    phone = fields.String()
    is_active = fields.Boolean()


class PickupPointListSchema(Schema):
    items = fields.List(fields.Nested(PickupPointSchema))


class PickupPointArgs(Schema):
    """Checked by :func:`jishi_pickup.service.clean_point` (raw values, so a
    wrong type is a 422 naming its field, in the kernel's error format)."""

    class Meta:
        unknown = "exclude"

    # (fields.Raw: the service checks the values; the types below are the document's)
    name = fields.Raw(
        metadata={"type": "string", "maxLength": 60, "description": "required on create; at most 60 characters"}
    )
    address = fields.Raw(
        metadata={"type": "string", "maxLength": 200, "description": "required on create; at most 200 characters"}
    )
    lat = fields.Raw(
        allow_none=True,
        metadata={
            "type": "number",
            "minimum": -90,
            "maximum": 90,
            "description": "latitude -90..90 (with lng, or neither)",
        },
    )
    lng = fields.Raw(
        allow_none=True, metadata={"type": "number", "minimum": -180, "maximum": 180, "description": "longitude"}
    )
    hours = fields.Raw(allow_none=True, metadata={"type": "string", "maxLength": 100, "description": "opening hours"})
    phone = fields.Raw(
        allow_none=True,
        metadata={"type": "string", "maxLength": 20, "description": "digits, spaces, +, - and brackets"},
    )
    is_active = fields.Raw(metadata={"type": "boolean", "description": "default true"})


class PickupVerifyArgs(Schema):
    class Meta:
        unknown = "exclude"

    code = fields.Raw(
        load_default=None,
        metadata={
            "type": "string",
            "description": "the 12-digit pickup code (spaces or dashes between groups allowed)",
        },
    )


class PickupVerifiedSchema(Schema):
    order_id = fields.Integer()
    order_number = fields.String()
    status = fields.String()
    point = fields.Dict()
    verified_at = DateTime()
    verified_by = fields.Integer()


class OrderPickupSchema(Schema):
    order_id = fields.Integer()
    status = fields.String(metadata={"description": "awaiting_payment, active, used or void"})
    code = fields.String(allow_none=True, metadata={"description": "only while active"})
    qr_url = fields.String(allow_none=True)
    point = fields.Dict(metadata={"description": "the point's snapshot taken at checkout"})
    used_at = DateTime(allow_none=True)


# -- seller: points ------------------------------------------------------------------


def _point(point_id: int):
    point = service.own_point(current_scope("api").seller_id, point_id)
    if point is None:
        not_found("pickup point")
    return point


@api.get("/seller/pickup/points")
@seller_api("settings")
@api.response(200, PickupPointListSchema)
def list_points():
    """The signed-in seller's pickup points."""
    return {"items": service.points_of(current_scope("api").seller_id)}


@api.post("/seller/pickup/points")
@seller_api("settings")
@api.arguments(PickupPointArgs)
@api.response(201, PickupPointSchema)
def create_point(args):
    """Add a pickup point (name, address, hours, phone, lat/lng, is_active)."""
    point = service.create_point(current_scope("api").seller_id, args)
    commit()
    return point


@api.get("/seller/pickup/points/<int:point_id>")
@seller_api("settings")
@api.response(200, PickupPointSchema)
def get_point(point_id):
    return _point(point_id)


@api.put("/seller/pickup/points/<int:point_id>")
@seller_api("settings")
@api.arguments(PickupPointArgs)
@api.response(200, PickupPointSchema)
def update_point(args, point_id):
    """Change the given fields of a point (orders keep their snapshot)."""
    point = service.update_point(_point(point_id), args)
    commit()
    return point


@api.delete("/seller/pickup/points/<int:point_id>")
@seller_api("settings")
@api.response(204)
def delete_point(point_id):
    service.delete_point(_point(point_id))
    commit()


# -- seller: verification ------------------------------------------------------------


@api.post("/seller/pickup/verify")
@seller_api("orders")
@verify_rate_limit
@api.arguments(PickupVerifyArgs)
@api.response(200, PickupVerifiedSchema)
def verify(args):
    """Verify a buyer's pickup code (核销): the order is handed over and
    completed. 400 malformed (field ``code``), 404 ``wrong_code`` (also for
    another seller's code), 409 ``code_used`` / ``code_void`` /
    ``not_awaiting_pickup``; 429 past the rate limit. Nothing changes on a
    refusal."""
    row, order = service.verify(current_scope("api"), current_user, args.get("code"))
    out = {
        "order_id": order.id,
        "order_number": order.number,
        "status": order.status,
        "point": dict(order.delivery_data or {}),
    }
    commit()
    out.update(verified_at=row.used_at, verified_by=row.used_by)
    return out


# -- buyer -------------------------------------------------------------------------------


def _buyer_order(order_id: int):
    from jishi.orders.service import buyer_order

    order = buyer_order(current_user, order_id) if order_id <= service.MAX_ID else None
    if order is None or order.delivery_method != service.CODE:
        not_found("order")
    return order


@api.get("/orders/<int:order_id>/pickup")
@login_required
@api.response(200, OrderPickupSchema)
def order_pickup(order_id):
    """The pickup of the buyer's own order: the point and, once paid, the
    code (while valid) with its QR image's URL."""
    order = _buyer_order(order_id)
    code = service.code_of(order.id)
    status = code.status if code else "awaiting_payment"
    active = code is not None and code.status == "active"
    return {
        "order_id": order.id,
        "status": status,
        "code": code.code if active else None,
        "qr_url": url_for("pickup_api.order_pickup_qr", order_id=order.id) if active else None,
        "point": dict(order.delivery_data or {}),
        "used_at": code.used_at if code else None,
    }


@api.get("/orders/<int:order_id>/pickup/qr.svg")
@login_required
@api.response(200, description="an SVG image (image/svg+xml)")
def order_pickup_qr(order_id):
    """The QR code of the buyer's active pickup code (SVG)."""
    order = _buyer_order(order_id)
    code = service.code_of(order.id)
    if code is None or code.status != "active":
        fail(404, "not_found", _("No valid pickup code for this order."))
    return qr_response(code)
