"""Platform catalog and user administration API (SPEC K4, K5, K15).

Products, SKU stock, categories and tags: platform staff and admins.
Users (roles, member levels) and member levels: platform admins only.
"""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from jishi.access import ADMIN_ONLY, platform_api
from jishi.accounts import service as accounts
from jishi.accounts.models import ROLES, MemberLevel, User
from jishi.api.accounts import (
    AccountMemberLevelSchema,
    AccountUserSchema,
)
from jishi.api.catalog import (
    CatalogCategoryNodeSchema,
    CatalogCategoryRefSchema,
    CatalogCategoryTreeSchema,
    CatalogListArgsSchema,
    CatalogProductDetailSchema,
    CatalogProductPageSchema,
    CatalogSkuSchema,
    CatalogTagListSchema,
    CatalogTagSchema,
    listing_response,
    page_limit,
    product_detail,
)
from jishi.api.common import (
    Blueprint,
    Money,
    StrictBool,
    StrictInt,
    get_or_404,
    not_found,
)
from jishi.catalog import service
from jishi.catalog.models import Category, Sku, Tag
from jishi.catalog.service import MAX_ID, MAX_PRICE, MAX_SORT, MAX_STOCK
from jishi.db import db
from jishi.i18n import gettext as _

blp = Blueprint(
    "admin_catalog", __name__, url_prefix="/api/v1/admin", description="Platform: catalog, users, member levels"
)


# --- Schemas ---------------------------------------------------------------


class AdminSpecSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    values = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)), required=True, validate=validate.Length(min=1, max=50)
    )


class AdminParamSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    value = fields.String(required=True, validate=validate.Length(max=200))


class AdminSkuArgsSchema(Schema):
    id = StrictInt(
        validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "an existing SKU to update; absent: new"}
    )
    spec_values = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    price = Money(required=True, validate=validate.Range(min=0, max=MAX_PRICE))
    original_price = Money(allow_none=True, validate=validate.Range(min=0, max=MAX_PRICE))
    member_price = Money(allow_none=True, validate=validate.Range(min=0, max=MAX_PRICE))
    stock = StrictInt(load_default=0, validate=validate.Range(min=0, max=MAX_STOCK))
    weight_grams = StrictInt(load_default=0, validate=validate.Range(min=0, max=MAX_STOCK))
    code = fields.String(load_default="", validate=validate.Length(max=60))


class AdminProductArgsSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    subtitle = fields.String(validate=validate.Length(max=200))
    description = fields.String(validate=validate.Length(max=20000))
    category_id = StrictInt(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    tags = fields.List(fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=20))
    images = fields.List(fields.String(validate=validate.Length(min=1, max=300)), validate=validate.Length(max=20))
    params = fields.List(fields.Nested(AdminParamSchema), validate=validate.Length(max=50))
    specs = fields.List(fields.Nested(AdminSpecSchema), validate=validate.Length(max=5))
    skus = fields.List(fields.Nested(AdminSkuArgsSchema), required=True, validate=validate.Length(min=1, max=600))
    on_shelf = StrictBool()
    is_virtual = StrictBool()


class AdminProductPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    subtitle = fields.String(validate=validate.Length(max=200))
    description = fields.String(validate=validate.Length(max=20000))
    category_id = StrictInt(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    tags = fields.List(fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=20))
    images = fields.List(fields.String(validate=validate.Length(min=1, max=300)), validate=validate.Length(max=20))
    params = fields.List(fields.Nested(AdminParamSchema), validate=validate.Length(max=50))
    specs = fields.List(fields.Nested(AdminSpecSchema), validate=validate.Length(max=5))
    skus = fields.List(fields.Nested(AdminSkuArgsSchema), validate=validate.Length(min=1, max=600))
    on_shelf = StrictBool()
    is_virtual = StrictBool()


class AdminListArgsSchema(CatalogListArgsSchema):
    on_shelf = fields.Boolean(metadata={"description": "absent: both"})


class AdminShelfSchema(Schema):
    on_shelf = StrictBool(required=True)


class AdminStockSchema(Schema):
    stock = StrictInt(required=True, validate=validate.Range(min=0, max=MAX_STOCK))


class AdminCategoryArgsSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    parent_id = StrictInt(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    sort = StrictInt(load_default=0, validate=validate.Range(min=-MAX_SORT, max=MAX_SORT))
    image = fields.String(
        validate=validate.Length(max=300), metadata={"description": "an image address, or media:<id> (the platform's)"}
    )


class AdminCategoryPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=60))
    parent_id = StrictInt(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    sort = StrictInt(validate=validate.Range(min=-MAX_SORT, max=MAX_SORT))
    image = fields.String(
        validate=validate.Length(max=300), metadata={"description": "an image address, or media:<id> (the platform's)"}
    )


class AdminTagArgsSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))


class AdminUserListArgsSchema(Schema):
    q = fields.String(validate=validate.Length(max=30))
    role = fields.String(validate=validate.OneOf(ROLES))
    after_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class AdminUserPageSchema(Schema):
    items = fields.List(fields.Nested(AccountUserSchema))
    next_after_id = StrictInt(allow_none=True)


class AdminUserPatchSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    member_level_id = StrictInt(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class AdminMemberLevelArgsSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    rank = StrictInt(load_default=1, validate=validate.Range(min=0, max=1000))


class AdminMemberLevelPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=40))
    rank = StrictInt(validate=validate.Range(min=0, max=1000))


class AdminMemberLevelListSchema(Schema):
    items = fields.List(fields.Nested(AccountMemberLevelSchema))


# --- Products --------------------------------------------------------------


def _product(product_id: int):
    product = service.get_product(product_id, visible_only=False)
    if product is None:
        not_found(_("product"))
    return product


def _detail(product):
    product = service.get_product(product.id, visible_only=False)
    return product_detail(product, None, all_skus=True)


@blp.get("/products")
@platform_api("products")
@blp.arguments(AdminListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CatalogProductPageSchema)
def list_products(**args):
    """Every product, on or off shelf (filter with ``on_shelf``)."""
    limit = page_limit(args)
    items, cursor = service.list_products(
        q=args.get("q"),
        category_id=args.get("category_id"),
        tag_id=args.get("tag_id"),
        min_price=args.get("min_price"),
        max_price=args.get("max_price"),
        seller_id=args.get("seller_id"),
        sort=args["sort"],
        cursor=args.get("cursor"),
        limit=limit,
        on_shelf=args.get("on_shelf"),
    )
    return listing_response(items, cursor)


@blp.post("/products")
@platform_api("products")
@blp.arguments(AdminProductArgsSchema)
@blp.response(201, CatalogProductDetailSchema)
def create_product(data):
    """Create a product with its SKUs (prices in fen; spec values must match the specs)."""
    product = service.save_product(data)
    return _detail(product)


@blp.get("/products/<int(max=2147483647):product_id>")
@platform_api("products")
@blp.response(200, CatalogProductDetailSchema)
def get_product(product_id: int):
    return product_detail(_product(product_id), None, all_skus=True)


@blp.patch("/products/<int(max=2147483647):product_id>")
@platform_api("products")
@blp.arguments(AdminProductPatchSchema)
@blp.response(200, CatalogProductDetailSchema)
def update_product(data, product_id: int):
    """Change a product; SKUs left out of ``skus`` are deactivated."""
    product = _product(product_id)
    product = service.save_product(data, product)
    return _detail(product)


@blp.post("/products/<int(max=2147483647):product_id>/shelf")
@platform_api("products")
@blp.arguments(AdminShelfSchema)
@blp.response(200, CatalogProductDetailSchema)
def shelf(data, product_id: int):
    """Put a product on or off shelf."""
    product = _product(product_id)
    service.set_on_shelf(product, data["on_shelf"])
    return _detail(product)


@blp.delete("/products/<int(max=2147483647):product_id>")
@platform_api("products")
@blp.response(204)
def delete_product(product_id: int):
    """Delete a product that was never ordered (409 otherwise: take it off shelf)."""
    product = _product(product_id)
    service.delete_product(product)


@blp.put("/skus/<int(max=2147483647):sku_id>/stock")
@platform_api("products")
@blp.arguments(AdminStockSchema)
@blp.response(200, CatalogSkuSchema)
def set_stock(data, sku_id: int):
    """Set a SKU's stock (a stock take)."""
    sku = db.session.get(Sku, sku_id)
    if sku is None:
        not_found(_("SKU"))
    service.set_stock(sku, data["stock"])
    return {
        "id": sku.id,
        "spec_values": sku.spec_values or {},
        "spec_text": sku.spec_text,
        "price": sku.price,
        "original_price": sku.original_price,
        "member_price": sku.member_price,
        "your_price": sku.price,
        "price_source": "base",
        "stock": sku.stock,
        "code": sku.code,
        "weight_grams": sku.weight_grams,
        "is_active": sku.is_active,
    }


