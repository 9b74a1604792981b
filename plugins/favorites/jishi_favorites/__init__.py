"""jishi-favorites: a buyer's favorite products (商品收藏).

Enabled with ``JISHI_PLUGINS=favorites`` (entry point
``jishi_favorites.plugin``). A signed-in buyer keeps a product (the heart
on its page, ``PUT /api/v1/favorites/products/<id>``), finds it again under
我的收藏 (``/favorites``, ``GET /api/v1/favorites``) with its price now and
whether it can still be bought, and lets it go. See
``docs/plugins/favorites.md``.
"""
