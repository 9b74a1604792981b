"""The groupbuy plugin object (entry point ``groupbuy``).

Hooks implemented (see ``docs/plugins/groupbuy.md``):

- ``price_rules``       the group price (priority 50), only when the checkout
  carries ``options["groupbuy"]``; the per-buyer limit as ``quantity_limit``
- ``validate_checkout`` activity running, one line, group open and not full
- ``order_placing``     open a group or take a seat (atomic), count the limit
- ``order_transitioned`` pay / cancel / close move members and groups;
  ship / hand_over / force_complete are refused until the group succeeds
- ``periodic_jobs``     ``groupbuy_expire_groups`` (fail, cancel, refund)
- ``template_slot``     the product page box, the order page's group link
- ``product_page_loaders`` the box's activity, SKUs and open groups, read with the page
- ``order_notices``     "waiting for the group" on a member's order
- ``blueprints`` / ``api_blueprints`` / ``console_menu_items``
- ``page_block_types``  ``groupbuy.strip``: the page designer's group-buy strip
  (:mod:`jishi_groupbuy.blocks`)
- ``report_sections``  the group buys' campaign effect (:mod:`jishi_groupbuy.reports`)
- ``demo_data`` / ``demo_orders``
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, PeriodicJob, hookimpl, slots

from jishi_groupbuy import (
    models,
    service,
)

requires = ()


@hookimpl
def blueprints():
    from jishi_groupbuy import views

    return [views.bp]


@hookimpl
def api_blueprints():
    from jishi_groupbuy import api

    return [api.blp]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    # a seller page: in the console of the user's seller scope
    return [
        MenuItem(
            _("Group buys"), "groupbuy.activities", console=console, sort=60, permission="marketing", group="marketing"
        )
    ]


@hookimpl
def product_page_loaders(product):
    return service.page_loaders(product.id)


@hookimpl
@slots("product_detail_after_price", "order_detail_bottom")
def template_slot(slot, context):
    from jishi_groupbuy import views

    return views.slot(slot, context)


@hookimpl
def periodic_jobs():
    return [PeriodicJob("groupbuy_expire_groups", service.expire_groups, every_seconds=60)]


@hookimpl
def price_rules(lines, user, options):
    return service.price_rules(lines, user, options)


@hookimpl
def validate_checkout(checkout):
    return service.validate(checkout)


@hookimpl
def order_placing(checkout, payments, orders):
    service.place(checkout, orders)


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    service.on_order_transition(order, name, from_status)


@hookimpl
def order_notices(order, principal):
    from jishi.i18n import gettext as _

    member = service.member_of_order(order.id)
    if member is None:
        return None
    from jishi.db import db

    group = db.session.get(models.Group, member.group_id)
    if group.state in (service.PENDING, service.FORMING) and member.status in service.LIVE_MEMBER:
        return [
            _(
                "Group buy: %(paid)d of %(size)d members have paid; the order ships when the group is full.",
                paid=group.paid,
                size=group.size,
            )
        ]
    if group.state == service.FAILED:
        return [_("Group buy failed: the group did not fill in time; paid orders are refunded automatically.")]
    return None


@hookimpl
def page_block_types():
    from jishi_groupbuy import blocks

    return blocks.block_types()


@hookimpl
def report_sections(start, end, seller_id):
    """Issue 19: groups opened, succeeded and failed, success rate and GMV per group buy."""
    from jishi_groupbuy.reports import groupbuy_section

    return [groupbuy_section(start, end, seller_id)]


@hookimpl
def demo_data(data):
    from jishi_groupbuy import demo

    return demo.demo_data(data)


@hookimpl
def demo_orders(data):
    from jishi_groupbuy import demo

    return demo.demo_orders(data)