# --- Categories and tags ---------------------------------------------------


def _category(category_id: int) -> Category:
    return get_or_404(Category, category_id, _("category"))


@blp.get("/categories")
@platform_api("products")
@blp.response(200, CatalogCategoryTreeSchema)
def categories():
    return {"items": service.category_tree()}


@blp.post("/categories")
@platform_api("products")
@blp.arguments(AdminCategoryArgsSchema)
@blp.response(201, CatalogCategoryRefSchema)
def create_category(data):
    return service.save_category(data)


@blp.patch("/categories/<int(max=2147483647):category_id>")
@platform_api("products")
@blp.arguments(AdminCategoryPatchSchema)
@blp.response(200, CatalogCategoryRefSchema)
def update_category(data, category_id: int):
    """Rename, reorder or move a category (its subtree moves with it)."""
    category = _category(category_id)
    return service.save_category(data, category)


@blp.delete("/categories/<int(max=2147483647):category_id>")
@platform_api("products")
@blp.response(204)
def delete_category(category_id: int):
    """Delete an empty category (409 while it has subcategories or products)."""
    service.delete_category(_category(category_id))


@blp.get("/tags")
@platform_api("products")
@blp.response(200, CatalogTagListSchema)
def tags():
    return {"items": service.list_tags()}


@blp.post("/tags")
@platform_api("products")
@blp.arguments(AdminTagArgsSchema)
@blp.response(201, CatalogTagSchema)
def create_tag(data):
    return service.save_tag(data["name"])


def _tag(tag_id: int) -> Tag:
    return get_or_404(Tag, tag_id, _("tag"))


@blp.patch("/tags/<int(max=2147483647):tag_id>")
@platform_api("products")
@blp.arguments(AdminTagArgsSchema)
@blp.response(200, CatalogTagSchema)
def update_tag(data, tag_id: int):
    return service.save_tag(data["name"], _tag(tag_id))


@blp.delete("/tags/<int(max=2147483647):tag_id>")
@platform_api("products")
@blp.response(204)
def delete_tag(tag_id: int):
    service.delete_tag(_tag(tag_id))


# --- Users and member levels (platform admins) -----------------------------


@blp.get("/users")
@platform_api(ADMIN_ONLY)
@blp.arguments(AdminUserListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, AdminUserPageSchema)
def users(**args):
    """Users, newest first; pass ``next_after_id`` back as ``after_id``."""
    limit = page_limit(args)
    items, nxt = accounts.list_users(q=args.get("q"), role=args.get("role"), after_id=args.get("after_id"), limit=limit)
    return {"items": items, "next_after_id": nxt}


@blp.patch("/users/<int(max=2147483647):user_id>")
@platform_api(ADMIN_ONLY)
@blp.arguments(AdminUserPatchSchema)
@blp.response(200, AccountUserSchema)
def update_user(data, user_id: int):
    """Set a user's role and/or member level (``member_level_id: null`` removes it)."""
    user = db.session.get(User, user_id)
    if user is None:
        not_found(_("user"))
    if "role" in data:
        accounts.set_role(user, data["role"], actor=current_user)
    if "member_level_id" in data:
        accounts.set_member_level(user, data["member_level_id"])
    return user


def _level(level_id: int) -> MemberLevel:
    return get_or_404(MemberLevel, level_id, _("member level"))


@blp.get("/member-levels")
@platform_api(ADMIN_ONLY)
@blp.response(200, AdminMemberLevelListSchema)
def member_levels():
    return {"items": accounts.list_member_levels()}


@blp.post("/member-levels")
@platform_api(ADMIN_ONLY)
@blp.arguments(AdminMemberLevelArgsSchema)
@blp.response(201, AccountMemberLevelSchema)
def create_member_level(data):
    return accounts.save_member_level(data)


@blp.patch("/member-levels/<int(max=2147483647):level_id>")
@platform_api(ADMIN_ONLY)
@blp.arguments(AdminMemberLevelPatchSchema)
@blp.response(200, AccountMemberLevelSchema)
def update_member_level(data, level_id: int):
    return accounts.save_member_level(data, _level(level_id))


@blp.delete("/member-levels/<int(max=2147483647):level_id>")
@platform_api(ADMIN_ONLY)
@blp.response(204)
def delete_member_level(level_id: int):
    accounts.delete_member_level(_level(level_id))


__all__ = ["CatalogCategoryNodeSchema", "blp"]
