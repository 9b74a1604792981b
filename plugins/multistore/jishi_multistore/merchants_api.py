"""Merchants API (MS4–MS6, MS13, MS15, MS17).

- Buyers: ``GET /api/v1/shops`` (the merchant list, sortable by distance)
  and ``GET /api/v1/shops/<id>``.
- Merchant staff: ``/api/v1/merchant/profile``, ``/merchant/staff``,
  ``/merchant/dashboard`` (the acting merchant always comes from the
  signed-in principal).
- Platform: ``/api/v1/admin/multistore/merchants...`` and
  ``/admin/multistore/announcements...``.
"""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import DateTime, Money, StrictBool, StrictInt, get_or_404, not_found
from jishi.catalog.service import MAX_ID
from jishi.db import commit, db
from jishi.i18n import gettext as _
from marshmallow import Schema, fields, validate

from jishi_multistore import merchants as service
from jishi_multistore.blueprints import api as blp
from jishi_multistore.models import BUSINESS_STATES, Announcement
from jishi_multistore.principal import MERCHANT_ADMIN, current_principal, merchant, merchant_api

# --- Schemas ---------------------------------------------------------------------


class MerchantsShopItemSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    stars = fields.Integer()
    rating = fields.String(metadata={"description": 'average of the latest ratings ("4.3"; "" without ratings)'})
    rating_count = fields.Integer()
    avg_spend = fields.Integer(allow_none=True, metadata={"description": "fen per person"})
    hours = fields.String()
    category = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    logo = fields.String()
    status = fields.String()
    status_label = fields.String()
    url = fields.String()
    joined_at = DateTime(allow_none=True)
    distance_m = fields.Integer(allow_none=True, metadata={"description": "metres from the visitor (with lat/lng)"})
    distance_text = fields.String()


class MerchantsShopPageSchema(Schema):
    items = fields.List(fields.Nested(MerchantsShopItemSchema))
    next_cursor = fields.String(allow_none=True)


class MerchantsShopListArgs(Schema):
    sort = fields.String(
        load_default="newest",
        validate=validate.OneOf(service.SHOP_SORTS),
        metadata={"description": "newest (join time), name, or distance (needs lat, lng)"},
    )
    lat = fields.Float(validate=validate.Range(min=-90, max=90), allow_nan=False)
    lng = fields.Float(validate=validate.Range(min=-180, max=180), allow_nan=False)
    q = fields.String(validate=validate.Length(max=60))
    category = fields.String(validate=validate.Length(max=40))
    cursor = fields.String(validate=validate.Length(max=300))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class MerchantsShopDetailSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String()
    logo = fields.String()
    images = fields.List(fields.String())
    intro = fields.String()
    stars = fields.Integer()
    rating = fields.Function(
        lambda m: service.rating_text(m.rating_x10),
        metadata={"description": 'average of the latest ratings ("4.3"; "" without ratings)'},
    )
    rating_count = fields.Integer(metadata={"description": "ratings in that average"})
    hours = fields.String()
    avg_spend = fields.Integer(allow_none=True)
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    service_phone = fields.String()
    service_wechat = fields.String()
    announcement = fields.String()
    returns_enabled = fields.Boolean()
    status = fields.Function(service.effective_status)
    status_label = fields.Function(lambda m: service.status_labels().get(service.effective_status(m), ""))
    notice = fields.Function(
        service.shop_page_notice, metadata={"description": "what the shop page says when not open"}
    )
    can_sell = fields.Function(lambda m: service.effective_status(m) == "open")
    joined_at = DateTime(attribute="approved_at", allow_none=True)


class MerchantsProfileSchema(MerchantsShopDetailSchema):
    return_address = fields.String()
    return_recipient = fields.String()
    return_phone = fields.String()
    application_fields = fields.Function(
        lambda m: [
            {
                "key": f.key,
                "label": f.label,
                "kind": f.kind,
                "required": f.required,
                "editable": f.editable,
                "value": (m.fields or {}).get(f.key, ""),
            }
            for f in _app_fields()
        ]
    )


