"""JSON API for app and mini-program clients (``/api/v1``, in the OpenAPI
document).

- Buyers: ``GET /buy-n-get-m/products/<id>``: a product's active rule, to
  show the badge (404 when it has none).
- Sellers (``seller_api("products")``, the seller from the signed-in user):
  ``GET /seller/buy-n-get-m/rules``; ``PUT`` / ``DELETE
  /seller/buy-n-get-m/rules/<product id>``. Another seller's product: 404.

Schema names start with ``BuyNGetM`` so they never clash with another
plugin's in the shared OpenAPI document.
"""

from __future__ import annotations

from jishi.api.common import Blueprint, StrictBool, StrictInt, fail, not_found
from jishi.db import commit
from jishi.i18n import gettext as _
from jishi.sellers import SellerScope, current_scope, seller_api
from marshmallow import Schema, fields, validate

from jishi_buy_n_get_m import rules
from jishi_buy_n_get_m.models import MAX_QTY

blp = Blueprint("buy_n_get_m_api", __name__, url_prefix="/api/v1", description="Buy N pay M (买N付M)")

MAX_ID = 2**31 - 1


class BuyNGetMRuleSchema(Schema):
    product_id = fields.Integer()
    buy_qty = fields.Integer()
    pay_qty = fields.Integer()
    active = fields.Boolean()
    label = fields.String(metadata={"description": 'e.g. "买3付2"'})


class BuyNGetMRuleListSchema(Schema):
    items = fields.List(fields.Nested(BuyNGetMRuleSchema))


class BuyNGetMRuleArgsSchema(Schema):
    buy_qty = StrictInt(required=True, validate=validate.Range(min=2, max=MAX_QTY))
    pay_qty = StrictInt(required=True, validate=validate.Range(min=1, max=MAX_QTY - 1))
    active = StrictBool(load_default=True)


def _dump(rule) -> dict:
    return {
        "product_id": rule.product_id,
        "buy_qty": rule.buy_qty,
        "pay_qty": rule.pay_qty,
        "active": rule.active,
        "label": rules.label(rule.buy_qty, rule.pay_qty),
    }


def _scope() -> SellerScope:
    """The signed-in seller's scope: ``seller_api`` only lets a user with one in."""
    scope = current_scope(via="api")
    if scope is None:  # pragma: no cover - seller_api answered 403 already
        fail(403, "forbidden", _("Seller staff only."))
    return scope


def _own_product(product_id: int):
    product = rules.own_product(_scope().seller_id, product_id) if 1 <= product_id <= MAX_ID else None
    if product is None:
        not_found(_("product"))
    return product


@blp.get("/buy-n-get-m/products/<int:product_id>")
@blp.response(200, BuyNGetMRuleSchema)
def product_rule(product_id: int):
    """A product's active "buy N pay M" rule (404: none)."""
    rule = rules.rule_for_product(product_id) if 1 <= product_id <= MAX_ID else None
    if rule is None or not rule.active:
        not_found(_("rule"))
    return _dump(rule)


@blp.get("/seller/buy-n-get-m/rules")
@seller_api("products")
@blp.response(200, BuyNGetMRuleListSchema)
def seller_rules():
    """The signed-in seller's rules."""
    return {"items": [_dump(rule) for rule, _product in rules.rules_of(_scope().seller_id)]}


@blp.put("/seller/buy-n-get-m/rules/<int:product_id>")
@seller_api("products")
@blp.arguments(BuyNGetMRuleArgsSchema)
@blp.response(200, BuyNGetMRuleSchema)
def put_rule(args, product_id: int):
    """Set the rule of one of the seller's products (create or change)."""
    product = _own_product(product_id)
    if args["pay_qty"] >= args["buy_qty"]:
        fail(422, "invalid", _("Pay for at least 1 and fewer than %(n)d units.", n=args["buy_qty"]), "pay_qty")
    rule = rules.save_rule(product, args["buy_qty"], args["pay_qty"], active=args["active"])
    commit()
    return _dump(rule)


@blp.delete("/seller/buy-n-get-m/rules/<int:product_id>")
@seller_api("products")
@blp.response(204)
def delete_rule(product_id: int):
    """Remove the rule of one of the seller's products."""
    product = _own_product(product_id)
    rule = rules.rule_for_product(product.id)
    if rule is None:
        not_found(_("rule"))
    rules.delete_rule(rule)
    commit()
