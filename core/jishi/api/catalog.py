"""Catalog API (SPEC K4, K14): product listing and detail, categories, tags.

Query budget (tests/api/test_catalog_queries.py): a product page is one
statement (plus the bearer-token lookup when signed in) whatever its size;
a product detail is at most four, token lookup included.
"""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, missing, validate

from jishi.api.common import (
    Blueprint,
    DateTime,
    Money,
    StrictInt,
    fail,
    json_response,
    not_found,
    query_arguments,
)
from jishi.catalog import service
from jishi.catalog.service import MAX_ID, MAX_PRICE
from jishi.checkout.service import CheckoutLine, line_key, price_lines
from jishi.i18n import gettext as _
from jishi.reports import tracking

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Products, categories and tags")


# --- Schemas ---------------------------------------------------------------


class CatalogListArgsSchema(Schema):
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "keyword (any length, Chinese too)"})
    category_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "includes subcategories"}
    )
    tag_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    seller_id = fields.Integer(validate=validate.Range(min=0, max=MAX_ID))
    min_price = fields.Integer(validate=validate.Range(min=0, max=MAX_PRICE), metadata={"description": "fen"})
    max_price = fields.Integer(validate=validate.Range(min=0, max=MAX_PRICE), metadata={"description": "fen"})
    sort = fields.String(load_default="newest", validate=validate.OneOf(service.SORTS))
    cursor = fields.String(
        validate=validate.Length(max=200), metadata={"description": "next_cursor of the previous page"}
    )
    limit = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "page size, at most JISHI_MAX_PAGE_SIZE"}
    )


class CatalogTagSchema(Schema):
    id = StrictInt()
    name = fields.String()


class CatalogCategoryRefSchema(Schema):
    id = StrictInt()
    name = fields.String()
    parent_id = StrictInt(allow_none=True)


class CatalogProductItemSchema(Schema):
    id = StrictInt()
    name = fields.String()
    subtitle = fields.String()
    image = fields.String()
    price = Money(metadata={"description": "lowest SKU price, fen"})
    original_price = Money(allow_none=True)
    sales = StrictInt()
    seller_id = StrictInt(allow_none=True)
    category_id = StrictInt(allow_none=True)
    is_virtual = fields.Boolean()
    on_shelf = fields.Boolean()


class CatalogProductPageSchema(Schema):
    items = fields.List(fields.Nested(CatalogProductItemSchema))
    next_cursor = fields.String(allow_none=True)


class CatalogImageSchema(Schema):
    url = fields.String()


class CatalogParamSchema(Schema):
    name = fields.String()
    value = fields.String()


class CatalogSpecSchema(Schema):
    name = fields.String()
    values = fields.List(fields.String())


class CatalogSkuSchema(Schema):
    id = StrictInt()
    spec_values = fields.Dict(keys=fields.String(), values=fields.String())
    spec_text = fields.String()
    price = Money()
    original_price = Money(allow_none=True)
    member_price = Money(allow_none=True, metadata={"description": "price for buyers with a member level"})
    your_price = Money(metadata={"description": "the unit price the current buyer pays (member price applied)"})
    price_source = fields.String(metadata={"description": "base, member, or a plugin's source"})
    stock = StrictInt()
    code = fields.String()
    weight_grams = StrictInt()
    is_active = fields.Boolean()


class SellerProfileSchema(Schema):
    id = StrictInt()
    name = fields.String()
    url = fields.String()
    logo = fields.String()
    status = fields.String()
    status_label = fields.String()
    can_sell = fields.Boolean()


class BlockerSchema(Schema):
    code = fields.String()
    message = fields.String()


class CatalogProductDetailSchema(CatalogProductItemSchema):
    seller = fields.Nested(
        SellerProfileSchema, allow_none=True, metadata={"description": "the seller (null: the shop itself)"}
    )
    purchasable = fields.Boolean(metadata={"description": "false when ``blockers`` says why it cannot be bought now"})
    blockers = fields.List(fields.Nested(BlockerSchema))
    description = fields.String()
    category = fields.Nested(CatalogCategoryRefSchema, allow_none=True)
    images = fields.List(fields.Nested(CatalogImageSchema))
    params = fields.List(fields.Nested(CatalogParamSchema))
    specs = fields.List(fields.Nested(CatalogSpecSchema))
    tags = fields.List(fields.Nested(CatalogTagSchema))
    skus = fields.List(fields.Nested(CatalogSkuSchema))
    stock = StrictInt()