class MerchantsProfileArgs(Schema):
    name = fields.String(validate=validate.Length(min=1, max=60))
    category = fields.String(validate=validate.Length(max=40))
    logo = fields.String(validate=validate.Length(max=300))
    images = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)), validate=validate.Length(max=service.MAX_IMAGES)
    )
    intro = fields.String(validate=validate.Length(max=5000))
    hours = fields.String(validate=validate.Length(max=40), metadata={"description": "HH:MM-HH:MM; empty: 24 hours"})
    avg_spend = Money(allow_none=True, validate=validate.Range(min=0, max=10**9))
    address = fields.String(validate=validate.Length(max=200))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90), allow_nan=False)
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180), allow_nan=False)
    service_phone = fields.String(validate=validate.Length(max=30))
    service_wechat = fields.String(validate=validate.Length(max=60))
    announcement = fields.String(
        validate=validate.Length(max=100, error="The announcement is limited to 100 characters.")
    )
    returns_enabled = StrictBool()
    return_address = fields.String(validate=validate.Length(max=200))
    return_recipient = fields.String(validate=validate.Length(max=40))
    return_phone = fields.String(validate=validate.Length(max=30))
    fields = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.String(validate=validate.Length(max=500)),
        metadata={"description": "answers to editable application fields"},
    )  # last: shadows the module


class MerchantsAnnouncementSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    created_at = DateTime()


class MerchantsAnnouncementArgs(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    body = fields.String(load_default="", validate=validate.Length(max=5000))


class MerchantsAnnouncementPatch(Schema):
    title = fields.String(validate=validate.Length(min=1, max=100))
    body = fields.String(validate=validate.Length(max=5000))


class MerchantsAnnouncementList(Schema):
    items = fields.List(fields.Nested(MerchantsAnnouncementSchema))


class MerchantsDashboardSchema(Schema):
    merchant = fields.Nested(MerchantsShopDetailSchema)
    role = fields.String()
    permissions = fields.List(fields.String())
    announcements = fields.List(fields.Nested(MerchantsAnnouncementSchema))


class MerchantsMemberSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    role = fields.String()
    role_id = fields.Integer(
        allow_none=True, metadata={"description": "A clerk's staff role (null: default clerk rights)"}
    )
    name = fields.Function(lambda mm: mm.user.display_name() if mm.user else "")
    phone = fields.Function(lambda mm: mm.user.phone if mm.user else "")
    created_at = DateTime()


class MerchantsMemberList(Schema):
    items = fields.List(fields.Nested(MerchantsMemberSchema))


class MerchantsClerkArgs(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=20))


class MerchantsMemberRoleArgs(Schema):
    role_id = StrictInt(required=True, allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class MerchantsRoleSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    permissions = fields.List(fields.String())
    created_at = DateTime()


class MerchantsRoleList(Schema):
    items = fields.List(fields.Nested(MerchantsRoleSchema))
    permissions = fields.List(fields.Dict(), metadata={"description": "What a role may hold: code and label"})


class MerchantsRoleArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    permissions = fields.List(fields.String(validate=validate.Length(max=40)), required=True)


class MerchantsRolePatchArgs(Schema):
    name = fields.String(validate=validate.Length(min=1, max=40))
    permissions = fields.List(fields.String(validate=validate.Length(max=40)))


class MerchantsAdminMerchantSchema(MerchantsProfileSchema):
    owner_id = fields.Integer()
    owner_phone = fields.Function(lambda m: m.owner.phone if m.owner else "")
    business_status = fields.String(attribute="status")
    stars_override = fields.Integer(
        allow_none=True, metadata={"description": "the platform's stars (null: computed from ratings)"}
    )
    deleted = fields.Function(lambda m: m.deleted_at is not None)
    deleted_at = DateTime(allow_none=True)
    created_at = DateTime()


class MerchantsAdminMerchantPage(Schema):
    items = fields.List(fields.Nested(MerchantsAdminMerchantSchema))
    next_after_id = fields.Integer(allow_none=True)


class MerchantsAdminListArgs(Schema):
    q = fields.String(validate=validate.Length(max=60))
    status = fields.String(
        validate=validate.OneOf(service.LIST_STATUSES), metadata={"description": "business state, or deleted"}
    )
    after_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class MerchantsAdminExportArgs(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))
    q = fields.String(validate=validate.Length(max=60))
    status = fields.String(validate=validate.OneOf(service.LIST_STATUSES))


class MerchantsAdminPatch(Schema):
    status = fields.String(validate=validate.OneOf(BUSINESS_STATES), metadata={"description": "business state"})
    stars = StrictInt(
        validate=validate.Range(min=1, max=5),
        allow_none=True,
        metadata={
            "description": "the platform's stars, winning over the computed ones; null: computed from ratings again"
        },
    )


class MerchantsDeleteResultSchema(Schema):
    products = fields.Integer(metadata={"description": "products taken off shelf"})
    orders_closed = fields.Integer(metadata={"description": "unpaid orders cancelled"})


