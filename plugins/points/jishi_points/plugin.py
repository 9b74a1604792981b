"""The points plugin object (entry point ``points``).

Hooks: ``order_discounts`` / ``validate_checkout`` / ``checkout_extras`` /
``order_placing`` (spending points at checkout, :mod:`.checkout`),
``order_transitioned`` (points frozen at payment, spent points back when an
unpaid order is cancelled), ``settle_order`` (frozen points usable at
completion), ``settle_refund`` (claw-back and return in proportion),
``settings_panels``, ``api_blueprints``. Member growth levels
(:mod:`.levels`): growth at completion (``settle_order``) and back on
refunds (``settle_refund``), the level's price (``price_rules``), the
console's ladder (``blueprints``, ``console_menu_items``), the demo ladder
(``demo_data``), a new buyer's level (``user_registered``).
"""

from __future__ import annotations

from jishi import signals
from jishi.hookspecs import MenuItem, SettingField, SettingsPanel, hookimpl

from jishi_points import checkout as co
from jishi_points import (
    levels,
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def api_blueprints():
    from jishi_points.api import blp
    from jishi_points.api_levels import blp as levels_blp

    return [blp, levels_blp]


@hookimpl
def blueprints():
    from jishi_points.console_levels import admin as levels_admin

    return [levels_admin]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import lazy_gettext as _l

    return [
        MenuItem(
            _l("Member levels"),
            "points_levels_admin.index",
            console="platform",
            sort=64,
            permission="marketing",
            group="marketing",
        )
    ]


@hookimpl
def product_page_loaders(product, user):
    return levels.page_loaders(product, user)


@hookimpl
def template_slot(slot, context):
    return levels.render_slot(slot, context)


@hookimpl
def app_ready(app):
    signals.connect(signals.user_registered, levels.on_registered, plugin="points")


@hookimpl
def demo_data(data):
    return levels.demo_data(data)


@hookimpl
def settings_panels():
    from jishi.i18n import lazy_gettext as _l

    return [
        SettingsPanel(
            "points",
            _l("Points"),
            (
                SettingField(
                    service.EARN_PER_YUAN,
                    _l("Points earned per yuan paid"),
                    kind="int",
                    default=service.DEFAULTS[service.EARN_PER_YUAN],
                ),
                SettingField(
                    service.RATE,
                    _l("Points worth one yuan at checkout"),
                    kind="int",
                    default=service.DEFAULTS[service.RATE],
                ),
                SettingField(
                    service.MIN_USE,
                    _l("Fewest points used at a time"),
                    kind="int",
                    default=service.DEFAULTS[service.MIN_USE],
                ),
                SettingField(
                    service.CAP_BP,
                    _l("Most of the goods amount points may pay (%)"),
                    kind="percent",
                    default=service.DEFAULTS[service.CAP_BP],
                ),
                SettingField(
                    levels.GROWTH_PER_YUAN,
                    _l("Growth value per yuan paid"),
                    kind="int",
                    default=levels.GROWTH_DEFAULT,
                ),
            ),
            sort=60,
        )
    ]


# --- Checkout -----------------------------------------------------------------


@hookimpl(trylast=True)
def order_discounts(checkout):
    """Points come last, after activities and coupons (see :mod:`.checkout`)."""
    return co.order_discounts(checkout)


@hookimpl
def validate_checkout(checkout):
    return co.validate_checkout(checkout)


@hookimpl
def checkout_extras(checkout):
    """The preview's ``plugins.points``: available, frozen, used and the money they take off."""
    return {"points": co.extras(checkout)}


@hookimpl
def order_placing(checkout, orders):
    co.order_placing(checkout, orders)


# --- Orders -------------------------------------------------------------------


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    """Inside the transaction of the change: points frozen at payment
    (once per order), everything back when the order is cancelled or closed."""
    if name == "pay":
        service.on_paid(order)
    elif name in ("cancel", "close"):
        service.on_closed(order)


@hookimpl
def settle_order(order):
    service.on_completed(order)
    levels.on_completed(order)


@hookimpl
def settle_refund(refund):
    service.on_refund(refund)
    levels.on_refund(refund)


@hookimpl
def price_rules(lines, user, options):
    """The member level's price (discount and/or member price), one query for every line."""
    return levels.price_rules(lines, user, options)
