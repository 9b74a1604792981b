"""The points plugin object (entry point ``points``).

Hooks: ``order_discounts`` / ``validate_checkout`` / ``checkout_extras`` /
``order_placing`` (spending points at checkout, :mod:`.checkout`),
``order_transitioned`` (points frozen at payment, spent points back when an
unpaid order is cancelled), ``settle_order`` (frozen points usable at
completion), ``settle_refund`` (claw-back and return in proportion),
``settings_panels``, ``api_blueprints``.

Earning beyond orders (:mod:`.earning`, :mod:`.signin`): ``app_ready``
connects ``user_registered`` (registration bonus), ``review_posted`` and
``review_moderated`` (review rewards); ``periodic_jobs`` gives what a lost
signal left owed (``points_earn_catch_up``); ``blueprints`` /
``api_blueprints`` serve the daily sign-in (签到) page and API.

Expiry (:mod:`.expiry`) and the return window (:mod:`.window`): the
``periodic_jobs`` ``points_expire`` and ``points_unfreeze``.

Points exchange (积分商城, :mod:`.exchange`): ``price_rules`` (the item's
cash part, only with the checkout option ``points_exchange``),
``validate_checkout`` / ``order_placing`` (units, exchange stock and points
taken in the placing transaction), ``order_transitioned`` /
``settle_refund`` (given back once), ``blueprints`` (the buyer pages
:mod:`.web_exchange` and the console :mod:`.console_exchange`),
``console_menu_items``, ``order_notices`` (the points an exchange order
spent), ``demo_data``.

Member growth levels (:mod:`.levels`): growth at completion (``settle_order``)
and back on refunds (``settle_refund``), the level's price (``price_rules``),
the console's ladder (``blueprints``, ``console_menu_items``), the demo
ladder (``demo_data``), a new buyer's level (``user_registered``).

The buyer's points centre and the checkout toggle (``blueprints``,
``template_slot``, ``storefront_links``), the console's pages (``blueprints``,
``permissions``, ``console_menu_items``) and the demo (``demo_data``,
``demo_orders``); ``report_sections`` the points' figures in the platform's
reports (:mod:`.reports`); ``page_block_types``: the page designer's points
entrance (:mod:`jishi_points.blocks`).
"""

from __future__ import annotations

from jishi import signals
from jishi.hookspecs import (
    MenuItem,
    PeriodicJob,
    Permission,
    SettingField,
    SettingsPanel,
    StorefrontLink,
    hookimpl,
    slots,
)

from jishi_points import checkout as co
from jishi_points import (
    earning,
    exchange,
    expiry,
    levels,
    models,  # noqa: F401 - the plugin's tables
    service,
    window,
)

requires = ()


@hookimpl
def blueprints():
    from jishi_points import console_exchange, web_exchange
    from jishi_points.console import admin
    from jishi_points.console_levels import admin as levels_admin
    from jishi_points.web import bp
    from jishi_points.web_signin import bp as signin_web

    return [bp, admin, signin_web, web_exchange.bp, console_exchange.bp, levels_admin]


@hookimpl
@slots("product_detail_after_price", "account_links", "checkout_group", "checkout_bottom")
def template_slot(slot, context):
    """The account page's link to the centre, the checkout's points toggle
    and each merchant order's points share (:mod:`.web`); the product
    page's level price (:mod:`.levels`)."""
    if slot in ("account_links", "checkout_bottom", "checkout_group"):
        from jishi_points.web import render_slot

        return render_slot(slot, context)
    return levels.render_slot(slot, context)


@hookimpl
def page_block_types():
    from jishi_points import blocks

    return blocks.block_types()


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

    from jishi_points import console_exchange

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
        *console_exchange.menu_items(console),
        MenuItem(
            _l("Member levels"),
            "points_levels_admin.index",
            console="platform",
            sort=64,
            permission="marketing",
            group="marketing",
        ),
    ]


@hookimpl
def demo_data(data):
    from jishi_points import demo_exchange
    from jishi_points.demo import demo_data as run

    made = [levels.demo_data(data), demo_exchange.demo_data(data), run(data)]
    return ", ".join(m for m in made if m) or None


@hookimpl(trylast=True)
def demo_orders(data):
    from jishi_points.demo import demo_orders as run

    return run(data)


@hookimpl
def api_blueprints():
    from jishi_points.api import blp
    from jishi_points.api_exchange import blp as exchange_blp
    from jishi_points.api_levels import blp as levels_blp
    from jishi_points.api_signin import blp as signin_api

    return [blp, signin_api, exchange_blp, levels_blp]


@hookimpl
def app_ready(app):
    earning.connect()
    signals.connect(signals.user_registered, levels.on_registered, plugin="points")


@hookimpl
def periodic_jobs():
    return [
        PeriodicJob("points_earn_catch_up", earning.catch_up, every_seconds=600),
        PeriodicJob("points_expire", expiry.expire_due, every_seconds=300),
        PeriodicJob("points_unfreeze", window.release_due, every_seconds=300),
    ]


@hookimpl
def product_page_loaders(product, user):
    return levels.page_loaders(product, user)


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
                *_earning_fields(),
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


def _earning_fields() -> tuple[SettingField, ...]:
    from jishi.i18n import lazy_gettext as _l

    def field(key, label, help=""):
        return SettingField(key, label, kind="int", default=earning.DEFAULTS[key], help=help)

    return (
        field(earning.REGISTER_BONUS, _l("Points given when a buyer registers"), _l("0 turns it off.")),
        field(earning.SIGNIN_POINTS, _l("Points per daily sign-in"), _l("0 turns sign-in off.")),
        field(earning.SIGNIN_STEP, _l("Sign-in: more points per day in a row")),
        field(earning.SIGNIN_STEP_CAP, _l("Sign-in: at most this many more points per day")),
        field(earning.SIGNIN_WEEK_BONUS, _l("Sign-in: extra points on every 7th day in a row")),
        field(earning.REVIEW_TEXT, _l("Points for a review with text"), _l("0 turns review rewards off.")),
        field(earning.REVIEW_PICTURES, _l("More points when the review has pictures")),
        field(earning.REVIEW_MIN_CHARS, _l("Fewest characters of review text that earn points")),
    )


# --- Checkout -----------------------------------------------------------------


@hookimpl(trylast=True)
def order_discounts(checkout):
    """Points come last, after activities and coupons (see :mod:`.checkout`)."""
    return co.order_discounts(checkout)


@hookimpl
def price_rules(lines, user, options):
    """One query each: the member level's price (discount and/or member
    price) of every line, and the points-exchange price of an item's SKU
    (only when the checkout asks for the item)."""
    rules: dict = {}
    for found in (levels.price_rules(lines, user, options), exchange.price_rules(lines, user, options)):
        for key, candidates in (found or {}).items():
            rules.setdefault(key, []).extend(candidates)
    return rules or None


@hookimpl
def validate_checkout(checkout):
    return co.validate_checkout(checkout) + exchange.validate(checkout)


@hookimpl
def checkout_loaders(lines, user, options, placing):
    return co.checkout_loaders(user, options, placing)


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
    levels.on_completed(order)


@hookimpl
def settle_refund(refund):
    service.on_refund(refund)
    exchange.on_refund(refund)
    levels.on_refund(refund)


@hookimpl
def report_sections(start, end, seller_id):
    """Issue 19: points issued, spent, the money they took off, expired and the liability (platform only)."""
    from jishi_points.reports import points_sections

    return points_sections(start, end, seller_id)
