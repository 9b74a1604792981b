"""The pickup plugin object (entry point ``pickup``).

Hooks: ``delivery_options`` / ``validate_checkout`` (the "pickup" option and
the chosen point), ``order_transitioned`` (issue the code on ``pay``, void
it on ``close``/``cancel``, inside the transaction), ``template_slot``
(checkout point select, buyer's code and QR, console order detail),
``console_menu_items``, ``blueprints`` / ``api_blueprints``,
``config_defaults``, ``demo_data`` / ``demo_orders``.
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, hookimpl, slots
from jishi.i18n import gettext as _

from jishi_pickup import api as _api  # noqa: F401 - registers the API views
from jishi_pickup import (
    models,  # noqa: F401 - the plugin's tables
    service,
)
from jishi_pickup import views as _views  # noqa: F401 - registers the pages
from jishi_pickup.blueprints import api, web

requires = ()
# Pickup adds a way to receive goods; it does not ship, so the kernel's
# flat-rate delivery stays while no shipping plugin (express) is enabled.
replaces_default_delivery = False


@hookimpl
def config_defaults():
    return {"JISHI_PICKUP_VERIFY_RATE_LIMIT": "20 per minute"}


@hookimpl
def blueprints():
    return [web]


@hookimpl
def api_blueprints():
    return [api]


# --- Checkout -----------------------------------------------------------------


@hookimpl
def delivery_options(group, address, checkout):
    return service.delivery_options(group, address, checkout)


@hookimpl
def checkout_loaders(lines, user, options, placing):
    return service.checkout_loaders(lines, placing)


@hookimpl
def validate_checkout(checkout):
    return service.validate_checkout(checkout)


# --- Orders -------------------------------------------------------------------


@hookimpl
def order_status_label(order, status):
    """A paid pickup order waits at the counter: 待自提, not 待发货."""
    if order.delivery_method == service.CODE and status == "paid":
        return _("Awaiting pickup")
    return None


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    """Inside the transaction of the state change: the code commits (or
    rolls back) with the payment; closing an order voids its code; a pickup
    order is handed over at the counter, never shipped (refused, rolled back)."""
    if order.delivery_method != service.CODE:
        return
    if name == "ship":
        from jishi.i18n import gettext as _
        from jishi.orders.state import TransitionError

        raise TransitionError(
            order,
            name,
            _(
                "Order %(number)s is picked up at the store; verify its pickup code instead of shipping it.",
                number=order.number,
            ),
        )
    if name == "pay":
        service.issue_code(order)
    elif order.status == "closed":
        service.void_codes(order)


@hookimpl
def order_fulfilment(order):
    """A pickup order is handed over at the counter, never shipped."""
    from jishi.hookspecs import Fulfilment

    if order.delivery_method != service.CODE:
        return None
    return Fulfilment(
        "handover", _("Pickup at the store"), note=_("Verify the pickup code when the buyer collects it.")
    )


# --- Pages --------------------------------------------------------------------


@hookimpl
@slots("checkout_group", "order_detail_delivery", "console_order_detail")
def template_slot(slot, context):
    from jishi_pickup import views

    if slot == "checkout_group":
        return views.checkout_group_slot(context.get("group"), context.get("checkout"))
    if slot == "order_detail_delivery":
        return views.order_delivery_slot(context.get("order"))
    if slot == "console_order_detail":
        return views.console_order_slot(context.get("order"))
    return None


@hookimpl
def console_menu_items(console, principal):
    # seller pages: in the console of the user's seller scope
    return [
        MenuItem(
            _("Pickup verification"), "pickup.verify", console=console, sort=35, permission="orders", group="orders"
        ),  # 核销
        MenuItem(
            _("Pickup points"), "pickup.points", console=console, sort=86, permission="settings", group="settings"
        ),  # 自提点
    ]


# --- Demo ---------------------------------------------------------------------


@hookimpl
def demo_data(data):
    from jishi_pickup import demo

    return demo.demo_data(data)


@hookimpl
def demo_orders(data):
    from jishi_pickup import demo

    return demo.demo_orders(data)
