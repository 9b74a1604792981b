"""The favorites plugin object (entry point ``favorites``).

Hooks implemented (see ``docs/plugins/favorites.md``):

- ``product_page_loaders``  the buyer's row for the product, read with the
  product page's one statement (signed in only): the heart costs the page
  no statement
- ``template_slot``         ``product_detail_after_price``: the heart;
  ``account_links``: 我的收藏
- ``blueprints`` / ``api_blueprints`` / ``demo_data``
"""

from __future__ import annotations

from jishi.hookspecs import PageLoader, hookimpl, slots

from jishi_favorites import (
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def blueprints():
    from jishi_favorites import views

    return [views.bp]


@hookimpl
def api_blueprints():
    from jishi_favorites import api

    return [api.blp]


@hookimpl
def product_page_loaders(product, user, slots):
    """The heart's row, for a signed-in buyer's product page only: the
    product detail API (``slots`` False, a hot path of issue 20) renders no
    heart (a mini-program asks ``/favorites/products/<id>``)."""
    if user is None or not slots:
        return None
    return [PageLoader("favorites.kept", service.kept_query(), {"user_id": user.id, "product_id": product.id})]


@hookimpl
@slots("product_detail_after_price", "account_links")
def template_slot(slot, context):
    from jishi_favorites import views

    return views.render_slot(slot, context)


@hookimpl
def demo_data(data):
    from jishi_favorites import demo

    return demo.demo_data(data)
