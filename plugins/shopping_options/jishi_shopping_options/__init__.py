"""jishi-shopping-options: shopping options (全局购物选项, seed 001 §2.3.1, issue 18).

Enabled with ``JISHI_PLUGINS=shopping_options`` (entry point
``jishi_shopping_options.plugin``), with or without the page designer.
Platform defaults and per-product overrides: minimum and maximum quantity
per order, a maximum per buyer, buy-now only, member levels only. See
``docs/plugins/shopping_options.md``.
"""
