"""Shopping options JSON API (issue 18), under ``/api/v1/shopping-options``.

- ``GET /shopping-options/products/<id>``  (anyone) the options that apply
  to a visible product, and for a signed-in buyer the units still allowed
  under the per-buyer limit and whether the buyer's level may buy it.
- ``GET|PUT /shopping-options/admin/defaults`` (platform staff, permission
  ``settings``) the platform's defaults and caps, validated (422 naming the
  field: min above max, a default above its cap); also the settings panel.
- ``GET|PUT /shopping-options/seller/products/<id>`` (``seller_api("products")``)
  a product's overrides and what applies; platform staff acting for the
  platform reach every product, a merchant's admin its own (another
  merchant's is 404), clerks are 403. Bad input: 422 naming the field.

The platform's defaults and caps are settings (the console's settings
page, panel "Shopping options", or the admin API above).
"""

from __future__ import annotations

from flask_login import current_user
from jishi import promotions
from jishi.access import platform_api
from jishi.api.common import Blueprint, StrictBool, StrictInt, not_found
from jishi.db import commit
from jishi.sellers import seller_api
from marshmallow import Schema, fields

from jishi_shopping_options import service

blp = Blueprint(
    "shopping_options_api",
    __name__,
    url_prefix="/api/v1",
    description="Shopping options (购物选项): order minimum and maximum, per-buyer limit, buy-now only, member levels.",
)


class OptionsSchema(Schema):
    min_per_order = fields.Integer(metadata={"description": "at least this many per order (0: no minimum)"})
    max_per_order = fields.Integer(metadata={"description": "at most this many per order (0: no limit)"})
    max_per_buyer = fields.Integer(metadata={"description": "at most this many per buyer over time (0: no limit)"})
    buy_now_only = fields.Boolean(metadata={"description": "sold by Buy now only: never in the cart"})
    member_levels = fields.List(
        fields.Integer(), metadata={"description": "member level ids that may buy (empty: all)"}
    )
    member_level_names = fields.String()


class ProductOptionsSchema(Schema):
    product_id = fields.Integer()
    options = fields.Nested(OptionsSchema)
    remaining = fields.Integer(
        allow_none=True, metadata={"description": "units the signed-in buyer may still buy (null: no per-buyer limit)"}
    )
    level_allowed = fields.Boolean(metadata={"description": "the buyer's member level may buy it"})


#: a number of units: the service refuses one out of 0..MAX_NUMBER naming
#: the field in the plugin's words; the bounds documented here
_UNITS = {"minimum": 0, "maximum": service.MAX_NUMBER}


class OverridesSchema(Schema):
    min_per_order = StrictInt(allow_none=True, load_default=None, metadata=_UNITS)
    max_per_order = StrictInt(allow_none=True, load_default=None, metadata=_UNITS)
    max_per_buyer = StrictInt(allow_none=True, load_default=None, metadata=_UNITS)
    buy_now_only = StrictBool(allow_none=True, load_default=None)
    member_levels = fields.List(
        StrictInt(metadata={"minimum": 1, "maximum": service.MAX_ID}),
        allow_none=True,
        load_default=None,
        metadata={"description": "member level ids that may buy (empty: all); an unknown one is refused"},
    )


class SellerProductOptionsSchema(Schema):
    product_id = fields.Integer()
    overrides = fields.Nested(OverridesSchema, allow_none=True, metadata={"description": "null: platform defaults"})
    options = fields.Nested(OptionsSchema, metadata={"description": "what applies"})


@blp.get("/shopping-options/products/<int:product_id>")
@blp.response(200, ProductOptionsSchema)
def product_options(product_id):
    """The options of a visible product (404 otherwise)."""
    from jishi.catalog.service import get_product

    product = get_product(product_id) if 0 < product_id < 2**31 else None
    if product is None:
        not_found("product")
    user = current_user if current_user.is_authenticated else None
    opts, held = service.load([product.id], user.id if user else None)[product.id]
    return {
        "product_id": product.id,
        "options": service.describe(opts),
        "remaining": max(opts.max_per_buyer - held, 0) if opts.max_per_buyer and user else None,
        "level_allowed": service._level_problem(opts, user) is None,
    }


def _seller_product(product_id: int):
    scope, platform = promotions.acting("api")
    product = promotions.product_for(product_id, scope, platform) if scope else None
    if product is None:
        not_found("product")
    return product


def _answer(product) -> dict:
    row = service.overrides([product.id]).get(product.id)
    return {
        "product_id": product.id,
        "overrides": {f: getattr(row, f) for f in service.FIELDS} if row else None,
        "options": service.describe(service.effective(row)),
    }


@blp.get("/shopping-options/seller/products/<int:product_id>")
@seller_api("products")
@blp.response(200, SellerProductOptionsSchema)
def seller_product(product_id):
    """A product's overrides and what applies."""
    return _answer(_seller_product(product_id))


@blp.put("/shopping-options/seller/products/<int:product_id>")
@seller_api("products")
@blp.arguments(OverridesSchema)
@blp.response(200, SellerProductOptionsSchema)
def seller_product_update(args, product_id):
    """Set a product's overrides (a field null or absent: the platform's
    default). 422 naming the field: a number outside 0..9999, a maximum
    above the platform's cap, a minimum above a maximum, an unknown level."""
    product = _seller_product(product_id)
    service.save(product, args)
    commit()
    return _answer(product)


class DefaultsSchema(Schema):
    min_per_order = StrictInt(allow_none=True, load_default=None, metadata=_UNITS)
    max_per_order = StrictInt(allow_none=True, load_default=None, metadata=_UNITS)
    max_per_buyer = StrictInt(allow_none=True, load_default=None, metadata=_UNITS)
    buy_now_only = StrictBool(allow_none=True, load_default=None)
    cap_per_order = StrictInt(
        allow_none=True,
        load_default=None,
        metadata={**_UNITS, "description": "no product's maximum per order above it (0: none)"},
    )
    cap_per_buyer = StrictInt(
        allow_none=True,
        load_default=None,
        metadata={**_UNITS, "description": "no product's maximum per buyer above it (0: none)"},
    )


def _defaults() -> dict:
    return {key[len(service.PREFIX) :]: value for key, value in service.platform_defaults().items()}


@blp.get("/shopping-options/admin/defaults")
@platform_api("settings")
@blp.response(200, DefaultsSchema)
def admin_defaults():
    """The platform's defaults and caps (0: no limit)."""
    return _defaults()


@blp.put("/shopping-options/admin/defaults")
@platform_api("settings")
@blp.arguments(DefaultsSchema)
@blp.response(200, DefaultsSchema)
def admin_defaults_update(args):
    """Change the platform's defaults and caps (a field null or absent: kept).
    422 naming the field: a number outside 0..9999, a default minimum above
    a default maximum, a default maximum above its cap."""
    saved = service.save_defaults(args)
    commit()
    return saved
