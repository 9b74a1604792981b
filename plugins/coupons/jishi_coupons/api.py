"""Coupons JSON API under ``/api/v1`` (CP).

- Buyers: ``GET /coupons`` (claimable; ``?product_id=`` / ``?shop_id=``),
  ``POST /coupons/<id>/claim``, ``GET /me/coupons``, ``GET /me/coupons/<id>``,
  ``GET|POST /coupons/checkout-options`` (the coupons of a checkout per slot,
  which are chosen, and the activities; same body as ``/checkout/preview``).
- Sellers (the platform, or a multistore merchant — always the signed-in
  principal's seller, permission ``marketing``):
  ``/seller/coupons/templates``, ``/seller/coupons/activities`` and their
  ``/<id>/stop``.
"""

from __future__ import annotations

import functools

from flask_login import current_user
from jishi.api.common import Blueprint, DateTime, Money, StrictInt, UtcDateTime, fail, login_required, not_found
from jishi.checkout import entry as checkout_entry
from jishi.checkout.entry import CheckoutArgsSchema, checkout_args
from jishi.db import db
from jishi.i18n import gettext as _
from jishi.sellers import current_scope, seller_api
from marshmallow import Schema, fields, validate

from jishi_coupons import service
from jishi_coupons.checkout import PLATFORM, plan_for
from jishi_coupons.models import KINDS, SCOPES

blp = Blueprint(
    "coupons_api", __name__, url_prefix="/api/v1", description="Coupons (优惠券) and full-reduction activities (满减)."
)

MAX_ID = 2**31 - 1


def seller_coupons_api(view):
    """Seller staff holding ``products`` or ``settings``; the seller is the principal's."""

    @seller_api(None)
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scope = current_scope("api")
        if not scope.can("marketing"):
            fail(403, "forbidden", _("You may not do this."))
        return view(*args, **kwargs)

    return wrapper


# --- Schemas -------------------------------------------------------------------


class CouponsTemplateSchema(Schema):
    id = fields.Integer()
    seller_id = fields.Integer(allow_none=True, metadata={"description": "null: a platform coupon"})
    funded_by = fields.String(metadata={"description": "platform or seller"})
    name = fields.String()
    kind = fields.String(metadata={"description": "fixed (threshold 0: no threshold) or percent"})
    threshold = Money()
    amount = Money()
    percent_off = fields.Integer(metadata={"description": "basis points off: 1000 = 10% off (9折)"})
    max_discount = Money(allow_none=True)
    scope = fields.String()
    scope_ids = fields.List(fields.Integer())
    starts_at = DateTime()
    ends_at = DateTime()
    valid_days = fields.Integer(
        allow_none=True, metadata={"description": "days valid from claiming; null: starts_at..ends_at"}
    )
    total_quantity = fields.Integer()
    claimed_count = fields.Integer()
    per_user_limit = fields.Integer()
    status = fields.String()
    description = fields.Function(lambda t: service.describe(getattr(t, "_t", t)))


class CouponsClaimableSchema(CouponsTemplateSchema):
    claimed_by_me = fields.Integer()
    left = fields.Integer()


class CouponsTemplateArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    kind = fields.String(load_default="fixed", validate=validate.OneOf(KINDS))
    threshold = Money(load_default=0, validate=validate.Range(min=0, max=service.MAX_FEN))
    amount = Money(validate=validate.Range(min=1, max=service.MAX_FEN))
    percent_off = StrictInt(
        validate=validate.Range(min=1, max=9999), metadata={"description": "basis points off (1000 = 9折)"}
    )
    max_discount = Money(allow_none=True, validate=validate.Range(min=1, max=service.MAX_FEN))
    scope = fields.String(load_default="all", validate=validate.OneOf(SCOPES))
    scope_ids = fields.List(
        StrictInt(validate=validate.Range(min=1, max=MAX_ID)), load_default=list, validate=validate.Length(max=200)
    )
    starts_at = UtcDateTime(required=True, metadata={"description": "ISO 8601; without an offset: UTC"})
    ends_at = UtcDateTime(required=True)
    valid_days = StrictInt(allow_none=True, validate=validate.Range(min=1, max=service.MAX_DAYS))
    total_quantity = StrictInt(required=True, validate=validate.Range(min=1, max=service.MAX_QUANTITY))
    per_user_limit = StrictInt(load_default=1, validate=validate.Range(min=1, max=100))


