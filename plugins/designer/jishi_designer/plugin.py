"""The designer plugin object (entry point ``designer``).

Hooks implemented (see ``docs/plugins/designer.md``):

- ``page_block_types``  the designer's own block types (:mod:`jishi_designer.blocks`)
- ``storefront_page``   the published home page (``home``) and shop pages
  (``shop-<merchant id>``) as HTML; None while nothing is published
- ``periodic_jobs``     ``designer_publish_scheduled`` (30 s): scheduled
  versions go live exactly once; ``designer_flush_promo`` (60 s): promotion
  impressions and clicks from the buffer to the daily rows
- ``blueprints`` / ``api_blueprints`` / ``console_menu_items``
- ``demo_data``         the demo's designed home page
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, PeriodicJob, hookimpl

from jishi_designer import (
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def blueprints():
    from jishi_designer import views

    return [views.bp, views.seller]


@hookimpl
def api_blueprints():
    from jishi_designer import api

    return [api.blp]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    # a seller page: the platform's pages, or a merchant's shop page
    return [
        MenuItem(
            _("Page designer"),
            "designer_seller.index",
            console=console,
            icon="🎨",
            sort=70,
            permission="settings",
            group="settings",
        ),
        *(
            [
                MenuItem(
                    _("Promotion slots"),
                    "designer_seller.promo_index",
                    console=console,
                    icon="📣",
                    sort=71,
                    permission="settings",
                    group="settings",
                )
            ]
            if console == "platform"
            else []
        ),
    ]


@hookimpl
def page_block_types():
    from jishi_designer import blocks

    return blocks.block_types()


@hookimpl
def storefront_page(slug, user):
    from jishi_designer import views

    return views.render_page(slug)


@hookimpl
def periodic_jobs():
    from jishi_designer import promo

    return [
        PeriodicJob("designer_publish_scheduled", service.publish_scheduled, every_seconds=30),
        PeriodicJob("designer_flush_promo", promo.flush, every_seconds=60),
    ]


@hookimpl
def demo_data(data):
    from jishi_designer import demo

    return demo.demo_data(data)
