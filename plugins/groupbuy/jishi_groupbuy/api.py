"""Group-buy JSON API (SPEC GB), under ``/api/v1/groupbuy``.

Buyers (anyone may read):

- ``GET /groupbuy/products/<id>``   the product's running activity, group
  prices per SKU and its open (forming) groups
- ``GET /groupbuy/groups/<token>``  one group (the share link's data)
- ``GET /groupbuy/my-groups``       the signed-in buyer's memberships

Opening and joining a group is the kernel's checkout:
``POST /api/v1/checkout`` with one item and ``"options": {"groupbuy":
{"activity_id": 3, "group_token": "..."}}`` (no token: open a new group).

Sellers (``seller_api("marketing")``; the seller comes from the principal):
platform staff acting for the platform see and edit every activity and may
use any product; a merchant's admin only its own products' activities
(another merchant's ids are 404); clerks are 403.

- ``GET|POST /groupbuy/activities``, ``GET|PUT /groupbuy/activities/<id>``
- ``GET /groupbuy/activities/<id>/groups``
"""

from __future__ import annotations

from flask_login import current_user
from jishi import promotions
from jishi.api.common import (
    Blueprint,
    DateTime,
    Id,
    Money,
    StrictBool,
    StrictInt,
    UtcDateTime,
    fail,
    login_required,
    not_found,
)
from jishi.db import commit, db
from jishi.i18n import gettext as _
from jishi.sellers import seller_api
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from jishi_groupbuy import service
from jishi_groupbuy.models import Activity, Group, Member

blp = Blueprint(
    "groupbuy_api", __name__, url_prefix="/api/v1", description="Group buying (拼团): activities, groups, share links."
)


# -- schemas -------------------------------------------------------------------


class GroupBuySkuPriceSchema(Schema):
    sku_id = Id(required=True)
    group_price = Money(required=True, validate=validate.Range(min=1, max=service.MAX_PRICE))


class GroupBuyActivityArgs(Schema):
    product_id = Id(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=60))
    group_size = StrictInt(required=True, validate=validate.Range(min=2, max=service.MAX_GROUP_SIZE))
    time_limit_minutes = StrictInt(
        required=True,
        validate=validate.Range(min=1, max=service.MAX_TIME_LIMIT_MINUTES),
        metadata={"description": "how long a group may take to fill, from the leader's payment"},
    )
    per_user_limit = StrictInt(
        load_default=0,
        validate=validate.Range(min=0, max=10000),
        metadata={"description": "units per buyer; 0: no limit"},
    )
    starts_at = UtcDateTime(required=True, metadata={"description": "ISO 8601; without an offset: UTC"})
    ends_at = UtcDateTime(required=True)
    enabled = StrictBool(load_default=True)
    skus = fields.List(fields.Nested(GroupBuySkuPriceSchema), required=True, validate=validate.Length(min=1, max=200))


class GroupBuyActivityUpdateArgs(GroupBuyActivityArgs):
    class Meta:
        exclude = ("product_id",)


class GroupBuySkuPriceOutSchema(Schema):
    sku_id = fields.Integer()
    group_price = fields.Integer()


class GroupBuyActivitySchema(Schema):
    id = fields.Integer()
    seller_id = fields.Integer(allow_none=True)
    product_id = fields.Integer()
    title = fields.String()
    group_size = fields.Integer()
    time_limit_minutes = fields.Integer()
    per_user_limit = fields.Integer()
    starts_at = DateTime()
    ends_at = DateTime()
    enabled = fields.Boolean()
    created_by_platform = fields.Boolean()
    running = fields.Function(lambda a: service.is_running(a))
    skus = fields.List(fields.Nested(GroupBuySkuPriceOutSchema))


class GroupBuyGroupSchema(Schema):
    token = fields.String()
    activity_id = fields.Integer()
    state = fields.String(metadata={"description": "pending, forming, succeeded, failed, cancelled"})
    size = fields.Integer()
    seats = fields.Integer(metadata={"description": "members holding a seat (paid or not)"})
    paid = fields.Integer(metadata={"description": "members whose order is paid"})
    opened_at = DateTime(allow_none=True)
    expires_at = DateTime(allow_none=True)
    finished_at = DateTime(allow_none=True)
    share_path = fields.Function(lambda g: f"/groupbuy/groups/{g.token}")


class GroupBuySkuOfferSchema(Schema):
    sku_id = fields.Integer()
    spec_text = fields.String()
    price = fields.Integer()
    group_price = fields.Integer()
    stock = fields.Integer()


class GroupBuyProductSchema(Schema):
    product_id = fields.Integer()
    activity = fields.Nested(GroupBuyActivitySchema, allow_none=True)
    skus = fields.List(fields.Nested(GroupBuySkuOfferSchema))
    groups = fields.List(fields.Nested(GroupBuyGroupSchema))
    used_units = fields.Integer(
        allow_none=True, metadata={"description": "units the signed-in buyer holds in this activity"}
    )


class GroupBuyMembershipSchema(Schema):
    order_id = fields.Integer()
    status = fields.String(metadata={"description": "pending (unpaid), paid, left, refunded"})
    quantity = fields.Integer()
    is_leader = fields.Boolean()
    group = fields.Nested(GroupBuyGroupSchema)


