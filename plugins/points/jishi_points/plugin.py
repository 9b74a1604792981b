"""The points plugin object (entry point ``points``).

Hooks: ``order_discounts`` / ``validate_checkout`` / ``checkout_extras`` /
``order_placing`` (spending points at checkout, :mod:`.checkout`),
``order_transitioned`` (points frozen at payment, spent points back when an
unpaid order is cancelled), ``settle_order`` (frozen points usable at
completion), ``settle_refund`` (claw-back and return in proportion),
``settings_panels``, ``api_blueprints``; the buyer's points centre and the
checkout toggle (``blueprints``, ``template_slot``, ``storefront_links``),
the console's pages (``blueprints``, ``permissions``,
``console_menu_items``) and the demo (``demo_data``, ``demo_orders``).
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, Permission, SettingField, SettingsPanel, StorefrontLink, hookimpl

from jishi_points import checkout as co
from jishi_points import (
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def blueprints():
    from jishi_points.console import admin
    from jishi_points.web import bp

    return [bp, admin]


@hookimpl
def template_slot(slot, context):
    """The account page's link to the centre, the checkout's points toggle
    and each merchant order's points share (:mod:`.web`)."""
    if slot not in ("account_links", "checkout_bottom", "checkout_group"):
        return None
    from jishi_points.web import render_slot

    return render_slot(slot, context)


@hookimpl
def storefront_links():
    from jishi.i18n import lazy_gettext as _l

    return [StorefrontLink(_l("My points"), "points.centre", icon="🪙", sort=40, places=("home",))]


@hookimpl
def permissions():
    from jishi.i18n import lazy_gettext as _l

    return [Permission("points", str(_l("Points")), consoles=("platform",), sort=55)]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import lazy_gettext as _l

    return [
        MenuItem(
            _l("Points"), "points_console.index", console="platform", sort=65, permission="points", group="marketing"
        ),
        MenuItem(
            _l("Points report"),
            "points_console.report_page",
            console="platform",
            sort=66,
            permission="points",
            group="finance",
        ),
    ]


@hookimpl
def demo_data(data):
    from jishi_points.demo import demo_data as run

    return run(data)


@hookimpl(trylast=True)
def demo_orders(data):
    from jishi_points.demo import demo_orders as run

    return run(data)


@hookimpl
def api_blueprints():
    from jishi_points.api import blp

    return [blp]


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


@hookimpl
def settle_refund(refund):
    service.on_refund(refund)