def _app_fields():
    from jishi_multistore import onboarding

    return onboarding.fields()


# --- Buyers ----------------------------------------------------------------------


@blp.get("/shops")
@blp.arguments(MerchantsShopListArgs, location="query")
@blp.response(200, MerchantsShopPageSchema)
def list_shops(args):
    """Open, resting and closed-for-today merchants (shut ones are not
    listed): by join time, name, or distance from ``lat``/``lng`` (nearest
    first, ``distance_m`` given)."""
    items, cursor = service.list_shops(
        sort=args["sort"],
        lat=args.get("lat"),
        lng=args.get("lng"),
        q=args.get("q"),
        category=args.get("category"),
        cursor=args.get("cursor"),
        limit=args["limit"],
    )
    return {"items": items, "next_cursor": cursor}


@blp.get("/shops/<int:merchant_id>")
@blp.response(200, MerchantsShopDetailSchema)
def get_shop(merchant_id):
    """A shop's profile; a shut or deleted shop answers with its notice."""
    m = service.shop_for_buyer(merchant_id)
    if m is None:
        not_found(_("shop"))
    return m


# --- Merchant staff --------------------------------------------------------------


@blp.get("/merchant/dashboard")
@merchant_api()
@blp.response(200, MerchantsDashboardSchema)
def dashboard():
    """The acting merchant, the caller's role and the platform's announcements."""
    p = current_principal(allow_platform_view=False)
    from jishi_multistore.principal import all_permissions

    return {
        "merchant": p.merchant,
        "role": p.role,
        "permissions": [x for x in all_permissions() if p.can(x)],
        "announcements": service.announcements(20),
    }


@blp.get("/merchant/profile")
@merchant_api("settings")
@blp.response(200, MerchantsProfileSchema)
def get_profile():
    return merchant()


@blp.patch("/merchant/profile")
@merchant_api("settings")
@blp.arguments(MerchantsProfileArgs)
@blp.response(200, MerchantsProfileSchema)
def patch_profile(data):
    """Edit the shop profile (not the business state nor the stars: the platform sets those)."""
    m = service.update_profile(merchant(), data)
    commit()
    return m


@blp.get("/merchant/staff")
@merchant_api(MERCHANT_ADMIN)
@blp.response(200, MerchantsMemberList)
def list_staff():
    return {"items": service.staff(merchant())}


@blp.post("/merchant/staff")
@merchant_api(MERCHANT_ADMIN)
@blp.arguments(MerchantsClerkArgs)
@blp.response(201, MerchantsMemberSchema)
def add_clerk(data):
    """Add an existing user, by phone, as a clerk (ships and handles orders; no money, no settings)."""
    member = service.add_clerk(merchant(), data["phone"])
    commit()
    return member


@blp.delete("/merchant/staff/<int:member_id>")
@merchant_api(MERCHANT_ADMIN)
@blp.response(204)
def remove_clerk(member_id):
    service.remove_clerk(merchant(), member_id)
    commit()
    return ""


@blp.put("/merchant/staff/<int:member_id>/role")
@merchant_api(MERCHANT_ADMIN)
@blp.arguments(MerchantsMemberRoleArgs)
@blp.response(200, MerchantsMemberSchema)
def set_clerk_role(data, member_id):
    """Give a clerk one of the shop's roles (null: the default clerk rights). Shop admin only."""
    member = service.set_member_role(merchant(), member_id, data["role_id"])
    commit()
    return member


# --- Merchant staff roles (seed 002 §4 权限管理) -----------------------------------


def _role(role_id: int):
    from jishi.roles import get_role

    role = get_role(role_id, merchant().id)
    if role is None:
        not_found(_("role"))
    return role


@blp.get("/merchant/roles")
@merchant_api(MERCHANT_ADMIN)
@blp.response(200, MerchantsRoleList)
def list_roles():
    """The shop's staff roles and the permissions a role may hold. Shop admin only."""
    from jishi.roles import declared, roles_of

    return {
        "items": roles_of(merchant().id),
        "permissions": [{"code": x.code, "label": str(x.label)} for x in declared("seller")],
    }


@blp.post("/merchant/roles")
@merchant_api(MERCHANT_ADMIN)
@blp.arguments(MerchantsRoleArgs)
@blp.response(201, MerchantsRoleSchema)
def create_role(data):
    from jishi.roles import save_role

    role = save_role(merchant().id, data["name"], data["permissions"])
    commit()
    return role


