"""The messages plugin object (entry point ``messages``): buyer ↔ shop
conversations (在线客服 / 留言).

Hooks: ``blueprints`` (the buyer pages, the seller pages, the platform's
dispute pages, :mod:`.views`), ``api_blueprints`` (:mod:`.api`),
``template_slot`` (联系商家 on the product page and the buyer's order page,
the account page's link), ``storefront_links``, ``permissions`` (the
``messages`` permission: a customer-service role), ``console_menu_items``
(with the unread count in the label), ``console_todos`` (unread messages on
the console's home), ``config_defaults`` (the posting rate limit),
``demo_data``. The signal :data:`jishi_messages.signals.message_posted` is
sent after each message commits.
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, Permission, StorefrontLink, TodoItem, hookimpl, slots

from jishi_messages import models  # noqa: F401 - the plugin's tables
from jishi_messages.limits import DEFAULT

requires = ()


@hookimpl
def config_defaults():
    return {"JISHI_MESSAGES_RATE_LIMIT": DEFAULT, "JISHI_MESSAGES_POLL_SECONDS": 10}


@hookimpl
def blueprints():
    from jishi_messages.views import admin, bp, seller

    return [bp, seller, admin]


@hookimpl
def api_blueprints():
    from jishi_messages.api import blp

    return [blp]


@hookimpl
@slots("product_detail_after_price", "order_detail_bottom", "account_links")
def template_slot(slot, context):
    from jishi_messages.views import render_slot

    return render_slot(slot, context)


@hookimpl
def storefront_links():
    from jishi.i18n import lazy_gettext as _l

    return [StorefrontLink(_l("Messages"), "messages.inbox", icon="💬", sort=80, places=("header",))]


@hookimpl
def permissions():
    from jishi.i18n import lazy_gettext as _l

    return [Permission("messages", str(_l("Customer messages")), consoles=("platform", "seller"), sort=35)]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import lazy_gettext as _l

    from jishi_messages.views import SELLER_PERMISSIONS

    items = [
        MenuItem(
            _l("Customer messages"),
            "messages_seller.seller_index",
            console=console,
            icon="💬",
            sort=45,
            permission=SELLER_PERMISSIONS,
            group="orders",
        )
    ]
    if console == "platform":
        from jishi import signals

        if signals.plugin_enabled("multistore"):
            items.append(
                MenuItem(
                    _l("Buyer-merchant conversations"),
                    "messages_admin.admin_index",
                    console="platform",
                    sort=46,
                    permission="aftersales",
                    group="merchants",
                )
            )
    return items


@hookimpl
def console_todos(console, principal):
    """Unread buyer messages of the shop the signed-in staff member acts for
    (one statement)."""
    from jishi.i18n import lazy_gettext as _l
    from jishi.sellers import current_scope

    from jishi_messages import service
    from jishi_messages.views import SELLER_PERMISSIONS

    scope = current_scope("console")
    if scope is None or scope.console != console:
        return None
    return [
        TodoItem(
            str(_l("Unread customer messages")),
            service.seller_unread(scope.seller_id),
            "messages_seller.seller_index",
            {"unread": "1"},
            console=console,
            permission=SELLER_PERMISSIONS,
            sort=15,
        )
    ]


@hookimpl
def demo_data(data):
    from jishi_messages.demo import demo_data as run

    return run(data)
