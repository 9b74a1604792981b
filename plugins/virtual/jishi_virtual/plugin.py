"""The virtual plugin object (entry point ``virtual``).

Hooks: ``validate_checkout`` (a virtual line mixed with goods to ship is
refused; card codes left), ``order_placing`` (each line of card codes takes
its codes inside the placing transaction), ``order_transitioned`` (an
unpaid order closed gives its codes back), ``app_ready`` (on ``order_paid``
the goods are handed over and the order completes without shipping),
``template_slot`` (the buyer's codes or link, the console's delivery),
``console_menu_items``, ``blueprints`` / ``api_blueprints``,
``demo_data`` / ``demo_orders``.

The delivery method of an all-virtual order is the kernel's ``virtual`` ("no
delivery needed", no address).
"""

from __future__ import annotations

from jishi import signals
from jishi.hookspecs import MenuItem, hookimpl, slots
from jishi.i18n import gettext as _

from jishi_virtual import api as _api  # noqa: F401 - registers the API views
from jishi_virtual import (
    models,  # noqa: F401 - the plugin's tables
    service,
)
from jishi_virtual import views as _views  # noqa: F401 - registers the pages
from jishi_virtual.blueprints import api, web

requires = ()


@hookimpl
def blueprints():
    return [web]


@hookimpl
def api_blueprints():
    return [api]


# --- Checkout -----------------------------------------------------------------


@hookimpl
def validate_checkout(checkout):
    return service.validate_checkout(checkout)


@hookimpl
def order_placing(checkout, orders):
    service.order_placing(checkout, orders)


# --- Orders -------------------------------------------------------------------


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    """Inside the transaction: an unpaid order closed gives its codes back."""
    from jishi.orders import state

    if from_status == state.PENDING and order.status == state.CLOSED and order.is_virtual:
        service.release(order)


def deliver_paid(order, **kwargs):
    """``order_paid`` receiver: hand the goods over and complete the order
    (its own transaction, after the payment committed)."""
    from jishi.db import commit, db, rollback
    from jishi.orders.models import Order

    if not order.is_virtual:
        return
    fresh = db.session.get(Order, order.id)
    if fresh is None:  # pragma: no cover - orders are never deleted
        return
    try:
        service.deliver(fresh)
        commit()
    except Exception:
        rollback()
        raise


@hookimpl
def app_ready(app):
    signals.connect(signals.order_paid, deliver_paid, plugin="virtual")


# --- Pages --------------------------------------------------------------------


@hookimpl
@slots("order_detail_delivery", "console_order_detail")
def template_slot(slot, context):
    from jishi_virtual import views

    if slot == "order_detail_delivery":
        return views.order_delivery_slot(context.get("order"))
    if slot == "console_order_detail":
        return views.console_order_slot(context.get("order"))
    return None


@hookimpl
def console_menu_items(console, principal):
    return [MenuItem(_("Virtual goods"), "virtual.products", console=console, sort=24, permission="products")]


# --- Demo ---------------------------------------------------------------------


@hookimpl
def demo_data(data):
    from jishi_virtual import demo

    return demo.demo_data(data)


@hookimpl
def demo_orders(data):
    from jishi_virtual import demo

    return demo.demo_orders(data)
