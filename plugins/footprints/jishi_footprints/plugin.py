"""The footprints plugin object (entry point ``footprints``).

Hooks implemented (see ``docs/plugins/footprints.md``):

- ``products_viewed``  the kernel's batches of signed-in buyers' product
  views, written as footprints (no request pays for them)
- ``template_slot``    ``account_links``: 我的足迹
- ``blueprints`` / ``api_blueprints`` / ``demo_data``
"""

from __future__ import annotations

from jishi.hookspecs import hookimpl, slots

from jishi_footprints import (
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def blueprints():
    from jishi_footprints import views

    return [views.bp]


@hookimpl
def api_blueprints():
    from jishi_footprints import api

    return [api.blp]


@hookimpl
def products_viewed(views):
    service.record(views)


@hookimpl
@slots("account_links")
def template_slot(slot, context):
    from jishi_footprints import views

    return views.render_slot(slot, context)


@hookimpl
def demo_data(data):
    from jishi_footprints import demo

    return demo.demo_data(data)
