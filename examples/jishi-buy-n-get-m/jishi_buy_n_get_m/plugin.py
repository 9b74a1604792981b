"""The plugin object (entry point ``buy_n_get_m``): every hook it implements.

- ``order_discounts``: one seller-funded discount per product with a rule;
  the kernel caps it and allocates it over the product's lines (largest
  remainder), recorded per order line and reversed by refunds.
- ``blueprints`` / ``console_menu_items``: the seller page, in the platform
  console (the shop itself) or the merchant console (multistore).
- ``api_blueprints``: the same for app clients, and a product's rule for buyers.
- ``template_slot``: a "buy 3 pay 2" badge on the product page.
- ``demo_data``: rules on a few demo products.

Works with and without multistore: the seller is whatever
:func:`jishi.sellers.current_scope` says; nothing here imports multistore.
"""

from __future__ import annotations

from flask import render_template
from jishi.hookspecs import MenuItem, hookimpl
from jishi.i18n import gettext as _
from markupsafe import Markup

from jishi_buy_n_get_m import (
    models,  # noqa: F401 - the plugin's table
    rules,
)

requires = ()


@hookimpl
def blueprints():
    from jishi_buy_n_get_m.views import bp

    return [bp]


@hookimpl
def api_blueprints():
    from jishi_buy_n_get_m.api import blp

    return [blp]


@hookimpl
def order_discounts(checkout):
    return rules.checkout_discounts(checkout.lines)


@hookimpl
def console_menu_items(console, principal):
    # a seller page: in the console of the user's seller scope, for whoever
    # may edit products there (the kernel checks console and permission)
    return [MenuItem(_("Buy N pay M"), "buy_n_get_m.index", console=console, sort=60, permission="products")]  # 买N付M


@hookimpl
def template_slot(slot, context):
    if slot != "product_detail_after_price":
        return None
    product = context.get("product")
    if product is None:
        return None
    rule = rules.rule_for_product(product.id)
    if rule is None or not rule.active:
        return None
    return Markup(render_template("buy_n_get_m/badge.html", rule=rule))


@hookimpl
def demo_data(data):
    """ "Buy 3 pay 2" on the first demo product of the shop and of each merchant."""
    from jishi.db import commit

    products = [p for p in data.get("products") or [] if p.seller_id is None][:1]
    for merchant in (data.get("merchants") or {}).values():
        own = rules.own_products(merchant.id, limit=1)
        products += own
    for product in products:
        rules.save_rule(product, 3, 2)
    commit()
    return f"{len(products)} buy-3-pay-2 rules" if products else None
