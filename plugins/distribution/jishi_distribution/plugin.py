"""The distribution plugin object (entry point ``distribution``).

Hooks: ``order_transitioned`` (commissions frozen at payment), ``order_placing`` (the rule "bind on
first order"), ``settle_order`` (the spend threshold for becoming a promoter),
``settle_refund`` (reversal in proportion), ``periodic_jobs`` (releasing
due commissions), ``app_ready`` (``?ref=CODE`` on any storefront URL),
``blueprints`` / ``api_blueprints`` (promoter centre, console, API),
``settings_panels``, ``storefront_links``, ``console_menu_items``,
``demo_data`` / ``demo_orders``, ``report_sections`` (sales through
distribution, commission cost, top promoters: :mod:`.reports`),
``page_block_types`` (the page designer's promoter-centre entrance,
:mod:`jishi_distribution.blocks`).
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, PeriodicJob, SettingField, SettingsPanel, StorefrontLink, hookimpl

from jishi_distribution import (
    models,  # noqa: F401 - the plugin's tables
    service,
)
from jishi_distribution import withdrawals as wd

requires = ()

SESSION_KEY = "distribution_ref"


@hookimpl
def blueprints():
    from jishi_distribution.views import admin, bp, seller

    return [bp, admin, seller]


@hookimpl
def api_blueprints():
    from jishi_distribution.api import blp

    return [blp]


@hookimpl
def app_ready(app):
    from flask import request, session
    from flask_login import current_user
    from jishi.db import commit, rollback
    from jishi.errors import DomainError

    @app.before_request
    def _referral_code():
        """``?ref=CODE`` on any page: remembered in the session until the
        visitor is signed in, then bound (or remembered for their first
        order) by the platform's rules. A bad code is dropped silently."""
        req = request._get_current_object()  # (one look-up through the proxy: this runs for every request)
        if req.method == "GET" and req.query_string and not req.path.startswith("/api/"):
            code = req.args.get("ref")  # (no query string: no ?ref, and nothing parsed)
            if isinstance(code, str) and code:
                session[SESSION_KEY] = code.strip()[:16]
        s = session._get_current_object()
        if SESSION_KEY not in s or not current_user.is_authenticated:
            return
        code = s.pop(SESSION_KEY, "")
        try:
            service.visit(current_user.id, code, "link")
            commit()
        except DomainError:
            rollback()
        return


@hookimpl
def page_block_types():
    from jishi_distribution import blocks

    return blocks.block_types()


@hookimpl
def storefront_links():
    from jishi.i18n import lazy_gettext as _l

    return [StorefrontLink(_l("Promoter centre"), "distribution.centre", icon="🤝", sort=70)]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import lazy_gettext as _l

    if console != "platform":
        if not service.setting(service.MERCHANT_PRODUCTS):
            return []
        return [
            MenuItem(
                str(_l("Distribution")),
                "distribution_seller.index",
                console=console,
                permission="products",
                sort=70,
                group="marketing",
            )
        ]
    return [
        MenuItem(
            str(_l("Promoters")), "distribution_admin.promoters", permission="marketing", sort=70, group="marketing"
        ),
        MenuItem(
            str(_l("Distribution commissions")),
            "distribution_admin.commissions",
            permission="marketing",
            sort=71,
            group="marketing",
        ),
        MenuItem(
            str(_l("Distribution rates")),
            "distribution_admin.rates",
            permission="marketing",
            sort=72,
            group="marketing",
        ),
        MenuItem(
            str(_l("Distribution report")),
            "distribution_admin.report",
            permission="marketing",
            sort=72,
            group="marketing",
        ),
        MenuItem(
            str(_l("Promoter withdrawals")),
            "distribution_admin.withdrawals",
            permission="money",
            sort=87,
            group="finance",
        ),
    ]