class CatalogCategoryNodeSchema(Schema):
    id = StrictInt()
    name = fields.String()
    sort = StrictInt()
    parent_id = StrictInt(allow_none=True)
    image = fields.String()
    children = fields.List(fields.Nested(lambda: CatalogCategoryNodeSchema()))


class SuggestionArgsSchema(Schema):
    q = fields.String(
        required=True, validate=validate.Length(max=50), metadata={"description": "what the buyer has typed so far"}
    )
    limit = fields.Integer(
        load_default=8, validate=validate.Range(min=1, max=service.MAX_SUGGESTIONS), metadata={"description": "at most"}
    )


class SuggestionListSchema(Schema):
    q = fields.String(required=True, metadata={"description": "the q asked for"})
    items = fields.List(
        fields.String(), required=True, metadata={"description": "product names, best sellers first, each once"}
    )


class CatalogTagListSchema(Schema):
    items = fields.List(fields.Nested(CatalogTagSchema))


class CatalogCategoryTreeSchema(Schema):
    items = fields.List(fields.Nested(CatalogCategoryNodeSchema))


# --- Helpers ---------------------------------------------------------------


def page_limit(args) -> int:
    maximum = current_app.config["JISHI_MAX_PAGE_SIZE"]
    limit = args.get("limit") or current_app.config["JISHI_PAGE_SIZE"]
    if limit > maximum:
        fail(422, "invalid", _("At most %(n)d per page.", n=maximum), "limit")
    return limit


def priced_skus(product, user) -> list[dict]:
    """The product's active SKUs with the current buyer's unit price, priced by
    the same ``line_price_rules`` hook as the cart and checkout."""
    skus = [s for s in product.skus if s.is_active]
    lines = [
        CheckoutLine(
            key=line_key(s.id),
            sku_id=s.id,
            product_id=product.id,
            seller_id=product.seller_id,
            category_id=product.category_id,
            name=product.name,
            spec_text=s.spec_text,
            image=product.image,
            quantity=1,
            base_price=s.price,
            stock=s.stock,
            on_shelf=product.on_shelf and s.is_active,
            is_virtual=product.is_virtual,
            weight_grams=s.weight_grams,
            sku=s,
            unit_price=s.price,
        )
        for s in skus
    ]
    price_lines(lines, user)
    out = []
    for s, line in zip(skus, lines):
        out.append(
            {
                "id": s.id,
                "spec_values": s.spec_values or {},
                "spec_text": s.spec_text,
                "price": s.price,
                "original_price": s.original_price,
                "member_price": s.member_price,
                "your_price": line.unit_price,
                "price_source": line.price_source,
                "stock": s.stock,
                "code": s.code,
                "weight_grams": s.weight_grams,
                "is_active": s.is_active,
            }
        )
    return out


def product_detail(product, user, *, all_skus: bool = False) -> dict:
    skus = priced_skus(product, user)
    blockers = service.purchase_blockers(product, user)
    if all_skus:
        active = {s["id"] for s in skus}
        skus += [
            {
                "id": s.id,
                "spec_values": s.spec_values or {},
                "spec_text": s.spec_text,
                "price": s.price,
                "original_price": s.original_price,
                "member_price": s.member_price,
                "your_price": s.price,
                "price_source": "base",
                "stock": s.stock,
                "code": s.code,
                "weight_grams": s.weight_grams,
                "is_active": s.is_active,
            }
            for s in product.skus
            if s.id not in active
        ]
    return {
        "id": product.id,
        "name": product.name,
        "subtitle": product.subtitle,
        "image": product.image,
        "price": product.price,
        "original_price": product.original_price,
        "sales": product.sales,
        "seller_id": product.seller_id,
        "category_id": product.category_id,
        "is_virtual": product.is_virtual,
        "on_shelf": product.on_shelf,
        "description": product.description,
        "category": product.category,
        "images": product.images,
        "params": product.params,
        "specs": product.specs,
        "tags": product.tags,
        "skus": skus,
        "stock": sum(s.stock for s in product.skus if s.is_active),
        "seller": service.seller_profiles([product.seller_id]).get(product.seller_id),
        "purchasable": not blockers,
        "blockers": blockers,
    }


