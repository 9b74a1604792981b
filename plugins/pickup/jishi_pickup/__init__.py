"""jishi-pickup: pickup at the store (到店自提, SPEC PU).

Enabled with ``JISHI_PLUGINS=pickup`` (entry point ``jishi_pickup.plugin``),
with or without multistore. See ``docs/plugins/pickup.md``.
"""
