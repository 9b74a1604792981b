"""The delivery_local plugin module (entry point ``delivery_local``): the
app-extension hooks; the checkout and order hooks are in :mod:`.checkout`.

- :mod:`.geo`, :mod:`.rules`  pure distance, fee and slot rules
- :mod:`.service`             settings, slot counters (claim/release), dispatch
- :mod:`.checkout`            hooks: the ``local`` delivery option, slot checks, the claim
- :mod:`.views`, :mod:`.api`  seller console pages, seller and public API
- :mod:`.demo`                demo settings and a demo local order
"""

from __future__ import annotations

from flask import render_template
from jishi.hookspecs import MenuItem, hookimpl, slots
from markupsafe import Markup

from jishi_delivery_local import checkout as co
from jishi_delivery_local import (
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()
modules = ("checkout",)  # delivery_options, validate_checkout, order_placing, order_transitioned, order_fulfilment
# Local delivery adds a way to receive goods; it does not ship anywhere, so
# the kernel's flat-rate delivery stays while no shipping plugin is enabled.
replaces_default_delivery = False


# --- App extension -------------------------------------------------------


@hookimpl
def blueprints():
    from jishi_delivery_local.views import bp

    return [bp]


@hookimpl
def api_blueprints():
    from jishi_delivery_local.api import api

    return [api]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    # seller pages: in the console of the user's seller scope
    return [
        MenuItem(
            _("Local delivery"),
            "delivery_local.settings",
            console=console,
            sort=62,
            permission="settings",
            group="settings",
        ),
        MenuItem(
            _("Local deliveries"),
            "delivery_local.orders",
            console=console,
            sort=63,
            permission="orders",
            group="orders",
        ),
    ]


def _status_text(order) -> str:
    from jishi.i18n import gettext as _

    return {
        "pending_payment": _("Awaiting payment"),
        "paid": _("Waiting for the courier"),
        "shipped": _("Out for delivery"),
        "received": _("Delivered"),
        "completed": _("Delivered"),
        "closed": _("Delivery cancelled"),
    }.get(order.status, order.status)


@hookimpl
@slots("checkout_group", "order_detail_delivery", "console_order_detail")
def template_slot(slot, context):
    if slot == "checkout_group":
        group, checkout = context.get("group"), context.get("checkout")
        if group is None or checkout is None:
            return None
        option = next((o for o in group.delivery_options if o.code == service.METHOD), None)
        if option is None:
            return None
        cfg = service.config_for(group.seller_id)
        slots = service.slots(group.seller_id, cfg) if option.available else []
        selected = co.chosen_slot(checkout, group)
        if not isinstance(selected, str) or not any(s.id == selected for s in slots):
            selected = next((s.id for s in slots if s.bookable and not s.full), None)
        return Markup(
            render_template(
                "delivery_local/_checkout_group.html",
                group=group,
                option=option,
                slots=slots,
                selected=selected,
                chosen=group.delivery is not None and group.delivery.code == service.METHOD,
            )
        )
    if slot in ("order_detail_delivery", "console_order_detail"):
        order = context.get("order")
        if order is None or order.delivery_method != service.METHOD:
            return None
        forms = False
        if slot == "console_order_detail":
            from jishi.sellers import current_scope, owns

            scope = current_scope("console")
            forms = owns(scope, order.seller_id) and scope.can("orders") and not scope.read_only
        return Markup(
            render_template(
                "delivery_local/_order_delivery.html",
                order=order,
                data=order.delivery_data or {},
                status_text=_status_text(order),
                forms=forms,
            )
        )
    return None


# --- Demo ------------------------------------------------------------------


@hookimpl
def demo_data(data):
    from jishi_delivery_local import demo

    return demo.setup(data)


@hookimpl
def demo_orders(data):
    from jishi_delivery_local import demo

    return demo.place(data)