def dumper(schema_class):
    """A function giving what ``schema_class().dump(obj)`` gives (a class or
    an instance; ``obj`` a dict or an object such as an ORM instance), made
    once from the schema's fields, for the hot responses (the product
    detail's marshmallow dump walked ~40 field objects per product; the
    checkout's preview and placement use it too).

    Integer, String and Boolean fields, ``Nested``, ``List`` and ``Dict``
    of them are converted here as marshmallow converts them (a value of
    None stays None, a missing attribute or key leaves the field out);
    every other field (date-times, functions, methods) is serialised by the
    field itself exactly as ``Schema.dump`` does (``field.serialize``); a
    schema with pre/post-dump hooks or dump defaults, an attribute path or
    an object read by ``obj[key]`` is dumped by marshmallow. Asserted
    against the schema's dump in tests/api/test_catalog_fastpath.py and
    tests/plugins/test_checkout_fastpath.py."""
    schema = schema_class() if isinstance(schema_class, type) else schema_class
    if schema._hooks or any(f.dump_default is not missing for f in schema.dump_fields.values()):
        return schema.dump
    steps = []
    for name, field in schema.dump_fields.items():
        attr = field.attribute or name
        if "." in attr:
            return schema.dump
        key = field.data_key if field.data_key is not None else name
        steps.append((attr, key, _value_dumper(field, top=True), field))
    accessor = schema.get_attribute

    def dump(obj):
        out = {}
        is_dict = isinstance(obj, dict)
        if not is_dict and hasattr(obj, "__getitem__"):  # marshmallow tries obj[key] first
            return schema.dump(obj)
        for attr, key, convert, field in steps:
            if convert is None:
                value = field.serialize(attr, obj, accessor=accessor)
            else:
                value = obj.get(attr, missing) if is_dict else getattr(obj, attr, missing)
                if value is not missing:
                    value = convert(value)
            if value is not missing:
                out[key] = value
        return out

    return dump


def _value_dumper(field, top: bool = False):
    """``field._serialize`` of one value for the field types converted here;
    for any other type None at the top of a schema (the field serialises
    itself there, :func:`dumper`), else marshmallow's own ``_serialize``."""
    if isinstance(field, fields.Integer) and not field.as_string and field.num_type is int:
        return _int
    if type(field) is fields.String:
        return _str
    if type(field) is fields.Boolean:
        if fields.Boolean._serialize is fields.Field._serialize:
            return _same  # (a Boolean without its own _serialize dumps the value as it is)
        return lambda v: field._serialize(v, None, None)  # its truthy / falsy sets
    if type(field) is fields.Nested and not isinstance(field.nested, (str, type(lambda: None))):
        sub = dumper(field.schema)
        if field.schema.many or field.many:
            return lambda v: None if v is None else [sub(x) for x in v]
        return lambda v: None if v is None else sub(v)
    if type(field) is fields.List:
        inner = _value_dumper(field.inner)
        return lambda v: None if v is None else [inner(x) for x in v]
    if type(field) is fields.Dict and field.key_field is not None and field.value_field is not None:
        k, val = _value_dumper(field.key_field), _value_dumper(field.value_field)
        return lambda v: None if v is None else {k(a): val(b) for a, b in v.items()}
    if type(field) is DateTime:  # (a None, most of an order's date-times, is None; a value goes through the field)
        return lambda v: None if v is None else field._serialize(v, None, None)
    if top:
        return None
    return lambda v: field._serialize(v, None, None)


def _same(v):
    return v


def _int(v):
    return None if v is None else int(v)


def _str(v):
    return None if v is None else (v.decode("utf-8") if isinstance(v, bytes) else str(v))


_dump_detail = None


def detail_response(detail: dict):
    """``product_detail``'s dict as CatalogProductDetailSchema dumps it,
    answered as UTF-8 JSON (the response schema still documents it)."""
    global _dump_detail
    if _dump_detail is None:
        _dump_detail = dumper(CatalogProductDetailSchema)
    return json_response(_dump_detail(detail))


def _user():
    """The signed-in buyer (the User itself, not Flask-Login's proxy: the
    hooks it is handed read its attributes without a context look-up
    each), else None."""
    user = current_user._get_current_object()
    return user if user.is_authenticated else None


# --- Endpoints -------------------------------------------------------------


# The product list is the hottest request of a shop, so its few query
# arguments are checked by hand (:func:`parse_list_args`) instead of through
# webargs; CatalogListArgsSchema still documents them in the OpenAPI document
# (``query_arguments``), and the errors have the same shape as webargs': a
# 422 ``{"code": "invalid", "message": ..., "field": ...}`` naming the first
# bad field in the schema's order, with marshmallow's messages.


