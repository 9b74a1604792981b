"""JSON API of merchant products and comments (MS7, MS14).

Merchant staff (``/api/v1/merchant/...``): products need the ``products``
permission, comments the ``comments`` permission; the merchant always comes
from the signed-in principal, and another merchant's product or review is
404. The platform (``/api/v1/admin/multistore/...``): the review queue, every
merchant product with its merchant, list / unlist / pin / delete, and
merchant product reviews.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import DateTime, Money, StrictBool, StrictInt, UtcDateTime, not_found
from jishi.catalog.service import MAX_ID, MAX_PRICE, MAX_STOCK, seller_profiles
from marshmallow import Schema, fields, validate

from jishi_multistore import products as service
from jishi_multistore.blueprints import api
from jishi_multistore.models import REVIEW_STATUSES
from jishi_multistore.principal import merchant, merchant_api

MERCHANT = "/merchant"
ADMIN = "/admin/multistore"


# --- Schemas ---------------------------------------------------------------------


def Id(**kwargs):
    kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
    return StrictInt(**kwargs)


class MsProdSpecArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    values = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)), required=True, validate=validate.Length(min=1, max=50)
    )


class MsProdParamArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    value = fields.String(required=True, validate=validate.Length(max=200))


class MsProdSkuArgs(Schema):
    id = Id(metadata={"description": "an existing SKU to update; absent: new"})
    spec_values = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    price = Money(required=True, validate=validate.Range(min=0, max=MAX_PRICE))
    original_price = Money(allow_none=True, validate=validate.Range(min=0, max=MAX_PRICE))
    member_price = Money(allow_none=True, validate=validate.Range(min=0, max=MAX_PRICE))
    stock = StrictInt(load_default=0, validate=validate.Range(min=0, max=MAX_STOCK))
    weight_grams = StrictInt(load_default=0, validate=validate.Range(min=0, max=MAX_STOCK))
    code = fields.String(load_default="", validate=validate.Length(max=60))


class MsProdProductFields(Schema):
    subtitle = fields.String(validate=validate.Length(max=200))
    description = fields.String(validate=validate.Length(max=20000))
    category_id = Id(metadata={"description": "one of the platform's categories"})
    tags = fields.List(
        fields.String(validate=validate.Length(max=40)),
        validate=validate.Length(max=20),
        metadata={"description": "names of existing platform tags"},
    )
    images = fields.List(fields.String(validate=validate.Length(min=1, max=300)), validate=validate.Length(max=20))
    params = fields.List(fields.Nested(MsProdParamArgs), validate=validate.Length(max=50))
    specs = fields.List(fields.Nested(MsProdSpecArgs), validate=validate.Length(max=5))
    is_virtual = StrictBool()
    listing = fields.String(
        validate=validate.OneOf(service.LISTINGS), metadata={"description": "on_approval, stay_off or at_time"}
    )
    list_at = UtcDateTime(
        default_timezone=None, allow_none=True, metadata={"description": "with listing=at_time (UTC when no offset)"}
    )
    seller_id = fields.Raw(
        load_only=True, metadata={"description": "ignored: a product always belongs to the signed-in merchant"}
    )


class MsProdProductCreateArgs(MsProdProductFields):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    category_id = Id(required=True, metadata={"description": "one of the platform's categories"})
    skus = fields.List(fields.Nested(MsProdSkuArgs), required=True, validate=validate.Length(min=1, max=600))
    listing = fields.String(load_default=service.ON_APPROVAL, validate=validate.OneOf(service.LISTINGS))


class MsProdProductPatchArgs(MsProdProductFields):
    name = fields.String(validate=validate.Length(min=1, max=120))
    skus = fields.List(fields.Nested(MsProdSkuArgs), validate=validate.Length(min=1, max=600))


class MsProdShelfArgs(Schema):
    on_shelf = StrictBool(required=True)


class MsProdRejectArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class MsProdListArgs(Schema):
    review_status = fields.String(validate=validate.OneOf(REVIEW_STATUSES))
    on_shelf = fields.Boolean()
    pinned = fields.Boolean()
    q = fields.String(validate=validate.Length(max=50))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    limit = fields.Integer(load_default=service.PAGE, validate=validate.Range(min=1, max=service.MAX_PAGE))


class MsProdAdminListArgs(MsProdListArgs):
    merchant_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class MsProdMerchantRefSchema(Schema):
    id = StrictInt()
    name = fields.String()
    url = fields.String()


class MsProdSkuSchema(Schema):
    id = StrictInt()
    spec_values = fields.Dict(keys=fields.String(), values=fields.String())
    price = Money()
    original_price = Money(allow_none=True)
    member_price = Money(allow_none=True)
    stock = StrictInt()
    code = fields.String()
    weight_grams = StrictInt()
    is_active = fields.Boolean()


class MsProdProductSchema(Schema):
    id = StrictInt()
    name = fields.String()
    subtitle = fields.String()
    image = fields.String()
    price = Money()
    stock = StrictInt()
    sales = StrictInt()
    on_shelf = fields.Boolean()
    seller_id = StrictInt()
    category_id = StrictInt(allow_none=True)
    category = fields.String(allow_none=True)
    merchant = fields.Nested(MsProdMerchantRefSchema)
    review_status = fields.String(metadata={"description": "pending, approved or rejected"})
    reject_reason = fields.String()
    listing = fields.String()
    list_at = DateTime(allow_none=True)
    pinned = fields.Boolean()
    submitted_at = DateTime()
    reviewed_at = DateTime(allow_none=True)


class MsProdProductDetailSchema(MsProdProductSchema):
    description = fields.String()
    is_virtual = fields.Boolean()
    tags = fields.List(fields.String())
    images = fields.List(fields.String())
    params = fields.List(fields.Dict())
    specs = fields.List(fields.Dict())
    skus = fields.List(fields.Nested(MsProdSkuSchema))


class MsProdProductPageSchema(Schema):
    items = fields.List(fields.Nested(MsProdProductSchema))
    page = StrictInt()
    has_more = fields.Boolean()
    counts = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "products per review status"}
    )


class MsProdOptionSchema(Schema):
    id = StrictInt()
    name = fields.String()
    parent_id = StrictInt(allow_none=True)


class MsProdCatalogOptionsSchema(Schema):
    categories = fields.List(fields.Nested(MsProdOptionSchema))
    tags = fields.List(fields.Nested(MsProdOptionSchema))
    params = fields.List(fields.String(), metadata={"description": "parameter names (empty: any)"})
    review_enabled = fields.Boolean()
    listings = fields.List(fields.String())


class MsProdCommentListArgs(Schema):
    product_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    include_deleted = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    limit = fields.Integer(load_default=service.PAGE, validate=validate.Range(min=1, max=service.MAX_PAGE))


class MsProdAdminCommentListArgs(MsProdCommentListArgs):
    merchant_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class MsProdReplyArgs(Schema):
    reply = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class MsProdCommentSchema(Schema):
    id = StrictInt()
    product_id = StrictInt(allow_none=True)
    product_name = fields.String(allow_none=True)
    seller_id = StrictInt()
    merchant = fields.Nested(MsProdMerchantRefSchema)
    rating = StrictInt()
    content = fields.String()
    author = fields.String()
    is_visible = fields.Boolean()
    reply = fields.String()
    replied_at = DateTime(allow_none=True)
    deleted_at = DateTime(allow_none=True)
    deleted_by = fields.String()
    created_at = DateTime()


class MsProdCommentPageSchema(Schema):
    items = fields.List(fields.Nested(MsProdCommentSchema))
    page = StrictInt()
    has_more = fields.Boolean()


# --- Serialising ------------------------------------------------------------------


def _merchant_ref(merchant_id, name, profiles) -> dict:
    profile = profiles.get(merchant_id)
    return {"id": merchant_id, "name": name or (profile.name if profile else ""), "url": profile.url if profile else ""}


def product_item(product, state, merchant_name: str, profiles: dict) -> dict:
    return {
        "id": product.id,
        "name": product.name,
        "subtitle": product.subtitle,
        "image": product.image,
        "price": product.price,
        "stock": sum(s.stock for s in product.skus if s.is_active),
        "sales": product.sales,
        "on_shelf": product.on_shelf,
        "seller_id": product.seller_id,
        "category_id": product.category_id,
        "category": product.category.name if product.category else None,
        "merchant": _merchant_ref(product.seller_id, merchant_name, profiles),
        "review_status": state.review_status,
        "reject_reason": state.reject_reason,
        "listing": state.listing,
        "list_at": state.list_at,
        "pinned": state.pinned,
        "submitted_at": state.submitted_at,
        "reviewed_at": state.reviewed_at,
    }


def product_detail(product) -> dict:
    state = service.state_of(product)
    names = service.merchant_names([product.seller_id])
    out = product_item(product, state, names.get(product.seller_id, ""), seller_profiles([product.seller_id]))
    out.update(
        description=product.description,
        is_virtual=product.is_virtual,
        tags=[t.name for t in product.tags],
        images=[i.url for i in product.images],
        params=[{"name": p.name, "value": p.value} for p in product.params],
        specs=[{"name": s.name, "values": list(s.values)} for s in product.specs],
        skus=[
            {
                "id": s.id,
                "spec_values": s.spec_values or {},
                "price": s.price,
                "original_price": s.original_price,
                "member_price": s.member_price,
                "stock": s.stock,
                "code": s.code,
                "weight_grams": s.weight_grams,
                "is_active": s.is_active,
            }
            for s in product.skus
        ],
    )
    return out


def product_page(args, merchant_id) -> dict:
    rows, more = service.list_products(
        merchant_id=merchant_id,
        review_status=args.get("review_status"),
        on_shelf=args.get("on_shelf"),
        pinned=args.get("pinned"),
        q=args.get("q"),
        page=args["page"],
        limit=args["limit"],
    )
    profiles = seller_profiles([p.seller_id for p, _s, _m in rows])
    return {
        "items": [product_item(p, s, m.name, profiles) for p, s, m in rows],
        "page": args["page"],
        "has_more": more,
        "counts": service.review_counts(merchant_id),
    }


def _author(review) -> str:
    from jishi.i18n import gettext as _

    if review.is_anonymous or review.user is None:
        return _("Anonymous")
    name = review.user.name or review.user.phone
    return name if review.user.name else name[:3] + "****" + name[-4:]


def comment_item(review, product, merchant_obj, profiles) -> dict:
    return {
        "id": review.id,
        "product_id": review.product_id,
        "product_name": product.name if product else None,
        "seller_id": review.seller_id,
        "merchant": _merchant_ref(review.seller_id, merchant_obj.name if merchant_obj else "", profiles),
        "rating": review.rating,
        "content": review.content,
        "author": _author(review),
        "is_visible": review.is_visible,
        "reply": review.reply,
        "replied_at": review.replied_at,
        "deleted_at": review.deleted_at,
        "deleted_by": review.deleted_by,
        "created_at": review.created_at,
    }


def comment_page(args, merchant_id) -> dict:
    rows, more = service.list_comments(
        merchant_id=merchant_id,
        product_id=args.get("product_id"),
        include_deleted=args["include_deleted"],
        page=args["page"],
        limit=args["limit"],
    )
    profiles = seller_profiles([r.seller_id for r, _p, _m in rows])
    return {"items": [comment_item(r, p, m, profiles) for r, p, m in rows], "page": args["page"], "has_more": more}


def _one_comment(review) -> dict:
    from jishi.catalog.models import Product
    from jishi.db import db

    from jishi_multistore.models import Merchant

    product = db.session.get(Product, review.product_id) if review.product_id else None
    m = db.session.get(Merchant, review.seller_id)
    return comment_item(review, product, m, seller_profiles([review.seller_id]))


def _split_listing(args: dict) -> tuple[dict, dict]:
    listing = {k: args.pop(k) for k in ("listing", "list_at") if k in args}
    args.pop("seller_id", None)
    return args, listing


# --- Merchant: products ---------------------------------------------------------


def _own_product(product_id):
    product = service.merchant_product(merchant().id, product_id)
    if product is None:
        not_found("product")
    return product


@api.get(f"{MERCHANT}/product-options")
@merchant_api("products")
@api.response(200, MsProdCatalogOptionsSchema)
def merchant_product_options():
    """The platform's categories, tags and parameter names a merchant may use."""
    opts = service.catalog_options()
    return {
        "categories": [{"id": c.id, "name": c.name, "parent_id": c.parent_id} for c in opts["categories"]],
        "tags": [{"id": t.id, "name": t.name, "parent_id": None} for t in opts["tags"]],
        "params": opts["params"],
        "review_enabled": service.review_enabled(),
        "listings": list(service.LISTINGS),
    }