class CouponsTierSchema(Schema):
    threshold = Money(required=True, validate=validate.Range(min=1, max=service.MAX_FEN))
    amount = Money(required=True, validate=validate.Range(min=1, max=service.MAX_FEN))


class CouponsActivitySchema(Schema):
    id = fields.Integer()
    seller_id = fields.Integer(allow_none=True)
    funded_by = fields.String()
    name = fields.String()
    tiers = fields.Function(lambda a: [{"threshold": t, "amount": m} for t, m in a.tiers])
    scope = fields.String()
    scope_ids = fields.List(fields.Integer())
    starts_at = DateTime()
    ends_at = DateTime()
    status = fields.String()
    description = fields.Function(service.describe)


class CouponsActivityArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    tiers = fields.List(fields.Nested(CouponsTierSchema), required=True, validate=validate.Length(min=1, max=10))
    scope = fields.String(load_default="all", validate=validate.OneOf(SCOPES))
    scope_ids = fields.List(
        StrictInt(validate=validate.Range(min=1, max=MAX_ID)), load_default=list, validate=validate.Length(max=200)
    )
    starts_at = UtcDateTime(required=True, metadata={"description": "ISO 8601; without an offset: UTC"})
    ends_at = UtcDateTime(required=True)


class CouponsUserCouponSchema(Schema):
    id = fields.Integer()
    template = fields.Nested(CouponsTemplateSchema)
    status = fields.Function(
        lambda c: service.display_status(c), metadata={"description": "unused, used, expired or not_started"}
    )
    claimed_at = DateTime()
    valid_from = DateTime()
    valid_until = DateTime()
    used_at = DateTime(allow_none=True)


class CouponsMineArgs(Schema):
    status = fields.String(validate=validate.OneOf(("unused", "used", "expired")))


class CouponsListArgs(Schema):
    product_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    shop_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "a multistore merchant's coupons"}
    )


class CouponsOptionSchema(Schema):
    user_coupon_id = fields.Integer()
    template_id = fields.Integer()
    name = fields.String()
    description = fields.String()
    amount = Money(metadata={"description": "what it takes off this checkout if chosen"})
    usable = fields.Boolean()
    chosen = fields.Boolean()
    reason = fields.String()
    valid_until = DateTime()


class CouponsSlotSchema(Schema):
    slot = fields.String(metadata={"description": '"platform" or the group key of a merchant order'})
    title = fields.String()
    seller_id = fields.Integer(allow_none=True)
    coupons = fields.List(fields.Nested(CouponsOptionSchema))
    chosen = fields.Integer(allow_none=True, metadata={"description": "the chosen user-coupon id"})


class CouponsAppliedSchema(Schema):
    source = fields.String()
    label = fields.String()
    amount = Money()
    funded_by = fields.String()
    seller_id = fields.Integer(allow_none=True)


class CouponsCheckoutOptionsSchema(Schema):
    groups = fields.List(
        fields.Nested(CouponsSlotSchema), metadata={"description": "merchant coupons per merchant order"}
    )
    platform = fields.Nested(CouponsSlotSchema, metadata={"description": "platform-wide coupons"})
    chosen = fields.List(fields.Integer(), metadata={"description": "send as options.coupons to keep this choice"})
    discounts = fields.List(
        fields.Nested(CouponsAppliedSchema), metadata={"description": "activities and coupons applied, in order"}
    )
    problems = fields.List(fields.Dict())


class _Claimable:
    """A template with the buyer's count, for :class:`CouponsClaimableSchema`."""

    def __init__(self, t, mine: int):
        self._t = t
        self.claimed_by_me = mine
        self.left = t.total_quantity - t.claimed_count

    def __getattr__(self, name):
        return getattr(self._t, name)


