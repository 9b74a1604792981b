"""jishi-delivery-express: express delivery (快递发货, SPEC DE).

Enabled with ``JISHI_PLUGINS=delivery_express``; works with and without
multistore. See ``docs/plugins/delivery_express.md``.
"""