class GroupBuyGroupDetailSchema(GroupBuyGroupSchema):
    share_path = fields.String()
    product_id = fields.Integer()
    title = fields.String()
    joinable = fields.Boolean()
    you = fields.String(allow_none=True, metadata={"description": "your membership status in this group, if any"})


# -- helpers ---------------------------------------------------------------------


# -- buyers ------------------------------------------------------------------------


@blp.get("/groupbuy/products/<int:product_id>")
@blp.response(200, GroupBuyProductSchema)
def product_offer(product_id):
    """The product's running group buy: group prices per SKU and the open
    groups one may join (soonest to expire first). ``activity`` null: none."""
    from jishi.catalog.service import get_product

    product = get_product(product_id) if 0 < product_id < 2**31 else None
    if product is None:
        not_found("product")
    activity = service.running_activity(product.id)
    if activity is None:
        return {"product_id": product.id, "activity": None, "skus": [], "groups": [], "used_units": None}
    skus = {s.id: s for s in product.skus if s.is_active}
    offers = [
        {
            "sku_id": a.sku_id,
            "spec_text": skus[a.sku_id].spec_text,
            "price": skus[a.sku_id].price,
            "group_price": a.group_price,
            "stock": skus[a.sku_id].stock,
        }
        for a in activity.skus
        if a.sku_id in skus
    ]
    used = service.used_units(activity.id, current_user.id) if current_user.is_authenticated else None
    return {
        "product_id": product.id,
        "activity": activity,
        "skus": offers,
        "groups": service.open_groups(activity.id, limit=20),
        "used_units": used,
    }


@blp.get("/groupbuy/groups/<token>")
@blp.response(200, GroupBuyGroupDetailSchema)
def group_detail(token):
    """One group by its share token (no member names: only counts)."""
    group = service.group_by_token(token)
    if group is None:
        not_found("group")
    activity = db.session.get(Activity, group.activity_id)
    mine = service._live_member(group.id, current_user.id) if current_user.is_authenticated else None
    joinable = (
        group.state == service.FORMING
        and group.seats < group.size
        and group.expires_at > service.now()
        and mine is None
    )
    out = {
        k: getattr(group, k)
        for k in ("token", "activity_id", "state", "size", "seats", "paid", "opened_at", "expires_at", "finished_at")
    }
    out.update(
        share_path=f"/groupbuy/groups/{group.token}",
        product_id=activity.product_id,
        title=activity.title,
        joinable=joinable,
        you=mine.status if mine else None,
    )
    return out


@blp.get("/groupbuy/my-groups")
@login_required
@blp.response(200, GroupBuyMembershipSchema(many=True))
def my_groups():
    """The signed-in buyer's memberships, newest first."""
    rows = db.session.execute(
        select(Member, Group)
        .join(Group, Group.id == Member.group_id)
        .where(Member.user_id == current_user.id)
        .order_by(Member.id.desc())
        .limit(100)
    ).all()
    return [
        {"order_id": m.order_id, "status": m.status, "quantity": m.quantity, "is_leader": m.is_leader, "group": g}
        for m, g in rows
    ]


# -- sellers and the platform ---------------------------------------------------------


@blp.get("/groupbuy/activities")
@seller_api("marketing")
@blp.response(200, GroupBuyActivitySchema(many=True))
def activities():
    """Activities the acting seller may see (the platform: all)."""
    scope, platform = promotions.acting("api")
    return service.visible_activities(seller_id=scope.seller_id, platform=platform)


@blp.post("/groupbuy/activities")
@seller_api("marketing")
@blp.arguments(GroupBuyActivityArgs)
@blp.response(201, GroupBuyActivitySchema)
def activity_create(args):
    """Create an activity on ``product_id`` (a merchant: its own products
    only; another merchant's product is 404). 409 when another enabled
    activity of the product overlaps the window."""
    scope, platform = promotions.acting("api")
    a = service.save_activity(args, seller_id=scope.seller_id, platform=platform)
    commit()
    return a


@blp.get("/groupbuy/activities/<int:activity_id>")
@seller_api("marketing")
@blp.response(200, GroupBuyActivitySchema)
def activity_get(activity_id):
    return promotions.api_activity(Activity, activity_id)


@blp.put("/groupbuy/activities/<int:activity_id>")
@seller_api("marketing")
@blp.arguments(GroupBuyActivityUpdateArgs)
@blp.response(200, GroupBuyActivitySchema)
def activity_update(args, activity_id):
    """Change an activity (every field but the product); running groups keep
    their size and deadline."""
    scope, platform = promotions.acting("api")
    a = promotions.api_activity(Activity, activity_id)
    service.save_activity(args, seller_id=scope.seller_id, platform=platform, activity=a)
    commit()
    return a


@blp.get("/groupbuy/activities/<int:activity_id>/groups")
@seller_api("marketing")
@blp.response(200, GroupBuyGroupSchema(many=True))
def activity_groups(activity_id):
    a = promotions.api_activity(Activity, activity_id)
    return list(
        db.session.execute(
            select(Group).where(Group.activity_id == a.id).order_by(Group.id.desc()).limit(200)
        ).scalars()
    )


__all__ = ["_", "blp", "fail"]