def _arg_rules(schema: Schema) -> tuple:
    """(name, kind, rule) for each field of ``schema``, in its order, read
    from the schema itself so the checks and the documentation agree:
    ``("int", (min, max))``, ``("choice", choices)`` or ``("text", max_len)``."""
    rules = []
    for name, field in schema.fields.items():
        by_type = {type(v): v for v in field.validators}
        if isinstance(field, fields.Integer):
            rng = by_type[validate.Range]
            rules.append((name, "int", (rng.min, rng.max)))
        elif validate.OneOf in by_type:
            rules.append((name, "choice", tuple(by_type[validate.OneOf].choices)))
        else:
            rules.append((name, "text", by_type[validate.Length].max))
    return tuple(rules)


_LIST_ARGS = _arg_rules(CatalogListArgsSchema())
_LIST_DEFAULTS = {n: f.load_default for n, f in CatalogListArgsSchema().fields.items() if f.load_default is not missing}


def parse_list_args(query) -> dict:
    """``request.args`` of GET /products as CatalogListArgsSchema would load
    them, with the same messages: integers strictly (``[+-]digits``; "1.5",
    "abc" and "" are refused), ranges, choices and lengths checked, unknown
    names ignored, the first value of a repeated name taken. The first bad
    field in the schema's order is a 422 naming it."""
    from jishi.api.messages import translate  # marshmallow's words, in the reader's language

    out = dict(_LIST_DEFAULTS)
    if not query:
        return out
    for name, kind, rule in _LIST_ARGS:
        if name not in query:  # (MultiDict.get raises and catches a KeyError per miss)
            continue
        raw = query[name]
        if kind == "int":
            digits = raw[1:] if raw[:1] in "+-" else raw
            if not (digits.isdigit() and digits.isascii()):
                fail(422, "invalid", translate("Not a valid integer."), name)
            value = int(raw) if len(digits) <= 18 else None
            low, high = rule
            if value is None or not low <= value <= high:
                fail(
                    422,
                    "invalid",
                    translate(f"Must be greater than or equal to {low} and less than or equal to {high}."),
                    name,
                )
            out[name] = value
        elif kind == "choice":
            if raw not in rule:
                fail(422, "invalid", translate("Must be one of: " + ", ".join(rule) + "."), name)
            out[name] = raw
        else:
            if len(raw) > rule:
                fail(422, "invalid", translate(f"Longer than maximum length {rule}."), name)
            out[name] = raw
    return out


@blp.get("/products")
@query_arguments(CatalogListArgsSchema)
@blp.response(200, CatalogProductPageSchema)
def list_products():
    """Products on sale, one page at a time (keyset pagination: pass
    ``next_cursor`` back as ``cursor``; ``null`` means the last page)."""
    args = parse_list_args(request.args)
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
    )
    kind = "search" if args.get("q") else "category" if args.get("category_id") else "list"
    tracking.track(kind, args.get("category_id") or 0, args.get("seller_id"))
    return listing_response(items, cursor)


_ITEM_KEYS = tuple(c.key for c in service.LISTING_COLUMNS)


def listing_response(items, cursor):
    """The page as JSON without a marshmallow dump: the rows already hold
    exactly the fields of CatalogProductItemSchema (the hot path; a test
    checks the output against the schema)."""
    keys = _ITEM_KEYS
    return json_response({"items": [dict(zip(keys, row)) for row in items], "next_cursor": cursor})


@blp.get("/products/<int(max=2147483647):product_id>")
@blp.response(200, CatalogProductDetailSchema)
def get_product(product_id: int):
    """A product on sale with its SKUs (each with the price this buyer pays),
    images, parameters, specs and tags."""
    # The product with its category and SKUs, then ONE statement for its
    # images, parameters, specs, tags and every plugin's product_page_loaders
    # rows, which the hooks below take (service.product_loaded) instead of
    # reading for themselves.
    user = _user()
    product, _loaded = service.product_page(product_id, user=user, slots=False)
    if product is None:
        not_found(_("product"))
    tracking.track("product", product.id, product.seller_id)
    return detail_response(product_detail(product, user))


@blp.get("/search/suggestions")
@blp.arguments(SuggestionArgsSchema, location="query")
@blp.response(200, SuggestionListSchema)
def search_suggestions(args):
    """Product names for a search box being typed (搜索联想): products on
    sale matching every word of ``q`` as ``GET /products?q=`` does, best
    sellers first. A mini-program asks as the buyer types; the storefront's
    header does too (``shop.js``)."""
    q = args["q"].strip()
    return {"q": q, "items": service.suggestions(q, args["limit"])}


@blp.get("/categories")
@blp.response(200, CatalogCategoryTreeSchema)
def categories():
    """Every category as a tree."""
    return {"items": service.category_tree()}


@blp.get("/tags")
@blp.response(200, CatalogTagListSchema)
def tags():
    """Every product tag."""
    return {"items": service.list_tags()}
