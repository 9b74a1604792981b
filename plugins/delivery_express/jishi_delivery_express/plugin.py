"""The delivery_express plugin object (entry point ``delivery_express``).

- :mod:`.fees`      the fee of a parcel (pure function)
- :mod:`.service`   templates, sellers' choices, the checkout option, shipping, tracking
- :mod:`.views`     platform console and seller console pages
- :mod:`.api`       platform, seller and buyer JSON API
- :mod:`.hookspecs` the ``tracking_provider`` hook it declares
- :mod:`.demo`      demo templates and a shipped order with tracking
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, PageLoader, hookimpl, slots

from jishi_delivery_express import hookspecs as _declared
from jishi_delivery_express import (
    models,  # the plugin's tables
    service,  # (here, not per call: the checkout calls it per group; issue 20)
)

requires = ()
hookspecs = _declared  # the module declaring the ``tracking_provider`` hook


@hookimpl
def blueprints():
    from jishi_delivery_express import views

    return [views.admin, views.seller]


@hookimpl
def api_blueprints():
    from jishi_delivery_express import api

    return [api.api]


@hookimpl(tryfirst=True)
def delivery_options(group, address, checkout):
    """SPEC DE: one ``express`` option per group with physical goods.

    ``tryfirst``: express comes first in the list, so it is the option
    preselected when the buyer has not chosen (pickup and local delivery
    need a choice of point or slot the buyer makes)."""
    option = service.option_for(
        group, address, _resolved(checkout).get(group.seller_id), checkout.__dict__.setdefault("_express_specs", {})
    )
    return [option] if option is not None else None


_LOADED = ("express.refs", "express.templates", "express.regions")


@hookimpl
def checkout_loaders(lines, user, options, placing):
    """The templates of the checkout's sellers and products (the sellers'
    choices with the products' links, the templates, their region rules),
    read with every plugin's checkout rows in the kernel's one statement."""
    keys, pids = service.checkout_params(lines)
    refs, templates, regions = service.declared_template_queries()
    return [
        PageLoader(_LOADED[0], refs, {"seller_keys": keys, "product_ids": pids}),
        PageLoader(_LOADED[1], templates, {"seller_keys": keys}),
        PageLoader(_LOADED[2], regions, {"seller_keys": keys}),
    ]


def _resolved(checkout) -> dict:
    """Every group's templates, resolved once per checkout at its first
    group's call: from the rows ``checkout_loaders`` read (no statement),
    else in two statements for any number of merchants
    (:func:`service.resolve_templates_many`), not five per group."""
    cache = checkout.__dict__.get("_express_templates")
    if cache is None:
        wanted: dict = {}
        for g in checkout.groups:
            wanted.setdefault(g.seller_id, []).extend(line.product_id for line in g.lines if not line.is_virtual)
        loaded = getattr(checkout, "loaded", None)
        keys, pids = service.checkout_params(checkout.lines)
        if (
            loaded is not None
            and all(k in loaded for k in _LOADED)
            and {models.seller_key(sid) for sid in wanted} <= set(keys)
            and {pid for ps in wanted.values() for pid in ps} <= set(pids)
        ):  # read for these sellers and products (a plugin's split_cart may regroup)
            rows, templates, regions = (loaded[k] for k in _LOADED)
            cache = service.resolve_from_rows(wanted, rows, templates, regions)
        else:
            cache = service.resolve_templates_many(wanted)
        checkout.__dict__["_express_templates"] = cache
    return cache


@hookimpl
def order_fulfilment(order):
    """An express order is a parcel: carrier and tracking number."""
    from jishi.hookspecs import Fulfilment
    from jishi.i18n import gettext as _

    if order.delivery_method != service.CODE:
        return None
    return Fulfilment("parcel", _("Express delivery"))


@hookimpl(trylast=True)
def tracking_provider(order):
    """The built-in manual provider: events the seller added by hand."""
    if order.delivery_method != service.CODE:
        return None
    return service.manual_events(order)


@hookimpl
@slots("order_detail_delivery", "console_order_detail")
def template_slot(slot, context):
    if slot not in ("order_detail_delivery", "console_order_detail"):
        return None
    order = context.get("order")
    if order is None or order.delivery_method != "express":
        return None
    from flask import render_template

    if slot == "order_detail_delivery":
        return render_template("express/_timeline.html", order=order, events=service.tracking_events(order))
    return render_template("express/_console_link.html", order=order)


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    # the seller pages: in the console of the user's seller scope
    return [
        MenuItem(
            _("Delivery templates"),
            "express_admin.templates",
            console="platform",
            sort=62,
            permission="platform_admin",
            group="settings",
        ),
        MenuItem(
            _("Express shipping"),
            "express_seller.orders",
            console=console,
            sort=31,
            permission="orders",
            group="orders",
        ),
        MenuItem(
            _("Delivery settings"),
            "express_seller.settings",
            console=console,
            sort=86,
            permission="settings",
            group="settings",
        ),
        MenuItem(
            _("Product delivery templates"),
            "express_seller.products",
            console=console,
            sort=87,
            permission="products",
            group="products",
        ),
    ]


@hookimpl
def demo_data(data):
    from jishi_delivery_express import demo

    return demo.demo_data(data)


@hookimpl
def demo_orders(data):
    from jishi_delivery_express import demo

    return demo.demo_orders(data)