# --- Buyers ----------------------------------------------------------------------


@blp.get("/coupons")
@blp.arguments(CouponsListArgs, location="query")
@blp.response(200, CouponsClaimableSchema(many=True))
def claimable(args):
    """Coupons that can be claimed now (the claim centre), or those covering
    a product (``product_id``) or of one shop (``shop_id``)."""
    product = None
    kwargs = {}
    if "product_id" in args:
        from jishi.catalog.models import Product

        product = db.session.get(Product, args["product_id"])
        if product is None or not product.on_shelf:
            not_found("product")
    if "shop_id" in args:
        kwargs["seller_id"] = args["shop_id"]
    rows = service.claimable(product=product, **kwargs)
    mine = service.claimed_counts(current_user, [t.id for t in rows])
    return [_Claimable(t, mine.get(t.id, 0)) for t in rows]


@blp.post("/coupons/<int:template_id>/claim")
@login_required
@blp.response(201, CouponsUserCouponSchema)
def claim(template_id):
    """Claim one coupon (409 ``sold_out`` or ``limit`` when none is left for you)."""
    return service.claim(current_user, template_id)


@blp.get("/me/coupons")
@login_required
@blp.arguments(CouponsMineArgs, location="query")
@blp.response(200, CouponsUserCouponSchema(many=True))
def mine(args):
    """My coupons (我的优惠券), soonest to expire first."""
    return service.my_coupons(current_user, args.get("status"))


@blp.get("/me/coupons/<int:coupon_id>")
@login_required
@blp.response(200, CouponsUserCouponSchema)
def mine_one(coupon_id):
    c = service.my_coupon(current_user, coupon_id)
    if c is None:
        not_found("coupon")
    return c


def _slot(plan, slot: str, title: str, seller_id):
    opts = plan.options.get(slot, [])
    chosen = plan.chosen.get(slot)
    return {
        "slot": slot,
        "title": title,
        "seller_id": seller_id,
        "chosen": chosen.coupon.id if chosen else None,
        "coupons": [
            {
                "user_coupon_id": o.coupon.id,
                "template_id": o.coupon.template_id,
                "name": o.coupon.template.name,
                "description": service.describe(o.coupon.template),
                "amount": o.amount,
                "usable": o.usable,
                "chosen": o.chosen,
                "reason": o.reason,
                "valid_until": o.coupon.valid_until,
            }
            for o in opts
        ],
    }


def options_dict(co) -> dict:
    plan = plan_for(co)
    return {
        "groups": [_slot(plan, g.key, g.title, g.seller_id) for g in co.groups if g.seller_id is not None],
        "platform": _slot(plan, PLATFORM, "", None),
        "chosen": plan.chosen_ids(),
        "discounts": [
            {
                "source": d.discount.source,
                "label": d.discount.label,
                "amount": d.amount,
                "funded_by": d.discount.funded_by,
                "seller_id": d.discount.seller_id,
            }
            for d in co.discounts
            if d.amount and d.discount.source.startswith(("coupon:", "activity:"))
        ],
        "problems": [
            {"code": p.code, "message": str(p.message), "field": p.field, "group": p.group_key} for p in plan.problems
        ],
    }


def _int(v):
    return None if v is None else int(v)


def _str(v):
    return None if v is None else str(v)


def _bool(v):
    return _BOOLEAN._serialize(v, None, None)


