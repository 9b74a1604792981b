"""The coupons plugin object (entry point ``coupons``): every hook it
implements, dispatched to :mod:`.checkout` (discounts, validation, marking
used, giving back), :mod:`.views` / :mod:`.api` (pages and API) and
:mod:`.demo`; ``page_block_types``: the page designer's coupon block
(:mod:`.blocks`)."""

from __future__ import annotations

from jishi.hookspecs import MenuItem, PeriodicJob, StorefrontLink, hookimpl, slots

from jishi_coupons import checkout as co
from jishi_coupons import models  # noqa: F401 - the plugin's tables

requires = ()


@hookimpl
def blueprints():
    from jishi_coupons.views import bp, seller

    return [bp, seller]


@hookimpl
def api_blueprints():
    from jishi_coupons.api import blp

    return [blp]


@hookimpl
def periodic_jobs():
    """``coupons_windows`` (60 s): when activities may run (issue 20)."""
    from jishi_coupons.service import publish_windows_job

    return [PeriodicJob("coupons_windows", publish_windows_job, every_seconds=60)]


@hookimpl
def page_block_types():
    from jishi_coupons import blocks

    return blocks.block_types()


@hookimpl
def product_page_loaders(product, user):
    from jishi_coupons.service import page_loaders

    return page_loaders(product, user)


@hookimpl
@slots("product_detail_after_price", "multistore_shop_top", "checkout_group", "checkout_bottom", "account_links")
def template_slot(slot, context):
    from jishi_coupons.views import render_slot

    return render_slot(slot, context)


@hookimpl
def storefront_links():
    from jishi.i18n import lazy_gettext as _l

    return [StorefrontLink(_l("Coupon centre"), "coupons.centre", icon="🎫", sort=30)]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import lazy_gettext as _l

    # a seller page: in the console of the user's seller scope
    return [
        MenuItem(
            _l("Coupons"), "coupons_seller.index", console=console, sort=60, permission="marketing", group="marketing"
        )
    ]


@hookimpl
def checkout_loaders(lines, user, options, placing):
    return co.checkout_loaders(lines, user)


@hookimpl
def order_discounts(checkout):
    return co.order_discounts(checkout)


@hookimpl
def checkout_extras(checkout):
    """The preview's ``plugins.coupons``: coupons per merchant order and
    platform-wide, what each would take off, and which are chosen."""
    from jishi_coupons.api import dump_options, options_dict

    return {"coupons": dump_options(options_dict(checkout))}


@hookimpl
def validate_checkout(checkout):
    return co.validate_checkout(checkout)


@hookimpl
def order_placing(checkout, payments, orders):
    co.order_placing(checkout, payments, orders)


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    co.order_transitioned(order, name, from_status, actor_kind)


@hookimpl
def settle_refund(refund):
    co.settle_refund(refund)


@hookimpl
def demo_data(data):
    from jishi_coupons.demo import demo_data as run

    return run(data)


@hookimpl
def app_ready(app):
    from jishi_coupons.service import describe, scope_text

    app.jinja_env.globals["coupon_describe"] = describe
    app.jinja_env.globals["coupon_scope"] = scope_text


@hookimpl(trylast=True)
def demo_orders(data):
    from jishi_coupons.demo import demo_orders as run

    return run(data)


@hookimpl
def report_sections(start, end, seller_id):
    """Issue 19: claimed, used, use rate, GMV driven, discount cost and ROI per
    coupon; orders, GMV and discount cost per 满减 activity."""
    from jishi_coupons.reports import activity_section, coupon_section

    return [coupon_section(start, end, seller_id), activity_section(start, end, seller_id)]