@hookimpl
def settings_panels():
    from jishi.i18n import lazy_gettext as _l

    d = service.DEFAULTS
    return [
        SettingsPanel(
            "distribution",
            _l("Distribution"),
            (
                SettingField(
                    service.JOIN_MODE,
                    _l("Who becomes a promoter"),
                    kind="choice",
                    default=d[service.JOIN_MODE],
                    choices=(
                        ("everyone", _l("Everyone")),
                        ("apply", _l("By application, reviewed by the platform")),
                        ("spend", _l("Automatically after spending a threshold")),
                    ),
                ),
                SettingField(
                    service.JOIN_THRESHOLD,
                    _l("Spend threshold (paid and not refunded)"),
                    kind="money",
                    default=d[service.JOIN_THRESHOLD],
                ),
                SettingField(
                    service.APPLY_FIELDS,
                    _l("Application fields (one per line)"),
                    kind="textarea",
                    default=d[service.APPLY_FIELDS],
                ),
                SettingField(
                    service.BIND_RULE,
                    _l("Binding rule"),
                    kind="choice",
                    default=d[service.BIND_RULE],
                    choices=(("first", _l("First binding wins")), ("last", _l("Last click wins"))),
                ),
                SettingField(
                    service.BIND_DAYS,
                    _l("Binding lasts (days, 0: permanent)"),
                    kind="int",
                    default=d[service.BIND_DAYS],
                ),
                SettingField(
                    service.BIND_ON,
                    _l("Bind when"),
                    kind="choice",
                    default=d[service.BIND_ON],
                    choices=(("visit", _l("On visit")), ("order", _l("On first order"))),
                ),
                SettingField(
                    service.PROTECT_DAYS,
                    _l("Protection against rebinding (days)"),
                    kind="int",
                    default=d[service.PROTECT_DAYS],
                ),
                SettingField(
                    service.LEVEL1_BP, _l("First-level commission (%)"), kind="percent", default=d[service.LEVEL1_BP]
                ),
                SettingField(
                    service.LEVEL2_BP, _l("Second-level commission (%)"), kind="percent", default=d[service.LEVEL2_BP]
                ),
                SettingField(
                    service.SELF_PURCHASE,
                    _l("Promoters earn on their own purchases"),
                    kind="bool",
                    default=d[service.SELF_PURCHASE],
                ),
                SettingField(
                    service.MERCHANT_PRODUCTS,
                    _l("Merchants may opt products in"),
                    kind="bool",
                    default=d[service.MERCHANT_PRODUCTS],
                ),
                SettingField(
                    service.STAFF_PROMOTERS,
                    _l("Merchant staff are promoters"),
                    kind="bool",
                    default=d[service.STAFF_PROMOTERS],
                ),
                SettingField(
                    service.RETURN_DAYS,
                    _l("Days after completion before commission is released"),
                    kind="int",
                    default=d[service.RETURN_DAYS],
                ),
                SettingField(wd.MIN_SETTING, _l("Smallest withdrawal"), kind="money", default=1000),
                SettingField(wd.INTERVAL_SETTING, _l("Days between withdrawals"), kind="int", default=1),
                SettingField(wd.AGREEMENT_SETTING, _l("Withdrawal agreement"), kind="textarea", default=""),
            ),
            sort=65,
        )
    ]


@hookimpl
def periodic_jobs():
    return [PeriodicJob("distribution_release", service.release_due, every_seconds=600)]


# --- Orders -------------------------------------------------------------------


@hookimpl
def checkout_loaders(lines, user, options, placing):
    """A placement's remembered referral (rule ``order``), read with every
    plugin's checkout rows in the kernel's one statement."""
    if not placing or user is None or not getattr(user, "id", None):
        return None
    from jishi.hookspecs import PageLoader

    return [PageLoader(service.REFERRAL_LOADER, service.referral_query(), {"user_id": user.id})]


@hookimpl
def order_placing(checkout):
    if getattr(checkout, "user", None) is not None and getattr(checkout.user, "id", None):
        loaded = getattr(checkout, "loaded", None)
        if loaded is not None and service.REFERRAL_LOADER in loaded:
            service.on_order_placed(checkout.user.id, loaded.first(service.REFERRAL_LOADER))
        else:
            service.on_order_placed(checkout.user.id)


@hookimpl(tryfirst=True)
def order_transitioned(order, name, from_status, actor_kind):
    """Inside the transaction of the change: the order's commissions, frozen,
    at payment; what is still frozen reversed when a paid order is closed.
    First (``tryfirst``): a merchant-funded commission given back on closing
    returns to the order's money before multistore sweeps it to the buyer."""
    if name == "pay":
        service.on_paid(order)
    elif name == "close":
        service.on_closed(order)


@hookimpl
def settle_order(order):
    """A completed order counts toward the spend threshold (mode ``spend``)."""
    if service.setting(service.JOIN_MODE) == "spend":
        service.ensure_promoter(order.user_id)


@hookimpl(tryfirst=True)
def settle_refund(refund):
    """First (``tryfirst``): a merchant-funded commission given back is in
    the merchant's balance before multistore checks that it covers the refund."""
    service.on_refund(refund)


@hookimpl
def demo_data(data):
    from jishi_distribution.demo import demo_data as run

    return run(data)


@hookimpl
def report_sections(start, end, seller_id):
    """Issue 19: sales through distribution, commission cost, top promoters (the platform's)."""
    from jishi_distribution.reports import distribution_sections

    return distribution_sections(start, end, seller_id)


@hookimpl(trylast=True)
def demo_orders(data):
    from jishi_distribution.demo import demo_orders as run

    return run(data)
