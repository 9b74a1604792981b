"""jishi-delivery-local: local delivery (同城配送, SPEC LD).

Per seller (the shop itself, or a multistore merchant): a service radius
around the shop, a fee by distance in tiers, a minimum order amount, an
optional free-delivery threshold, and scheduled delivery slots (预约定时达)
whose capacity is claimed atomically when the order is placed.
Enabled with ``JISHI_PLUGINS=delivery_local``; see ``docs/plugins/delivery_local.md``.
"""