@api.get(f"{MERCHANT}/products")
@merchant_api("products")
@api.arguments(MsProdListArgs, location="query")
@api.response(200, MsProdProductPageSchema)
def merchant_products(args):
    """The merchant's products, filterable by review status and shelf (MS7)."""
    return product_page(args, merchant().id)


@api.post(f"{MERCHANT}/products")
@merchant_api("products")
@api.arguments(MsProdProductCreateArgs)
@api.response(201, MsProdProductDetailSchema)
def merchant_product_create(args):
    """Add a product in the platform's categories and tags; with product review
    on it waits for the platform, otherwise it is approved at once. ``listing``
    says what happens on approval."""
    data, listing = _split_listing(dict(args))
    product = service.create_product(
        merchant(), data, listing=listing.get("listing", service.ON_APPROVAL), list_at=listing.get("list_at")
    )
    return product_detail(service.merchant_product(merchant().id, product.id))


@api.get(f"{MERCHANT}/products/<int:product_id>")
@merchant_api("products")
@api.response(200, MsProdProductDetailSchema)
def merchant_product_get(product_id):
    return product_detail(_own_product(product_id))


@api.patch(f"{MERCHANT}/products/<int:product_id>")
@merchant_api("products")
@api.arguments(MsProdProductPatchArgs)
@api.response(200, MsProdProductDetailSchema)
def merchant_product_update(args, product_id):
    """Edit the merchant's product (not reviewed again once approved; a
    rejected product is resubmitted)."""
    product = _own_product(product_id)
    data, listing = _split_listing(dict(args))
    data.update(listing)
    service.update_product(merchant(), product, data)
    return product_detail(_own_product(product_id))


