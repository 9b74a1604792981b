"""Points exchange API (积分商城).

- ``GET /api/v1/points/exchange``: the items buyers see (on, not ended;
  coupon items only with the coupons plugin), each with ``availability``
  for the signed-in buyer (``null`` signed out). Public.
- ``GET /api/v1/points/exchange/<id>``: one item (404 when buyers cannot
  see it).
- ``POST /api/v1/points/exchange/<id>/redeem``: redeem a COUPON item
  (signed in): points spent and the coupon issued in one transaction;
  ``Idempotency-Key`` (optional) answers a retry with the first redemption
  (200, ``replayed``). A product item is redeemed through the checkout
  instead: ``POST /api/v1/checkout/place`` with ``items: [{sku_id,
  quantity}]`` and ``options: {"points_exchange": {"item_id": <id>}}``
  (preview first with ``/checkout/preview``); this endpoint answers 409 for
  one.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import Blueprint, DateTime, idempotency_key, login_required, not_found
from jishi.db import commit, rollback
from jishi.errors import DomainError
from marshmallow import Schema, fields
from sqlalchemy.exc import IntegrityError

from jishi_points import exchange, ledger

blp = Blueprint(
    "points_exchange_api",
    __name__,
    url_prefix="/api/v1",
    description="Points exchange (积分商城): items redeemable for points or points plus cash.",
)


class AvailabilitySchema(Schema):
    state = fields.String(metadata={"description": "running, upcoming, ended, sold_out, off or unavailable"})
    remaining = fields.Integer(metadata={"description": "exchange stock left"})
    used = fields.Integer(metadata={"description": "units the buyer holds (not given back)"})
    limit_left = fields.Integer(
        allow_none=True, metadata={"description": "units the buyer may still redeem; null: no limit"}
    )
    balance = fields.Integer(allow_none=True, metadata={"description": "the buyer's usable points"})
    can_redeem = fields.Boolean()
    reason = fields.String(metadata={"description": "why not, in the buyer's language"})


class ExchangeItemSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "product or coupon"})
    title = fields.String()
    description = fields.String()
    points = fields.Integer(metadata={"description": "points per unit"})
    cash = fields.Integer(metadata={"description": "fen per unit (the order's price; 0 for a coupon)"})
    stock = fields.Integer()
    remaining = fields.Integer()
    per_user_limit = fields.Integer(metadata={"description": "units per buyer; 0: no limit"})
    starts_at = DateTime(allow_none=True)
    ends_at = DateTime(allow_none=True)
    sku_id = fields.Integer(allow_none=True, metadata={"description": "a product item's SKU (checkout items)"})
    product_id = fields.Integer(allow_none=True)
    image = fields.String()
    coupon_template_id = fields.Integer(allow_none=True)
    availability = fields.Nested(AvailabilitySchema, allow_none=True)


class ExchangeListSchema(Schema):
    items = fields.List(fields.Nested(ExchangeItemSchema))


class RedeemedSchema(Schema):
    redemption_id = fields.Integer()
    item_id = fields.Integer()
    points = fields.Integer(metadata={"description": "points spent"})
    coupon_id = fields.Integer(allow_none=True, metadata={"description": "the buyer's new coupon"})
    balance = fields.Integer(metadata={"description": "usable points left"})
    replayed = fields.Boolean(metadata={"description": "true: a retry answered with the first redemption"})


@blp.after_request
def _private(resp):
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _dump(item, avail, images) -> dict:
    signed_in = current_user.is_authenticated
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "points": item.points,
        "cash": item.cash,
        "stock": item.stock,
        "remaining": item.remaining,
        "per_user_limit": item.per_user_limit,
        "starts_at": item.starts_at,
        "ends_at": item.ends_at,
        "sku_id": item.sku_id,
        "product_id": item.product_id,
        "image": images.get(item.product_id, ""),
        "coupon_template_id": item.coupon_template_id,
        "availability": avail if signed_in else None,
    }


def images_of(items) -> dict[int, str]:
    from jishi.catalog.models import Product
    from jishi.db import db

    ids = {i.product_id for i in items if i.product_id}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(Product.id, Product.image).where(Product.id.in_(ids))).all())


@blp.get("/points/exchange")
@blp.response(200, ExchangeListSchema)
def items():
    """The exchange's items, with what the signed-in buyer may redeem."""
    rows = exchange.listing()
    avail = exchange.availability_many(rows, current_user)
    images = images_of(rows)
    return {"items": [_dump(i, avail[i.id], images) for i in rows]}


def _visible_or_404(item_id: int):
    item = exchange.get(item_id)
    if item is None or not exchange.visible(item) or exchange.state_of(item) == exchange.OFF:
        not_found("item")
    return item


@blp.get("/points/exchange/<int:item_id>")
@blp.response(200, ExchangeItemSchema)
def item(item_id):
    """One item, with what the signed-in buyer may redeem."""
    it = _visible_or_404(item_id)
    return _dump(it, exchange.availability(it, current_user), images_of([it]))


@blp.post("/points/exchange/<int:item_id>/redeem")
@login_required
@blp.response(201, RedeemedSchema)
@blp.alt_response(200, schema=RedeemedSchema, description="a retry with the same Idempotency-Key")
def redeem(item_id):
    """Redeem a coupon item: points spent and the coupon issued together
    (409 ``points_short``, ``sold_out``, ``limit``...; nothing written)."""
    key = idempotency_key()
    _visible_or_404(item_id)
    earlier = exchange.earlier_redemption(current_user.id, key)
    if earlier is None:
        try:
            r = exchange.redeem_coupon(current_user, item_id, key)
            commit()
        except DomainError:
            rollback()
            raise
        except IntegrityError:
            rollback()  # a parallel request with the same key won
            earlier = exchange.earlier_redemption(current_user.id, key)
            if earlier is None:
                raise
    if earlier is not None:
        if earlier.item_id != item_id:
            from jishi.api.common import fail
            from jishi.i18n import gettext as _

            fail(409, "conflict", _("This Idempotency-Key redeemed another item."), "Idempotency-Key")
        r = earlier
    answer = {
        "redemption_id": r.id,
        "item_id": r.item_id,
        "points": r.points,
        "coupon_id": r.coupon_id,
        "balance": ledger.balance(current_user.id)[0],
        "replayed": earlier is not None,
    }
    return answer, 200 if earlier is not None else 201
