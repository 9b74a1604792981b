"""The shopping options plugin object (entry point ``shopping_options``).

Hooks implemented (see ``docs/plugins/shopping_options.md``):

- ``settings_panels``      the platform's defaults and caps
- ``purchase_blockers``    a product for member levels only, to others
- ``cart_line_problems``   no cart for a buy-now-only product; per-order and
  per-buyer maxima (409 naming the field)
- ``validate_checkout``    every rule, all lines in ONE statement
- ``order_placing``        the per-buyer counters (conditional upsert)
- ``order_transitioned`` / ``settle_refund``  units given back, once
- ``product_page_loaders`` the product's overrides, read with the page
- ``purchase_loaders``    ... and with the cart's read of the SKU
- ``template_slot``        ``product_detail_after_price``: the rules and,
  for a buy-now-only product, its Buy now form
- ``blueprints`` / ``api_blueprints`` / ``console_menu_items`` / ``demo_data``
"""

from __future__ import annotations

import functools

from jishi.hookspecs import MenuItem, PageLoader, SettingField, SettingsPanel, hookimpl, slots

from jishi_shopping_options import (
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def settings_panels():
    from jishi.i18n import lazy_gettext as _l

    def number(key, label, help_text):
        return SettingField(key, label, kind="int", default=service.DEFAULTS[key], help=help_text)

    none = _l("0: no limit.")
    return [
        SettingsPanel(
            "shopping_options",
            _l("Shopping options"),
            (
                number(service.MIN_PER_ORDER, _l("Default minimum per order"), _l("0: no minimum.")),
                number(service.MAX_PER_ORDER, _l("Default maximum per order"), none),
                number(service.MAX_PER_BUYER, _l("Default maximum per buyer"), none),
                SettingField(service.BUY_NOW_ONLY, _l("Buy now only by default"), kind="bool", default=False),
                number(service.CAP_PER_ORDER, _l("Cap per order (no product above it)"), none),
                number(service.CAP_PER_BUYER, _l("Cap per buyer (no product above it)"), none),
            ),
            sort=45,
            validate=service.validate_panel,
        )
    ]


@hookimpl
def blueprints():
    from jishi_shopping_options import views

    return [views.bp]


@hookimpl
def api_blueprints():
    from jishi_shopping_options import api

    return [api.blp]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    return [
        MenuItem(
            _("Shopping options"),
            "shopping_options.products",
            console=console,
            sort=25,
            permission="products",
            group="products",
        )
    ]


@hookimpl
def product_page_loaders(product, user):
    return [PageLoader("shopping_options.row", _row_query(), {"product_id": product.id})]


@hookimpl
def purchase_loaders(user):
    """The product's overrides, read within the cart's read of the SKU
    (``purchase_blockers`` and ``cart_line_problems`` then read nothing)."""
    return [PageLoader("shopping_options.row", _row_query(), {})]


@functools.cache
def _row_query():
    """The page loader's query, declared once (``PageLoader.params``)."""
    from sqlalchemy import bindparam, select

    from jishi_shopping_options.models import ProductShoppingOptions

    return select(ProductShoppingOptions).where(ProductShoppingOptions.product_id == bindparam("product_id"))


@hookimpl
@slots("product_detail_after_price", "console_product_row_actions")
def template_slot(slot, context):
    from jishi_shopping_options import views

    return views.slot(slot, context)


@hookimpl
def purchase_blockers(product, user):
    return service.purchase_blockers(product, user)


@hookimpl
def cart_line_problems(product, sku_id, quantity, user):
    return service.cart_problems(product, quantity, user)


@hookimpl
def checkout_loaders(lines, user, options, placing):
    return service.checkout_loaders(lines, user)


@hookimpl
def validate_checkout(checkout):
    return service.validate(checkout)


@hookimpl
def order_placing(checkout, payments, orders):
    service.place(checkout, orders)


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    service.on_order_transition(order, name)


@hookimpl
def settle_refund(refund):
    service.on_refund(refund)


@hookimpl
def demo_data(data):
    from jishi_shopping_options import demo

    return demo.demo_data(data)