@api.post(f"{MERCHANT}/products/<int:product_id>/shelf")
@merchant_api("products")
@api.arguments(MsProdShelfArgs)
@api.response(200, MsProdProductDetailSchema)
def merchant_product_shelf(args, product_id):
    """List or unlist the merchant's own approved product."""
    product = _own_product(product_id)
    service.set_shelf(product, args["on_shelf"])
    return product_detail(_own_product(product_id))


@api.delete(f"{MERCHANT}/products/<int:product_id>")
@merchant_api("products")
@api.response(204)
def merchant_product_delete(product_id):
    """Delete a product never ordered (409 otherwise: unlist it instead)."""
    service.delete(_own_product(product_id))
    return ""


# --- Merchant: comments -------------------------------------------------------------


def _own_comment(review_id):
    review = service.merchant_comment(merchant().id, review_id)
    if review is None:
        not_found("review")
    return review


@api.get(f"{MERCHANT}/comments")
@merchant_api("comments")
@api.arguments(MsProdCommentListArgs, location="query")
@api.response(200, MsProdCommentPageSchema)
def merchant_comments(args):
    """Reviews of the merchant's products, newest first (MS14)."""
    return comment_page(args, merchant().id)


@api.post(f"{MERCHANT}/comments/<int:review_id>/reply")
@merchant_api("comments")
@api.arguments(MsProdReplyArgs)
@api.response(200, MsProdCommentSchema)
def merchant_comment_reply(args, review_id):
    review = service.reply_comment(_own_comment(review_id), current_user, args["reply"])
    return _one_comment(review)