def dump_options(data: dict) -> dict:
    """``CouponsCheckoutOptionsSchema().dump(data)`` for :func:`options_dict`'s
    answer (every key present), converted here field by field as
    marshmallow converts them (issue 20: the schema's dump of the slots and
    their coupons was ~4 % of a checkout preview). Asserted equal to the
    schema's dump on every preview of tests/plugins/coupons/test_checkout.py."""
    valid_until = _VALID_UNTIL._serialize

    def slot(s: dict) -> dict:
        return {
            "slot": _str(s["slot"]),
            "title": _str(s["title"]),
            "seller_id": _int(s["seller_id"]),
            "coupons": [
                {
                    "user_coupon_id": _int(o["user_coupon_id"]),
                    "template_id": _int(o["template_id"]),
                    "name": _str(o["name"]),
                    "description": _str(o["description"]),
                    "amount": _int(o["amount"]),
                    "usable": _bool(o["usable"]),
                    "chosen": _bool(o["chosen"]),
                    "reason": _str(o["reason"]),
                    "valid_until": valid_until(o["valid_until"], None, None),
                }
                for o in s["coupons"]
            ],
            "chosen": _int(s["chosen"]),
        }

    return {
        "groups": [slot(s) for s in data["groups"]],
        "platform": slot(data["platform"]),
        "chosen": [_int(i) for i in data["chosen"]],
        "discounts": [
            {
                "source": _str(d["source"]),
                "label": _str(d["label"]),
                "amount": _int(d["amount"]),
                "funded_by": _str(d["funded_by"]),
                "seller_id": _int(d["seller_id"]),
            }
            for d in data["discounts"]
        ],
        "problems": [dict(p) for p in data["problems"]],
    }


_VALID_UNTIL = CouponsOptionSchema._declared_fields["valid_until"]
_BOOLEAN = CouponsOptionSchema._declared_fields["usable"]


@blp.get("/coupons/checkout-options")
@login_required
@blp.response(200, CouponsCheckoutOptionsSchema)
def checkout_options_cart():
    """Coupons for a checkout of the selected cart lines, the best chosen."""
    co = checkout_entry.build_checkout(current_user, None, None, {})
    data = options_dict(co)
    db.session.rollback()
    return data


@blp.post("/coupons/checkout-options")
@login_required
@blp.arguments(CheckoutArgsSchema)
@blp.response(200, CouponsCheckoutOptionsSchema)
def checkout_options(args):
    """Coupons for the checkout described by the body (exactly the body of
    ``/checkout/preview``; ``options.coupons`` as there): per merchant order
    and platform-wide, each with what it would take off and which are chosen."""
    items, address_id, options = checkout_args(args)
    co = checkout_entry.build_checkout(current_user, items, address_id, options)
    data = options_dict(co)
    db.session.rollback()
    return data


# --- Sellers (platform or merchant) --------------------------------------------------


def _seller_id():
    return current_scope("api").seller_id


@blp.get("/seller/coupons/templates")
@seller_coupons_api
@blp.response(200, CouponsTemplateSchema(many=True))
def seller_templates():
    """The acting seller's coupons (the platform's when platform staff)."""
    return service.seller_templates(_seller_id())


@blp.post("/seller/coupons/templates")
@seller_coupons_api
@blp.arguments(CouponsTemplateArgs)
@blp.response(201, CouponsTemplateSchema)
def seller_template_create(args):
    return service.create_template(_seller_id(), args, current_user)


@blp.post("/seller/coupons/templates/<int:template_id>/stop")
@seller_coupons_api
@blp.response(200, CouponsTemplateSchema)
def seller_template_stop(template_id):
    """Stop claiming (coupons already claimed stay usable)."""
    t = service.own_template(_seller_id(), template_id)
    if t is None:
        not_found("coupon")
    service.stop(t)
    return t


@blp.get("/seller/coupons/activities")
@seller_coupons_api
@blp.response(200, CouponsActivitySchema(many=True))
def seller_activities():
    return service.seller_activities(_seller_id())


@blp.post("/seller/coupons/activities")
@seller_coupons_api
@blp.arguments(CouponsActivityArgs)
@blp.response(201, CouponsActivitySchema)
def seller_activity_create(args):
    args = dict(args, tiers=[[t["threshold"], t["amount"]] for t in args["tiers"]])
    return service.create_activity(_seller_id(), args, current_user)


@blp.post("/seller/coupons/activities/<int:activity_id>/stop")
@seller_coupons_api
@blp.response(200, CouponsActivitySchema)
def seller_activity_stop(activity_id):
    a = service.own_activity(_seller_id(), activity_id)
    if a is None:
        not_found("activity")
    service.stop(a)
    return a
