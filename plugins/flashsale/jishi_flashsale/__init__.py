"""jishi-flashsale: flash sales (秒杀, SPEC FS).

Enabled with ``JISHI_PLUGINS=flashsale`` (entry point ``jishi_flashsale.plugin``).
An activity gives chosen SKUs of one product a flash price and a flash stock
kept apart from the SKU's normal stock, for a time window, with a per-buyer
limit. See ``docs/plugins/flashsale.md``.
"""
