"""jishi-virtual: virtual goods delivered on payment (虚拟商品, 卡密自动发货).

Enabled with ``JISHI_PLUGINS=virtual`` (entry point ``jishi_virtual.plugin``),
with or without multistore. See ``docs/plugins/virtual.md``.
"""