@blp.patch("/merchant/roles/<int:role_id>")
@merchant_api(MERCHANT_ADMIN)
@blp.arguments(MerchantsRolePatchArgs)
@blp.response(200, MerchantsRoleSchema)
def update_role(data, role_id):
    from jishi.roles import save_role

    role = _role(role_id)
    save_role(role.seller_id, data.get("name", role.name), data.get("permissions", role.permissions), role=role)
    commit()
    return role


@blp.delete("/merchant/roles/<int:role_id>")
@merchant_api(MERCHANT_ADMIN)
@blp.response(204)
def delete_role(role_id):
    """Delete a role no clerk holds (409 while one does)."""
    from jishi.roles import delete_role as drop

    role = _role(role_id)
    drop(role, service.role_holders(merchant()).get(role.id, 0))
    commit()
    return ""


# --- Platform --------------------------------------------------------------------


def _merchant(merchant_id: int):
    m = service.get_merchant(merchant_id)
    if m is None:
        not_found(_("merchant"))
    return m


@blp.get("/admin/multistore/merchants")
@platform_api("merchants")
@blp.arguments(MerchantsAdminListArgs, location="query")
@blp.response(200, MerchantsAdminMerchantPage)
def admin_list(args):
    """Approved merchants, newest first: search by name, filter by status (``deleted`` lists deleted ones)."""
    items, next_id = service.list_for_platform(args.get("q"), args.get("status"), args.get("after_id"), args["limit"])
    return {"items": items, "next_after_id": next_id}


@blp.get("/admin/multistore/merchants/export")
@platform_api("merchants")
@blp.arguments(MerchantsAdminExportArgs, location="query")
@blp.response(200, description="CSV or XLSX file of the merchants")
def admin_export(args):
    if args["format"] == "xlsx":
        return Response(
            service.export_xlsx(args.get("q"), args.get("status")),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="merchants.xlsx"'},
        )
    return Response(
        service.export_csv(args.get("q"), args.get("status")),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="merchants.csv"'},
    )


@blp.get("/admin/multistore/merchants/<int:merchant_id>")
@platform_api("merchants")
@blp.response(200, MerchantsAdminMerchantSchema)
def admin_get(merchant_id):
    return _merchant(merchant_id)


@blp.patch("/admin/multistore/merchants/<int:merchant_id>")
@platform_api("merchants")
@blp.arguments(MerchantsAdminPatch)
@blp.response(200, MerchantsAdminMerchantSchema)
def admin_patch(data, merchant_id):
    """Set the business state (open, resting, closed_today, shut) and override
    the stars (1–5; null: computed from the ratings again)."""
    m = service.set_state(
        _merchant(merchant_id),
        status=data.get("status"),
        stars=data.get("stars"),
        clear_stars="stars" in data and data["stars"] is None,
    )
    commit()
    return m


@blp.delete("/admin/multistore/merchants/<int:merchant_id>")
@platform_api("merchants")
@blp.response(200, MerchantsDeleteResultSchema)
def admin_delete(merchant_id):
    """Soft-delete: products off shelf, unpaid orders cancelled (stock
    released), paid orders kept for the platform, members lose the console."""
    return service.delete_merchant(_merchant(merchant_id), current_user)


@blp.get("/admin/multistore/announcements")
@platform_api("merchants")
@blp.response(200, MerchantsAnnouncementList)
def list_announcements():
    return {"items": service.announcements(200)}


@blp.post("/admin/multistore/announcements")
@platform_api("merchants")
@blp.arguments(MerchantsAnnouncementArgs)
@blp.response(201, MerchantsAnnouncementSchema)
def create_announcement(data):
    a = service.save_announcement(data)
    commit()
    return a


def _announcement(announcement_id: int) -> Announcement:
    return get_or_404(Announcement, announcement_id, _("announcement"))


@blp.patch("/admin/multistore/announcements/<int:announcement_id>")
@platform_api("merchants")
@blp.arguments(MerchantsAnnouncementPatch)
@blp.response(200, MerchantsAnnouncementSchema)
def update_announcement(data, announcement_id):
    a = service.save_announcement(data, _announcement(announcement_id))
    commit()
    return a


@blp.delete("/admin/multistore/announcements/<int:announcement_id>")
@platform_api("merchants")
@blp.response(204)
def delete_announcement(announcement_id):
    db.session.delete(_announcement(announcement_id))
    commit()
    return ""
