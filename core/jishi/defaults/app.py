"""The kernel's own blueprints, API, menus and settings panels."""

from __future__ import annotations

from jishi.hookspecs import MenuItem, SettingField, SettingsPanel, TodoItem, hookimpl
from jishi.i18n import lazy_gettext as _l


@hookimpl(tryfirst=True)
def blueprints():
    from jishi.console.views import bp as console_bp
    from jishi.media.views import bp as media_bp
    from jishi.payments.views import bp as payments_bp
    from jishi.web.views import bp as shop_bp

    return [shop_bp, console_bp, payments_bp, media_bp]


@hookimpl(tryfirst=True)
def api_blueprints():
    from jishi.api import blueprints as api_bps

    return api_bps.all_blueprints()


@hookimpl
def console_menu_items(console, principal):
    # the media library is a seller page: in the console of the user's seller scope
    media = MenuItem(
        str(_l("Media library")), "media.library", console=console, sort=15, permission="products", group="products"
    )
    if console != "platform":
        return [media]
    return [
        media,
        MenuItem(str(_l("Dashboard")), "console.dashboard", sort=0),
        MenuItem(str(_l("Products")), "console.products", sort=10, permission="products", group="products"),
        MenuItem(str(_l("Categories")), "console.categories", sort=20, permission="products", group="products"),
        MenuItem(str(_l("Orders")), "console.orders", sort=30, permission="orders", group="orders"),
        MenuItem(str(_l("After-sales")), "console.refunds", sort=40, permission="aftersales", group="orders"),
        MenuItem(
            str(_l("Gateway refunds")), "console.payment_refunds", sort=41, permission="aftersales", group="finance"
        ),
        MenuItem(str(_l("Bill checks")), "console.payment_bills", sort=42, permission="data", group="finance"),
        MenuItem(str(_l("Reviews")), "console.reviews", sort=50, permission="comments", group="products"),
        MenuItem(str(_l("Users")), "console.users", sort=60, permission="platform_admin", group="settings"),
        MenuItem(str(_l("Staff roles")), "console.roles", sort=61, permission="platform_admin", group="settings"),
        MenuItem(str(_l("Reports")), "console.reports", sort=70, permission="data", group="finance"),
        MenuItem(str(_l("Settings")), "console.settings", sort=90, permission="settings", group="settings"),
        MenuItem(str(_l("Timed jobs")), "console.jobs", sort=92, permission="platform_admin", group="settings"),
        MenuItem(
            str(_l("Failed event handlers")),
            "console.signal_failures",
            sort=95,
            permission="platform_admin",
            group="settings",
            developer=True,
        ),
    ]


@hookimpl
def console_todos(console, principal):
    """The platform's orders to ship (待发货) and after-sales requests (售后), one query."""
    if console != "platform":
        return None
    from sqlalchemy import func, select

    from jishi.aftersales.models import Refund
    from jishi.db import db
    from jishi.orders import state
    from jishi.orders.models import Order
    from jishi.payments.models import BillDifference, PaymentRefund

    to_ship, requests, stuck, differences = db.session.execute(
        select(
            select(func.count(Order.id)).where(Order.status == state.PAID).scalar_subquery(),
            select(func.count(Refund.id)).where(Refund.status == "requested").scalar_subquery(),
            select(func.count(PaymentRefund.id))
            .where(PaymentRefund.status.in_(("failed", "abnormal")))
            .scalar_subquery(),
            select(func.count(BillDifference.id)).where(BillDifference.resolved_at.is_(None)).scalar_subquery(),
        )
    ).one()
    return [
        TodoItem(
            str(_l("To ship")), int(to_ship), "console.orders", {"status": state.PAID}, permission="orders", sort=10
        ),
        TodoItem(
            str(_l("After-sales requests")),
            int(requests),
            "console.refunds",
            {"status": "requested"},
            permission="aftersales",
            sort=40,
        ),
        TodoItem(
            str(_l("Refunds that failed")),
            int(stuck),
            "console.payment_refunds",
            {"status": "failed"},
            permission="aftersales",
            sort=41,
        ),
        TodoItem(str(_l("Bill differences")), int(differences), "console.payment_bills", permission="data", sort=42),
    ]


def _check_search(values: dict) -> dict:
    from jishi.catalog.service import hot_search_problem

    problem = hot_search_problem(values.get("search.hot_words"))
    return {"search.hot_words": problem} if problem else {}


@hookimpl
def settings_panels():
    return [
        SettingsPanel(
            "shop",
            str(_l("Shop")),
            (
                SettingField("shop.name", str(_l("Shop name")), "text", "集市"),
                SettingField(
                    "shop.logo",
                    str(_l("Logo")),
                    "image",
                    "",
                    help=str(_l("Shown before the shop name in the storefront's header; empty: the name only.")),
                ),
                SettingField(
                    "shop.icon",
                    str(_l("Browser and home-screen icon")),
                    "image",
                    "",
                    help=str(_l("A square image, at least 180 × 180 pixels; empty: Jishi's icon.")),
                ),
                SettingField("shop.notice", str(_l("Notice on the home page")), "textarea", ""),
            ),
            sort=0,
        ),
        SettingsPanel(
            "search",
            str(_l("Search")),
            (
                SettingField(
                    "search.hot_words",
                    str(_l("Hot searches")),
                    "textarea",
                    "",
                    help=str(
                        _l(
                            "One per line, at most 10, each at most 20 characters: shown on the search page"
                            " and to mini-programs (GET /api/v1/site)."
                        )
                    ),
                ),
            ),
            sort=3,
            validate=_check_search,
        ),
        SettingsPanel(
            "theme",
            str(_l("Theme")),
            (SettingField("theme.active", str(_l("Active theme")), "theme", None),),
            sort=5,
        ),
        SettingsPanel(
            "checkout",
            str(_l("Checkout and delivery")),
            (
                SettingField("delivery.flat_fee", str(_l("Delivery fee")), "money", 1000),
                SettingField("delivery.free_over", str(_l("Free delivery from (0 = never)")), "money", 9900),
                SettingField("payment.cod_enabled", str(_l("Allow cash on delivery")), "bool", True),
            ),
            sort=10,
        ),
        SettingsPanel(
            "reviews",
            str(_l("Reviews")),
            (
                SettingField("reviews.enabled", str(_l("Buyers may review products")), "bool", True),
                SettingField(
                    "reviews.moderation", str(_l("Reviews wait for approval before they show")), "bool", False
                ),
                SettingField("reviews.days", str(_l("Days after receipt a review may be written")), "int", 30),
            ),
            sort=20,
        ),
    ]


@hookimpl(tryfirst=True)
def permissions():
    from jishi.roles import kernel_permissions

    return kernel_permissions()


@hookimpl(trylast=True)
def seller_scope(user, via):
    """Platform staff act for the shop itself (seller_id None)."""
    from jishi import settings
    from jishi.hookspecs import SellerScope

    if not getattr(user, "is_platform", False):
        return None
    from jishi.roles import platform_permissions

    admin = getattr(user, "is_platform_admin", False)
    return SellerScope(
        seller_id=None,
        name=str(settings.get("shop.name", "集市")),
        role="platform_admin" if admin else "platform_staff",
        permissions=platform_permissions(user),
    )


@hookimpl(tryfirst=True)
def demo_orders(data):
    """The kernel's demo orders come first: one paid, one awaiting payment."""
    from jishi.demo import kernel_demo_orders

    return kernel_demo_orders(data)