@api.delete(f"{MERCHANT}/comments/<int:review_id>")
@merchant_api("comments")
@api.response(200, MsProdCommentSchema)
def merchant_comment_delete(review_id):
    review = service.delete_comment(_own_comment(review_id), current_user)
    return _one_comment(review)


# --- Platform ------------------------------------------------------------------------


def _merchant_product(product_id):
    product = service.merchant_owned(product_id)
    if product is None:
        not_found("product")
    return product


@api.get(f"{ADMIN}/products")
@platform_api("products")
@api.arguments(MsProdAdminListArgs, location="query")
@api.response(200, MsProdProductPageSchema)
def admin_products(args):
    """Every merchant product with its merchant, pinned first (filter by
    merchant, review status, shelf)."""
    return product_page(args, args.get("merchant_id"))


@api.get(f"{ADMIN}/products/pending")
@platform_api("products")
@api.arguments(MsProdAdminListArgs, location="query")
@api.response(200, MsProdProductPageSchema)
def admin_product_queue(args):
    """The review queue: products awaiting the platform's review (产品审核)."""
    args["review_status"] = "pending"
    return product_page(args, args.get("merchant_id"))


@api.get(f"{ADMIN}/products/<int:product_id>")
@platform_api("products")
@api.response(200, MsProdProductDetailSchema)
def admin_product_get(product_id):
    return product_detail(_merchant_product(product_id))


