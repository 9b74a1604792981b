"""The points plugin object (entry point ``points``).

Hooks: ``order_discounts`` / ``validate_checkout`` / ``checkout_extras`` /
``order_placing`` (spending points at checkout, :mod:`.checkout`),
``order_transitioned`` (points frozen at payment, spent points back when an
unpaid order is cancelled), ``settle_order`` (frozen points usable at
completion), ``settle_refund`` (claw-back and return in proportion),
``settings_panels``, ``api_blueprints``, ``periodic_jobs`` (``points_expire``:
expiry, :mod:`.expiry`; ``points_unfreeze``: the return window, :mod:`.window`).
"""

from __future__ import annotations

from jishi.hookspecs import PeriodicJob, SettingField, SettingsPanel, hookimpl

from jishi_points import checkout as co
from jishi_points import (
    expiry,
    models,  # noqa: F401 - the plugin's tables
    service,
    window,
)

requires = ()


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
                SettingField(
                    expiry.RULE,
                    _l("Points expire"),
                    kind="choice",
                    default=expiry.NONE,
                    choices=(
                        (expiry.NONE, _l("never")),
                        (expiry.AFTER_DAYS, _l("a number of days after they are earned")),
                        (expiry.YEAR_END, _l("at the end of the year after the year they are earned")),
                    ),
                ),
                SettingField(
                    expiry.DAYS,
                    _l("Days points last (when they expire after a number of days)"),
                    kind="int",
                    default=expiry.DEFAULT_DAYS,
                ),
                SettingField(
                    window.RETURN_DAYS,
                    _l("Days after completion before earned points become usable (0: at completion)"),
                    kind="int",
                    default=0,
                ),
            ),
            sort=60,
        )
    ]


@hookimpl
def periodic_jobs():
    return [
        PeriodicJob("points_expire", expiry.expire_due, every_seconds=300),
        PeriodicJob("points_unfreeze", window.release_due, every_seconds=300),
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
