"""The points plugin object (entry point ``points``).

Hooks: ``order_discounts`` / ``validate_checkout`` / ``checkout_extras`` /
``order_placing`` (spending points at checkout, :mod:`.checkout`),
``order_transitioned`` (points frozen at payment, spent points back when an
unpaid order is cancelled), ``settle_order`` (frozen points usable at
completion), ``settle_refund`` (claw-back and return in proportion),
``settings_panels``, ``api_blueprints``.

Points exchange (积分商城, :mod:`.exchange`): ``price_rules`` (the item's
cash part, only with the checkout option ``points_exchange``),
``validate_checkout`` / ``order_placing`` (units, exchange stock and points
taken in the placing transaction), ``order_transitioned`` /
``settle_refund`` (given back once), ``blueprints`` (the buyer pages
:mod:`.web_exchange` and the console :mod:`.console_exchange`),
``console_menu_items``, ``order_notices`` (the points an exchange order
spent), ``demo_data``.
"""

from __future__ import annotations

from jishi.hookspecs import SettingField, SettingsPanel, hookimpl

from jishi_points import checkout as co
from jishi_points import (
    exchange,
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def api_blueprints():
    from jishi_points.api import blp
    from jishi_points.api_exchange import blp as exchange_blp

    return [blp, exchange_blp]


@hookimpl
def blueprints():
    from jishi_points import console_exchange, web_exchange

    return [web_exchange.bp, console_exchange.bp]


@hookimpl
def console_menu_items(console, principal):
    from jishi_points import console_exchange

    return console_exchange.menu_items(console)


@hookimpl
def demo_data(data):
    from jishi_points import demo_exchange

    return demo_exchange.demo_data(data)


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
def price_rules(lines, user, options):
    """The points-exchange price of an item's SKU (only when the checkout asks for the item)."""
    return exchange.price_rules(lines, user, options)


@hookimpl
def validate_checkout(checkout):
    return co.validate_checkout(checkout) + exchange.validate(checkout)


@hookimpl
def checkout_extras(checkout):
    """The preview's ``plugins.points``: available, frozen, used and the money they take off."""
    return {"points": co.extras(checkout)}


@hookimpl
def order_placing(checkout, orders):
    co.order_placing(checkout, orders)
    exchange.place(checkout, orders)


# --- Orders -------------------------------------------------------------------


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    """Inside the transaction of the change: points frozen at payment
    (once per order), everything back when the order is cancelled or closed."""
    if name == "pay":
        service.on_paid(order)
    elif name in ("cancel", "close"):
        service.on_closed(order)
        exchange.on_order_transition(order, name)


@hookimpl
def order_notices(order, principal):
    """A points-exchange order says what it spent (and what came back)."""
    return exchange.order_notices(order)


@hookimpl
def settle_order(order):
    service.on_completed(order)


@hookimpl
def settle_refund(refund):
    service.on_refund(refund)
    exchange.on_refund(refund)