@api.post(f"{ADMIN}/products/<int:product_id>/approve")
@platform_api("products")
@api.response(200, MsProdProductDetailSchema)
def admin_product_approve(product_id):
    """Approve a pending product; its listing choice applies now."""
    service.approve(_merchant_product(product_id))
    return product_detail(_merchant_product(product_id))


@api.post(f"{ADMIN}/products/<int:product_id>/reject")
@platform_api("products")
@api.arguments(MsProdRejectArgs)
@api.response(200, MsProdProductDetailSchema)
def admin_product_reject(args, product_id):
    service.reject(_merchant_product(product_id), args["reason"])
    return product_detail(_merchant_product(product_id))


@api.post(f"{ADMIN}/products/<int:product_id>/shelf")
@platform_api("products")
@api.arguments(MsProdShelfArgs)
@api.response(200, MsProdProductDetailSchema)
def admin_product_shelf(args, product_id):
    """List or unlist a merchant product (approved ones only go on sale)."""
    service.set_shelf(_merchant_product(product_id), args["on_shelf"])
    return product_detail(_merchant_product(product_id))


@api.post(f"{ADMIN}/products/<int:product_id>/pin")
@platform_api("products")
@api.response(200, MsProdProductDetailSchema)
def admin_product_pin(product_id):
    """Pin (置顶): first in the platform list and on the merchant's shop page."""
    service.set_pinned(_merchant_product(product_id), True)
    return product_detail(_merchant_product(product_id))


@api.delete(f"{ADMIN}/products/<int:product_id>/pin")
@platform_api("products")
@api.response(200, MsProdProductDetailSchema)
def admin_product_unpin(product_id):
    service.set_pinned(_merchant_product(product_id), False)
    return product_detail(_merchant_product(product_id))


@api.delete(f"{ADMIN}/products/<int:product_id>")
@platform_api("products")
@api.response(204)
def admin_product_delete(product_id):
    """Delete a merchant product never ordered (409 otherwise: unlist it)."""
    service.delete(_merchant_product(product_id))
    return ""


@api.get(f"{ADMIN}/comments")
@platform_api("comments")
@api.arguments(MsProdAdminCommentListArgs, location="query")
@api.response(200, MsProdCommentPageSchema)
def admin_comments(args):
    """Reviews of merchant products (filter by merchant), newest first."""
    return comment_page(args, args.get("merchant_id"))


@api.delete(f"{ADMIN}/comments/<int:review_id>")
@platform_api("comments")
@api.response(200, MsProdCommentSchema)
def admin_comment_delete(review_id):
    review = service.merchant_comment(None, review_id)
    if review is None:
        not_found("review")
    return _one_comment(service.delete_comment(review, current_user))
